"""The query API: text in, the best stored chunks out, with where they came from.

Three modes: ``hybrid`` (the default) fuses the dense ranking (the model's vectors in
Chroma) with BM25 over the same chunks by reciprocal rank fusion, weighted by the query's
language (see :mod:`pipeline.retrieval.hybrid`); ``dense`` and ``lexical`` use one side.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.collection import Collection
from pipeline.config import SEARCH_MODES, Settings, load_settings
from pipeline.embedders.by_language import ByLanguageEmbedder
from pipeline.errors import ConfigError
from pipeline.language import detect_language
from pipeline.retrieval.filters import matches
from pipeline.retrieval.fusion import fuse, trec_order
from pipeline.retrieval.hybrid import FusionPlan, plan_query
from pipeline.retrieval.lexical import LexicalIndex
from pipeline.steps.embed import EmbedStage
from pipeline.stores import VectorStore

log = logging.getLogger(__name__)

# A query needs at least one letter or digit, in any script.
_WORD = re.compile(r"[^\W_]")
# Lexical hits are filtered by ``where`` after ranking; fetch this many times more to keep k.
_FILTERED_DEPTH_FACTOR = 10


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk, best first.

    ``score`` is the ranking score of the mode that ran: cosine similarity (dense), BM25
    (lexical) or the reciprocal-rank-fusion score (hybrid). ``dense_score`` and
    ``lexical_score`` are the sides' own scores where the chunk was found by that side.
    ``note`` says when the query was answered differently from what was asked, and why.
    """

    id: str
    score: float
    text: str
    source: str
    page: int | None
    heading_path: str
    metadata: dict[str, Any] = field(default_factory=dict)
    mode: str = "dense"
    dense_score: float | None = None
    lexical_score: float | None = None
    language: str = ""
    dense_weight: float = 1.0
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Retriever:
    """Holds a loaded model, an open collection and its lexical index, so repeated queries are fast."""

    def __init__(
        self, *, settings: Settings, model: str | None = None, collection: str | None = None, mode: str | None = None
    ) -> None:
        self.binding = Collection(settings=settings, model=model, collection=collection)
        self.settings = settings
        self.model_name, self.spec = self.binding.model_name, self.binding.spec
        self.embedder = self.binding.embedder
        self.stage = self.binding.embed_stage
        self.collection = self.binding.name
        self.mode = _check_mode(mode or settings.retrieval.mode)
        self.tokenizer = self.binding.tokenizer
        self._store: VectorStore | None = None
        self._lexical: LexicalIndex | None = None

    @property
    def store(self) -> VectorStore:
        """The collection, opened without the model: its dimension and fingerprint come from the
        model's files, so a query answered by BM25 alone never loads the weights."""
        if self._store is None:
            store = self.binding.target.open()
            store.warm_up(create=False)
            self._store = store
        return self._store

    @property
    def lexical(self) -> LexicalIndex | None:
        """The collection's BM25 index; None when ``ingest`` has not built it (yet)."""
        if self._lexical is None:
            self._lexical = self.binding.lexical_index()
        return self._lexical

    def search(self, text: str, k: int = 10, where: dict[str, Any] | None = None, *, mode: str | None = None) -> list[Hit]:
        return self.search_many([text], k=k, where=where, mode=mode)[0]

    def search_many(
        self,
        texts: list[str],
        k: int = 10,
        where: dict[str, Any] | None = None,
        *,
        mode: str | None = None,
        with_text: bool = True,
    ) -> list[list[Hit]]:
        """:meth:`search` for many queries; their vectors are computed together (much faster)."""
        if k < 1:
            raise ConfigError(f"k must be at least 1, got {k}")
        for text in texts:
            if not _WORD.search(text):
                raise ConfigError(f"the query {text!r} has no words: it is empty or only punctuation")
        if not texts:
            return []
        plans = [self._plan(text, _check_mode(mode or self.mode)) for text in texts]
        store = self.store
        if any(plan.uses_lexical for plan in plans) and self.lexical is None:
            plans = [_without_lexical(plan, self.collection) for plan in plans]
        depth = max(k, self.settings.retrieval.candidates)
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        cosines: dict[int, dict[str, float]] = {}  # per query: a by-language model's similarities, fused
        dense = self._dense(texts, plans, depth, where, cosines)
        lexical = self._lexical_rankings(texts, plans, depth, where)
        results = []
        for plan, dense_ranking, lexical_ranking in zip(plans, dense, lexical):
            if plan.mode == "hybrid":
                ranking = fuse(
                    [lexical_ranking, dense_ranking], [1 - plan.dense_weight, plan.dense_weight],
                    depth=k, k=self.settings.retrieval.rrf_k,
                )
            else:
                ranking = dense_ranking if plan.mode == "dense" else lexical_ranking
            results.append((plan, dense_ranking, lexical_ranking, {doc: ranking[doc] for doc in trec_order(ranking)[:k]}))
        missing = list(dict.fromkeys(doc for *_, top in results for doc in top if doc not in found))
        if missing:
            found.update(store.fetch(missing, with_text=with_text))
        # A chunk the index still lists but the store no longer holds (a write cut short, about to
        # be redone by the next ingest) is left out rather than returned without text.
        return [
            [
                _hit(doc, score, found[doc], plan, cosines.get(i, dense_ranking).get(doc), lexical_ranking.get(doc))
                for doc, score in top.items() if doc in found
            ]
            for i, (plan, dense_ranking, lexical_ranking, top) in enumerate(results)
        ]

    def _dense(
        self, texts: list[str], plans: list[FusionPlan], depth: int, where: dict[str, Any] | None,
        cosines: dict[int, dict[str, float]],
    ) -> list[dict[str, float]]:
        """Each query's dense ranking of ``depth`` candidates: ids and cosines only (the texts and
        metadata of the few hits kept are fetched afterwards, in one call)."""
        rankings: list[dict[str, float]] = [{} for _ in texts]
        wanted = [i for i, plan in enumerate(plans) if plan.uses_dense]
        if not wanted:
            return rankings
        self.stage.warm_up()  # only now: a query that needs no vector loads no model
        if not isinstance(self.embedder, ByLanguageEmbedder):
            vectors = self.stage.run([texts[i] for i in wanted], is_query=True)
            for i, hits in zip(wanted, self._nearest(vectors, depth, where)):
                rankings[i] = {hit["id"]: hit["score"] for hit in hits}
            return rankings
        # A by-language model: every member that covers a query's language searches its own chunks
        # with its own vector of the query; the members' chunks are disjoint, their rankings fused.
        per_member: dict[int, list[dict[str, float]]] = {}
        for member in sorted(self.embedder.members):
            queries = [i for i in wanted if member in self.embedder.members_for_query(texts[i])]
            if not queries:
                continue
            stage = EmbedStage(embedder=self.embedder.members[member], retry=self.settings.retry)
            vectors = stage.run([texts[i] for i in queries], is_query=True)
            searched = self._nearest(vectors, depth, self._within(member, where))
            for i, hits in zip(queries, searched):
                per_member.setdefault(i, []).append({hit["id"]: hit["score"] for hit in hits})
                cosines.setdefault(i, {}).update((hit["id"], hit["score"]) for hit in hits)
        for i, lists in per_member.items():
            rankings[i] = lists[0] if len(lists) == 1 else fuse(lists, [1.0] * len(lists), depth, self.settings.retrieval.rrf_k)
        return rankings

    def _nearest(self, vectors: Any, depth: int, where: dict[str, Any] | None) -> list[list[dict[str, Any]]]:
        """The ``depth`` nearest chunks to each vector that pass ``where``: ids and cosines.

        Chroma applies a ``where`` by selecting every matching id from its metadata before the
        vector search, which takes a second a query at 400,000 chunks. So a few times ``depth`` are
        asked for unfiltered, their metadata fetched by id and the filter applied here; only a
        query whose candidates do not yield ``depth`` matches (a filter that keeps few chunks) is
        asked again with Chroma's own filter.
        """
        plain = {"with_text": False, "with_metadata": False}
        if not where:
            return self.store.search_many(vectors, depth, None, **plain)
        asked = depth * _FILTERED_DEPTH_FACTOR // 2
        wide = self.store.search_many(vectors, asked, None, **plain)
        candidates = list(dict.fromkeys(hit["id"] for hits in wide for hit in hits))
        metadata = self.store.fetch(candidates, with_text=False) if candidates else {}
        found = [
            [hit for hit in hits if hit["id"] in metadata and matches(where, metadata[hit["id"]][1])][:depth]
            for hits in wide
        ]
        # Fewer than asked came back: the whole collection was seen, and what passed is all there is.
        short = [row for row, hits in enumerate(found) if len(hits) < depth and len(wide[row]) >= asked]
        if short:
            again = self.store.search_many(vectors[short], depth, where, **plain)
            for row, hits in zip(short, again):
                found[row] = hits
        return found

    def _plan(self, text: str, mode: str) -> FusionPlan:
        """The query's plan, with the weights of the model that embeds its language."""
        name, spec = self.settings.model_for_language(self.model_name, detect_language(text))
        return plan_query(text, mode, name, spec)

    def _within(self, member: str, where: dict[str, Any] | None) -> dict[str, Any] | None:
        own = self.embedder.chunk_filter(member)  # type: ignore[attr-defined] - a ByLanguageEmbedder
        return {"$and": [where, own]} if where else own

    def _lexical_rankings(
        self, texts: list[str], plans: list[FusionPlan], depth: int, where: dict[str, Any] | None
    ) -> list[dict[str, float]]:
        rankings: list[dict[str, float]] = [{} for _ in texts]
        index = self.lexical
        if index is None:
            return rankings
        for i, plan in enumerate(plans):
            if plan.uses_lexical:
                hits = index.search(self.tokenizer.tokenize(texts[i]), depth * (_FILTERED_DEPTH_FACTOR if where else 1))
                rankings[i] = dict(hits)
        if where:
            rankings = [self._filtered(ranking, where, depth) for ranking in rankings]
        return rankings

    def _filtered(self, ranking: dict[str, float], where: dict[str, Any], depth: int) -> dict[str, float]:
        """The best ``depth`` of BM25's candidates that pass ``where``. BM25 knows nothing of
        metadata: the candidates' metadata is fetched by id, best first, a few times ``depth`` at a
        time until enough pass (Chroma would evaluate the filter over the whole collection)."""
        ranked = list(ranking)
        kept: dict[str, float] = {}
        for start in range(0, len(ranked), 2 * depth):
            part = ranked[start : start + 2 * depth]
            metadata = self.store.fetch(part, with_text=False)
            kept.update((doc, ranking[doc]) for doc in part if doc in metadata and matches(where, metadata[doc][1]))
            if len(kept) >= depth:
                break
        return dict(list(kept.items())[:depth])

    @property
    def model_loaded(self) -> bool:
        """Whether this retriever has loaded model weights (a lexical-only query never does)."""
        return self.binding.model_loaded

    def chunks(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every chunk of the collection as (id, text, metadata)."""
        return self.store.chunks()


def _check_mode(mode: str) -> str:
    if mode not in SEARCH_MODES:
        raise ConfigError(f"unknown search mode '{mode}' (allowed: {', '.join(SEARCH_MODES)})")
    return mode


def _without_lexical(plan: FusionPlan, collection: str) -> FusionPlan:
    note = f"collection '{collection}' has no lexical index yet; run `ingest` again to build it (dense only)"
    if plan.mode == "lexical":
        raise ConfigError(note.replace(" (dense only)", ""))
    return FusionPlan("dense", plan.language, 1.0, note)


def _hit(
    doc: str, score: float, stored: tuple[str, dict[str, Any]], plan: FusionPlan,
    dense_score: float | None, lexical_score: float | None,
) -> Hit:
    text, metadata = stored
    return Hit(
        id=doc, score=score, text=text,
        source=str(metadata.get("source", "")), page=metadata.get("page"),
        heading_path=str(metadata.get("heading_path", "")), metadata=metadata,
        mode=plan.mode, dense_score=dense_score, lexical_score=lexical_score,
        language=plan.language, dense_weight=plan.dense_weight, note=plan.note,
    )


_RETRIEVERS: dict[tuple[str, str | None, str | None], Retriever] = {}


def query(
    text: str,
    k: int = 10,
    where: dict[str, Any] | None = None,
    *,
    mode: str | None = None,
    config: Settings | str | os.PathLike[str] | None = None,
    model: str | None = None,
    collection: str | None = None,
) -> list[Hit]:
    """The ``k`` best chunks for ``text``, best first.

    ``mode`` is ``"hybrid"`` (default, from ``retrieval.mode``), ``"dense"`` or ``"lexical"``.
    ``where`` filters on chunk metadata with Chroma's syntax, e.g. ``{"file_type": "pdf"}``.
    The model and store stay loaded between calls with the same config, model and collection.

    >>> for hit in query("how are budgets approved?", k=3):   # doctest: +SKIP
    ...     print(hit.score, hit.source, hit.page)
    """
    settings = config if isinstance(config, Settings) else load_settings(config)
    key = (settings.model_dump_json(), model, collection)
    retriever = _RETRIEVERS.get(key)
    if retriever is None:
        retriever = _RETRIEVERS[key] = Retriever(settings=settings, model=model, collection=collection)
    return retriever.search(text, k=k, where=where, mode=mode)
