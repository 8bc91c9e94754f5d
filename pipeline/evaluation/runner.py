"""Run a model comparison: every system, in every mode, scored on the same judged queries.

Systems are the registered dense models, BM25, and per dense model two hybrids (plain RRF
and RRF with weights chosen on held-apart queries). Modes:

- ``beir``: whole documents embedded (the model truncates), exact cosine search; the
  standard protocol, comparable with published tables.
- ``files``: the corpus as real PDF/Word/HTML files through the whole pipeline (connectors,
  cleaning, chunking, embedding, Chroma); a document scores as its best chunk.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.collection import Collection
from pipeline.config import Settings
from pipeline.embedders.by_language import ByLanguageEmbedder
from pipeline.errors import ConfigError
from pipeline.evaluation.datasets import Dataset
from pipeline.evaluation.dense import EncodedCorpus, encode_dataset, exact_search, routed_search
from pipeline.evaluation.metrics import (
    DEFAULT_METRICS,
    Run,
    evaluate,
    long_doc_misses,
    long_documents,
    mean,
    trec_order,
    without_self_hits,
)
from pipeline.evaluation.render import format_counts, render_corpus
from pipeline.evaluation.tuned_fusion import tuned_rrf
from pipeline.ingestor import Ingestor
from pipeline.language import detect_language
from pipeline.query import Retriever
from pipeline.retrieval.fusion import fuse, rrf
from pipeline.retrieval.hybrid import covers, plan_query
from pipeline.retrieval.lexical import IndexedChunk, LexicalIndex

log = logging.getLogger(__name__)

MODES = ("beir", "files")
BM25 = "bm25"
DEPTH = 100  # documents ranked per query (recall@100 needs 100)
CHUNK_DEPTH = 400  # chunks fetched per query in files mode, folded into documents
QUERY_BATCH = 256


@dataclass
class SystemRun:
    """One system's ranking in one mode, scored query by query."""

    system: str
    kind: str  # dense, lexical or hybrid
    mode: str
    run: Run
    per_query: dict[str, dict[str, float]]
    long_misses: dict[str, tuple[int, int]]
    docs_per_s: float | None = None
    speed_cached: bool = False
    covers_language: bool = True
    details: dict[str, object] = field(default_factory=dict)

    def mean(self, metric: str) -> float:
        return mean(self.per_query, metric)


@dataclass
class EvaluationResult:
    dataset: Dataset
    modes: tuple[str, ...]
    metrics: tuple[str, ...]
    systems: list[SystemRun] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    info: dict[str, object] = field(default_factory=dict)
    # Document and query vectors of each dense model in beir mode, for the report's pictures.
    vectors: dict[str, EncodedCorpus] = field(default_factory=dict)


def resolve_models(settings: Settings, requested: str) -> list[str]:
    """``default`` -> the default model; ``all`` -> every registered model; else a comma list."""
    if requested == "default":
        return [settings.default_model]
    if requested == "all":
        return list(settings.models)
    names = [name.strip() for name in requested.split(",") if name.strip() and name.strip() != BM25]
    unknown = [name for name in names if name not in settings.models]
    if unknown:
        raise ConfigError(
            f"unknown model(s) {', '.join(unknown)}; registered: {', '.join(settings.models)} "
            "(or 'default', 'all'; BM25 and the hybrids are always included)"
        )
    return names


def _source_resolver(files: dict[str, str], folder: Path) -> Callable[[str], str | None]:
    """Chunk ``source`` path -> the evaluated document's id (None for a file not in the set)."""
    root = folder.resolve()

    @functools.cache
    def doc_of(source: str) -> str | None:
        try:
            return files.get(Path(source).resolve().relative_to(root).as_posix())
        except ValueError:
            return None

    return doc_of


def _fold_chunks(scored: Iterable[tuple[str, float]], doc_of: Callable[[str], str | None]) -> dict[str, float]:
    """Chunk hits -> documents, each scored by its best chunk, top DEPTH kept."""
    best: dict[str, float] = {}
    for source, score in scored:
        doc_id = doc_of(source)
        if doc_id is not None:
            best[doc_id] = max(score, best.get(doc_id, float("-inf")))
    return {doc: best[doc] for doc in trec_order(best)[:DEPTH]}


