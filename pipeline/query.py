"""The query API: text in, the most similar stored chunks out, with where they came from."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.config import Settings, load_settings
from pipeline.embed import EmbedStage
from pipeline.errors import ConfigError
from pipeline.models import load_embedder
from pipeline.store import ChromaStore, collection_name


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk; ``score`` is cosine similarity, higher is better."""

    id: str
    score: float
    text: str
    source: str
    page: int | None
    heading_path: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Retriever:
    """Holds a loaded model and an open collection, so repeated queries are fast."""

    def __init__(self, *, settings: Settings, model: str | None = None, collection: str | None = None) -> None:
        self.model_name, spec = settings.model_spec(model)
        self.embedder = load_embedder(self.model_name, spec, settings.models)
        self.stage = EmbedStage(embedder=self.embedder, retry=settings.retry)
        self.collection = collection or collection_name(settings.store.collection_prefix, self.model_name)
        self.store_path = settings.store.path
        self._store: ChromaStore | None = None

    @property
    def store(self) -> ChromaStore:
        if self._store is None:
            self.stage.warm_up()
            store = ChromaStore(
                path=self.store_path,
                collection=self.collection,
                model_name=self.model_name,
                dimension=self.embedder.dimension,
                fingerprint=self.embedder.fingerprint,
            )
            store.warm_up(create=False)
            self._store = store
        return self._store

    def search(self, text: str, k: int = 10, where: dict[str, Any] | None = None) -> list[Hit]:
        return self.search_many([text], k=k, where=where)[0]

    def search_many(
        self, texts: list[str], k: int = 10, where: dict[str, Any] | None = None, *, with_text: bool = True
    ) -> list[list[Hit]]:
        """:meth:`search` for many queries, embedded together (much faster than one by one)."""
        if k < 1:
            raise ConfigError(f"k must be at least 1, got {k}")
        for text in texts:
            if not text.strip():
                raise ConfigError("the query text is empty")
        if not texts:
            return []
        store = self.store
        vectors = self.stage.run(texts, is_query=True)
        return [
            [
                Hit(
                    id=found["id"],
                    score=found["score"],
                    text=found["text"],
                    source=str(found["metadata"].get("source", "")),
                    page=found["metadata"].get("page"),
                    heading_path=str(found["metadata"].get("heading_path", "")),
                    metadata=found["metadata"],
                )
                for found in hits
            ]
            for hits in store.search_many(vectors, k, where, with_text=with_text)
        ]

    def chunks(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every chunk of the collection as (id, text, metadata); for indexes built beside it."""
        return self.store.chunks()


_RETRIEVERS: dict[tuple[str, str | None, str | None], Retriever] = {}


def query(
    text: str,
    k: int = 10,
    where: dict[str, Any] | None = None,
    *,
    config: Settings | str | os.PathLike[str] | None = None,
    model: str | None = None,
    collection: str | None = None,
) -> list[Hit]:
    """The ``k`` chunks most similar to ``text``, best first.

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
    return retriever.search(text, k=k, where=where)
