"""Dense retrieval the standard (BEIR/MTEB) way: whole documents, exact cosine search.

Vectors are cached per (dataset, model fingerprint), so re-running a report is fast; the
cache keeps the speed measured when the vectors were made.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.config import RetrySettings
from pipeline.evaluation.datasets import Dataset
from pipeline.evaluation.metrics import Run
from pipeline.retrieval.fusion import fuse
from pipeline.steps.embed import EmbedStage

log = logging.getLogger(__name__)


@dataclass
class EncodedCorpus:
    doc_ids: list[str]
    doc_vectors: np.ndarray
    query_ids: list[str]
    query_vectors: np.ndarray
    seconds: float  # encoding the documents, when it was measured
    cached: bool = False

    @property
    def docs_per_s(self) -> float:
        return len(self.doc_ids) / self.seconds if self.seconds else float("nan")


def encode_dataset(dataset: Dataset, stage: EmbedStage, cache_dir: Path | None) -> EncodedCorpus:
    """Embed every non-empty document (title + text; the model truncates) and every query.

    ``cache_dir`` is the dataset's own cache folder; the file in it is named by the model's
    fingerprint, so a changed model or prefix never reuses old vectors.
    """
    cache = cache_dir / f"beir-{_vectors_key(stage.embedder)}.npz" if cache_dir else None
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as saved:
            log.info("using cached vectors %s", cache)
            return EncodedCorpus(
                saved["doc_ids"].tolist(), saved["doc_vectors"], saved["query_ids"].tolist(),
                saved["query_vectors"], float(saved["seconds"]), cached=True,
            )
    # An empty document has nothing to embed and is left out of the index (the batch
    # stage refuses empty input); it can never be retrieved.
    doc_ids = [doc_id for doc_id, doc in dataset.corpus.items() if doc.full_text]
    stage.warm_up()  # loading the model is not part of the measured speed
    started = time.perf_counter()
    doc_vectors = stage.run([dataset.corpus[doc_id].full_text for doc_id in doc_ids])
    seconds = time.perf_counter() - started
    query_ids = list(dataset.queries)
    query_vectors = stage.run([dataset.queries[qid] for qid in query_ids], is_query=True)
    encoded = EncodedCorpus(doc_ids, doc_vectors, query_ids, query_vectors, seconds)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(".tmp.npz")
        np.savez(
            partial, doc_ids=np.array(doc_ids), doc_vectors=doc_vectors, query_ids=np.array(query_ids),
            query_vectors=query_vectors, seconds=seconds,
        )
        partial.replace(cache)  # a killed run never leaves a half-written cache behind
    return encoded


def _vectors_key(embedder: object) -> str:
    """The model's fingerprint, and its precision when not fp32. A fingerprint leaves precision
    out (a store's vectors stay valid on a machine that picks another one), but measured
    vectors and speeds differ by it, so a bf16 run must not reuse an fp32 run's cache."""
    fingerprint = embedder.fingerprint  # type: ignore[attr-defined]
    planned = getattr(embedder, "planned_precision", None)
    precision = planned() if callable(planned) else None
    return fingerprint if precision in (None, "fp32") else f"{fingerprint}-{precision}"


def exact_search(
    encoded: EncodedCorpus, depth: int = 100, normalize: bool = True,
    groups: tuple[list[str], list[str]] | None = None,
) -> Run:
    """Top ``depth`` documents per query by cosine similarity over the whole corpus.

    ``groups`` (each document's and each query's group) keeps a query to its group's documents:
    a by-language model's members embed into different spaces.
    """
    docs, queries = encoded.doc_vectors.astype(np.float32), encoded.query_vectors.astype(np.float32)
    if normalize:
        docs = docs / np.maximum(np.linalg.norm(docs, axis=1, keepdims=True), 1e-12)
        queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    depth = min(depth, len(encoded.doc_ids))
    run: Run = {}
    doc_groups = query_groups = None
    if groups is not None:
        doc_groups, query_groups = np.asarray(groups[0]), np.asarray(groups[1])
    for start in range(0, len(queries), 256):
        scores = queries[start : start + 256] @ docs.T
        if query_groups is not None:
            scores[query_groups[start : start + 256, None] != doc_groups[None, :]] = -np.inf
        best = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
        for row, qid in enumerate(encoded.query_ids[start : start + 256]):
            run[qid] = {encoded.doc_ids[i]: float(scores[row, i]) for i in best[row] if np.isfinite(scores[row, i])}
    return run


def routed_search(embedder, encoded: EncodedCorpus, dataset: Dataset, retry: RetrySettings, depth: int = 100) -> Run:
    """A by-language model's runs, as the query API searches: every member that covers a query's
    language compares its own vector of the query with the documents it embedded; the members'
    rankings (over disjoint documents) are fused with equal weights."""
    doc_groups = [embedder.member_of(dataset.corpus[doc].full_text) for doc in encoded.doc_ids]
    per_query: dict[str, list[dict[str, float]]] = {}
    for member in sorted(embedder.members):
        qids = [qid for qid in encoded.query_ids if member in embedder.members_for_query(dataset.queries[qid])]
        if not qids or member not in doc_groups:
            continue
        stage = EmbedStage(embedder=embedder.members[member], retry=retry)
        vectors = stage.run([dataset.queries[qid] for qid in qids], is_query=True)
        own = EncodedCorpus(encoded.doc_ids, encoded.doc_vectors, qids, vectors, encoded.seconds)
        for qid, ranking in exact_search(own, depth, groups=(doc_groups, [member] * len(qids))).items():
            per_query.setdefault(qid, []).append(ranking)
    return {
        qid: lists[0] if len(lists) == 1 else fuse(lists, [1.0] * len(lists), depth)
        for qid, lists in per_query.items()
    }