class Evaluator:
    """Wires datasets, models and modes; ``run()`` returns every system's scored ranking."""

    def __init__(
        self,
        *,
        settings: Settings,
        dataset: Dataset,
        models: list[str],
        modes: tuple[str, ...] = MODES,
        cache_dir: Path,
        metrics: tuple[str, ...] = DEFAULT_METRICS,
        progress: bool = False,
    ) -> None:
        for mode in modes:
            if mode not in MODES:
                raise ConfigError(f"unknown mode '{mode}' (allowed: {', '.join(MODES)}, both)")
        self.settings = settings
        self.dataset = dataset
        self.models = models
        self.modes = modes
        self.cache_dir = Path(cache_dir) / f"{dataset.name}-{dataset.split}-{dataset.fingerprint}"
        self.metrics = metrics
        self.progress = progress
        self.long_docs = long_documents(dataset.doc_tokens)

    def run(self) -> EvaluationResult:
        result = EvaluationResult(self.dataset, self.modes, self.metrics)
        result.info["language"] = self.dataset.language
        result.info["long_doc_min_tokens"] = min((self.dataset.doc_tokens[d] for d in self.long_docs), default=0)
        empty = sum(1 for doc in self.dataset.corpus.values() if not doc.full_text)
        if empty:
            result.info["empty_documents"] = empty
        for name in self.models:
            languages = self.settings.model_languages(name)
            if not covers(languages, self.dataset.language):
                result.warnings.append(
                    f"Model '{name}' is registered for {', '.join(languages)} but this corpus is "
                    f"'{self.dataset.language}': its results, and plain fusions with it, say little "
                    "about what a suitable model would do."
                )
        for mode in self.modes:
            lexical, dense = self._run_mode(mode, result)
            result.systems.extend([*dense.values(), lexical])
            for name, system in dense.items():
                result.systems.extend(self._hybrids(name, system, lexical, mode))
        result.warnings.extend(self._fusion_warnings(result))
        return result

    def _score(self, system: str, kind: str, mode: str, run: Run, **extra: object) -> SystemRun:
        run = without_self_hits(run, self.dataset.queries_in_corpus)
        return SystemRun(
            system, kind, mode, run,
            per_query=evaluate(self.dataset.qrels, run, self.metrics),
            long_misses=long_doc_misses(self.dataset.qrels, run, self.long_docs),
            **extra,
        )

    def _run_mode(self, mode: str, result: EvaluationResult) -> tuple[SystemRun, dict[str, SystemRun]]:
        if mode == "beir":
            return self._bm25_beir(), {name: self._dense_beir(name, result) for name in self.models}
        files, folder = self._files_folder(result)
        doc_of = _source_resolver(files, folder)
        paths = [folder / relative for relative in files]
        dense = {name: self._dense_files(name, paths, doc_of) for name in self.models}
        return self._bm25_files(doc_of, len(files)), dense

    # --- beir mode -------------------------------------------------------------------------

    def _dense_beir(self, name: str, result: EvaluationResult) -> SystemRun:
        binding = Collection(settings=self.settings, model=name)
        spec, embedder, stage = binding.spec, binding.embedder, binding.embed_stage
        log.info("beir mode: embedding %d documents with %s", len(self.dataset.corpus), name)
        encoded = encode_dataset(self.dataset, stage, self.cache_dir / "vectors")
        result.vectors[name] = encoded
        if isinstance(embedder, ByLanguageEmbedder):
            run = routed_search(embedder, encoded, self.dataset, self.settings.retry, DEPTH)
        else:
            run = exact_search(encoded, DEPTH, normalize=not spec.normalize)
        return self._score(
            name, "dense", "beir", run, docs_per_s=encoded.docs_per_s, speed_cached=encoded.cached,
            covers_language=covers(self.settings.model_languages(name), self.dataset.language),
        )

    def _bm25_beir(self) -> SystemRun:
        """BM25 over whole documents, with the product's tokenizer and lexical index (in memory)."""
        tokenizer = self.settings.retrieval.tokenizer()
        docs = [(doc_id, doc.full_text) for doc_id, doc in self.dataset.corpus.items() if doc.full_text]
        started = time.perf_counter()
        index = LexicalIndex(None, tokenizer_fingerprint=tokenizer.fingerprint)
        index.rebuild(IndexedChunk(doc_id, doc_id, tokenizer.term_counts(text)) for doc_id, text in docs)
        seconds = time.perf_counter() - started
        run = {qid: dict(index.search(tokenizer.tokenize(text), DEPTH)) for qid, text in self.dataset.queries.items()}
        index.close()
        return self._score(
            BM25, "lexical", "beir", run, docs_per_s=len(docs) / seconds if seconds else None,
            details={"chinese_tokens": tokenizer.chinese},
        )

    # --- files mode ------------------------------------------------------------------------

    def _files_folder(self, result: EvaluationResult) -> tuple[dict[str, str], Path]:
        """{path relative to the folder: doc id} and the folder the files are in."""
        if self.dataset.kind == "files":
            return {doc_id: doc_id for doc_id in self.dataset.corpus}, self.dataset.folder
        folder = self.cache_dir / "files"
        files = render_corpus(self.dataset, folder)
        result.info["files_formats"] = format_counts(files)
        return files, folder

    def _files_settings(self) -> Settings:
        store = self.settings.store.model_copy(update={"path": self.cache_dir / "store"})
        return self.settings.model_copy(update={"store": store})

    def _dense_files(self, name: str, paths: list[Path], doc_of: Callable[[str], str | None]) -> SystemRun:
        settings = self._files_settings()
        collection = f"eval-{name}"
        ingestor = Ingestor(settings=settings, model=name, collection=collection)
        ingestor.warm_up()
        # The speed measured when the files were ingested, kept for re-runs that ingest nothing.
        marker = self.cache_dir / "store" / f"{collection}-{ingestor.settings_fingerprint}.json"
        if marker.is_file():
            ingested = json.loads(marker.read_text())
            cached = True
        else:
            log.info("files mode: ingesting %d files with %s", len(paths), name)
            report = ingestor.run(paths, progress=self.progress)
            ingested = {
                "files_ingested": report.files_ingested, "files_failed": report.files_failed,
                "errors_by_category": report.error_counts(), "chunks": report.chunks_added,
                "truncated_chunks": report.truncated_chunks, "seconds": report.seconds,
            }
            marker.write_text(json.dumps(ingested))
            cached = False
        retriever = Retriever(settings=settings, model=name, collection=collection, mode="dense")
        run = self._search_files(retriever, doc_of)
        return self._score(
            name, "dense", "files", run,
            docs_per_s=ingested["files_ingested"] / ingested["seconds"] if ingested["seconds"] else None,
            speed_cached=cached, covers_language=covers(self.settings.model_languages(name), self.dataset.language),
            details={key: ingested[key] for key in ("files_ingested", "files_failed", "chunks", "truncated_chunks")},
        )

    def _bm25_files(self, doc_of: Callable[[str], str | None], file_count: int) -> SystemRun:
        """BM25 through the query API over the lexical index that ingest kept for the first
        model's collection, folded into documents like dense hits."""
        retriever = Retriever(
            settings=self._files_settings(), model=self.models[0], collection=f"eval-{self.models[0]}", mode="lexical"
        )
        started = time.perf_counter()
        run = self._search_files(retriever, doc_of)
        seconds = time.perf_counter() - started
        return self._score(
            BM25, "lexical", "files", run, docs_per_s=None,
            details={"chunks_from": self.models[0], "chunks": retriever.store.count(), "query_seconds": round(seconds, 2)},
        )

    def _search_files(self, retriever: Retriever, doc_of: Callable[[str], str | None]) -> Run:
        qids = list(self.dataset.queries)
        k = max(1, min(CHUNK_DEPTH, retriever.store.count()))
        run: Run = {}
        # Folded a batch at a time: thousands of queries * k chunk hits would hold gigabytes.
        for start in range(0, len(qids), QUERY_BATCH):
            batch = qids[start : start + QUERY_BATCH]
            hits = retriever.search_many([self.dataset.queries[q] for q in batch], k=k, with_text=False)
            run.update({qid: _fold_chunks(((h.source, h.score) for h in found), doc_of) for qid, found in zip(batch, hits)})
        return run

    # --- hybrids ---------------------------------------------------------------------------

    def _hybrids(self, name: str, dense: SystemRun, lexical: SystemRun, mode: str) -> list[SystemRun]:
        plain = rrf([lexical.run, dense.run], [1.0, 1.0], DEPTH)
        tuned = tuned_rrf(lexical.run, dense.run, self.dataset.qrels)
        # What `query(mode="hybrid")` does: the registry's dense weight for each query's language.
        weights = {
            qid: plan_query(text, "hybrid", *self.settings.model_for_language(name, detect_language(text))).dense_weight
            for qid, text in self.dataset.queries.items()
        }
        product = {
            qid: fuse([lexical.run.get(qid, {}), dense.run.get(qid, {})], [1 - weight, weight], DEPTH,
                      self.settings.retrieval.rrf_k)
            for qid, weight in weights.items()
        }
        return [
            self._score(
                f"{BM25}+{name} hybrid", "hybrid", mode, product, covers_language=dense.covers_language,
                details={"dense_weights": sorted(set(weights.values()))},
            ),
            self._score(
                f"{BM25}+{name} rrf", "hybrid", mode, plain, covers_language=dense.covers_language,
                details={"dense_weight": 0.5},
            ),
            self._score(
                f"{BM25}+{name} rrf-tuned", "hybrid", mode, tuned.run, covers_language=dense.covers_language,
                details={"dense_weight_per_fold": list(tuned.dense_weights)},
            ),
        ]

    def _fusion_warnings(self, result: EvaluationResult) -> list[str]:
        warnings = []
        by_key = {(s.mode, s.system): s for s in result.systems}
        for system in result.systems:
            if system.kind != "hybrid":
                continue
            dense_name = system.system.split("+", 1)[1].rsplit(" ", 1)[0]
            parts = [by_key[(system.mode, BM25)], by_key[(system.mode, dense_name)]]
            best = max(parts, key=lambda s: s.mean("map@10"))
            if system.mean("map@10") < best.mean("map@10") - 1e-9:
                warnings.append(
                    f"{system.mode}: '{system.system}' (MAP@10 {system.mean('map@10'):.4f}) is below "
                    f"'{best.system}' alone ({best.mean('map@10'):.4f})."
                )
        return warnings

