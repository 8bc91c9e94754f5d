"""The interface every store backend gives the ingest line and the query API."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from pipeline.records import Chunk


class VectorStore(Protocol):
    """One collection of one model: idempotent upserts by content-hash id, deletes, search.

    :class:`pipeline.stores.chroma.ChromaStore` implements it for an embedded folder and for a Chroma
    server alike; the sync logic above it (manifest, pruning) never asks which.
    """

    collection_name: str
    where: str  # the folder or URL, as messages name it

    @property
    def batch_size(self) -> int: ...

    def warm_up(self, *, create: bool = True) -> None: ...

    def count(self) -> int: ...

    def ids_for_doc(self, doc_id: str) -> set[str]: ...

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None: ...

    def upsert_rows(
        self, ids: Sequence[str], texts: Sequence[str], metadatas: Sequence[dict[str, Any]], vectors: np.ndarray
    ) -> None: ...

    def delete(self, ids: Iterable[str]) -> int: ...

    def search_many(
        self, vectors: np.ndarray, k: int, where: dict[str, Any] | None = None, *, with_text: bool = True,
        with_metadata: bool = True,
    ) -> list[list[dict[str, Any]]]: ...

    def chunks(self, page_size: int = 5000) -> Iterator[tuple[str, str, dict[str, Any]]]: ...

    def doc_chunks(self, doc_id: str) -> list[tuple[str, str, dict[str, Any]]]: ...

    def fetch(
        self, ids: list[str], where: dict[str, Any] | None = None, *, with_text: bool = True
    ) -> dict[str, tuple[str, dict[str, Any]]]: ...
