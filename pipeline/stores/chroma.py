"""Storage: a Chroma collection per model, cosine space, batched idempotent upserts.

The collection's metadata records the model, its dimension and its fingerprint, and
every open checks them, so vectors of two models or two settings never share an index.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.errors import CollectionMismatchError, ConfigError, StoreError
from pipeline.records import Chunk

if TYPE_CHECKING:
    from pipeline.stores.backends import Backend

log = logging.getLogger(__name__)

_VALID_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$")


_QUERY_RESULTS_PER_CALL = 10_000


def collection_name(prefix: str, model_name: str) -> str:
    """'<prefix>-<model>' with characters Chroma does not accept replaced by '-'."""
    name = re.sub(r"[^a-zA-Z0-9._-]+", "-", f"{prefix}-{model_name}").strip("-._")
    return check_collection_name(name)


def check_collection_name(name: str) -> str:
    if not _VALID_NAME.match(name):
        raise ConfigError(
            f"collection name '{name}' is not valid: use 3-512 characters from a-z A-Z 0-9 . _ -, "
            "starting and ending with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class StoredCollection:
    """A collection as a listing shows it: the model its metadata records, and its size."""

    name: str
    model: str
    dimension: int | None
    chunks: int


def stored_collections(backend: Backend) -> list[StoredCollection]:
    """Every collection in the store, by name, read without opening or creating any."""
    from chromadb.errors import ChromaError

    try:
        found = backend.client().list_collections()
        listed = [
            StoredCollection(
                collection.name, str((collection.metadata or {}).get("model", "")),
                (collection.metadata or {}).get("dimension"), int(collection.count()),
            )
            for collection in found
        ]
    except StoreError:
        raise
    except (ChromaError, OSError, ValueError) as error:
        raise StoreError(f"cannot list the collections of {backend.where}: {error}") from error
    return sorted(listed, key=lambda collection: collection.name)


class ChromaStore:
    """One collection of a Chroma store, an embedded folder or a server (:mod:`pipeline.stores.backends`);
    implements :class:`pipeline.stores.base.VectorStore`."""

    def __init__(
        self,
        *,
        collection: str,
        model_name: str,
        dimension: int,
        fingerprint: str,
        path: Path | None = None,
        backend: Backend | None = None,
        upsert_batch_size: int = 1000,
    ) -> None:
        if backend is None:
            if path is None:
                raise ValueError("ChromaStore needs a path or a backend")
            from pipeline.stores.backends import EmbeddedChroma

            backend = EmbeddedChroma(Path(path))
        self.backend = backend
        self.where = backend.where
        self.collection_name = check_collection_name(collection)
        self.expected = {"model": model_name, "dimension": dimension, "fingerprint": fingerprint}
        self.upsert_batch_size = upsert_batch_size
        self._collection: Any = None

    def warm_up(self, *, create: bool = True) -> None:
        """Open (or create) the collection and check it was built by the same model and settings."""
        if self._collection is not None:
            return
        from chromadb.errors import ChromaError, NotFoundError

        try:
            client = self.backend.client()
            if create:
                collection = client.get_or_create_collection(
                    self.collection_name,
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata=dict(self.expected),
                    embedding_function=None,
                )
            else:
                collection = client.get_collection(self.collection_name, embedding_function=None)
            max_batch = client.get_max_batch_size()
        except StoreError:
            raise
        except NotFoundError as error:
            raise StoreError(
                f"no collection '{self.collection_name}' in {self.where}; run `ingest` with this model first"
            ) from error
        except (ChromaError, OSError, ValueError) as error:
            raise StoreError(f"cannot open Chroma store at {self.where}: {error}") from error
        except Exception as error:  # noqa: BLE001 - a server's network errors, by URL and kind
            map_error = getattr(self.backend, "map_error", None)
            if map_error is None:
                raise
            raise map_error(error, f"open collection '{self.collection_name}'") from error
        self._check(collection.metadata or {})
        self._max_batch = min(self.upsert_batch_size, max_batch)
        self._collection = self.backend.wrap(collection)

    def _check(self, found: dict[str, Any]) -> None:
        mismatched = {k: (found.get(k), v) for k, v in self.expected.items() if found.get(k) != v}
        if mismatched:
            details = ", ".join(f"{k}: stored {old!r}, now {new!r}" for k, (old, new) in mismatched.items())
            raise CollectionMismatchError(
                f"collection '{self.collection_name}' in {self.where} was built with other settings ({details}); "
                "use another --collection or store path, or delete the collection to rebuild it"
            )

    @property
    def collection(self) -> Any:
        self.warm_up()
        return self._collection

    def count(self) -> int:
        return int(self.collection.count())

    def ids_for_doc(self, doc_id: str) -> set[str]:
        return set(self.collection.get(where={"doc_id": doc_id}, include=[])["ids"])

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Write chunks with their vectors, in batches the client accepts; same ids overwrite."""
        if len(chunks) != len(vectors):
            raise StoreError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        for start in range(0, len(chunks), self._batch()):
            batch = chunks[start : start + self._batch()]
            self.collection.upsert(
                ids=[chunk.id for chunk in batch],
                embeddings=vectors[start : start + len(batch)],
                documents=[chunk.text for chunk in batch],
                metadatas=[chunk.metadata() for chunk in batch],
            )

    def upsert_rows(
        self, ids: Sequence[str], texts: Sequence[str], metadatas: Sequence[dict[str, Any]], vectors: np.ndarray
    ) -> None:
        """:meth:`upsert` for chunks that arrive as columns (the Ray engine's rows), not Chunk objects."""
        if not len(ids) == len(texts) == len(metadatas) == len(vectors):
            raise StoreError(f"{len(ids)} ids, {len(texts)} texts, {len(metadatas)} metadatas, {len(vectors)} vectors")
        for start in range(0, len(ids), self._batch()):
            end = start + self._batch()
            self.collection.upsert(
                ids=list(ids[start:end]), embeddings=vectors[start:end],
                documents=list(texts[start:end]), metadatas=list(metadatas[start:end]),
            )

    def delete(self, ids: Iterable[str]) -> int:
        ids = list(ids)
        for start in range(0, len(ids), self._batch()):
            self.collection.delete(ids=ids[start : start + self._batch()])
        return len(ids)

    def _batch(self) -> int:
        self.warm_up()
        return self._max_batch

    @property
    def batch_size(self) -> int:
        """Chunks per upsert: ``upsert_batch_size``, capped by what the client accepts in one call."""
        return self._batch()

    def search(self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The k nearest chunks: id, cosine similarity (higher is better), text and metadata."""
        return self.search_many(np.asarray([vector]), k, where)[0]

    def search_many(
        self, vectors: np.ndarray, k: int, where: dict[str, Any] | None = None, *, with_text: bool = True,
        with_metadata: bool = True,
    ) -> list[list[dict[str, Any]]]:
        """:meth:`search` for several query vectors in one call. ``text`` is "" unless ``with_text``,
        ``metadata`` {} unless ``with_metadata``: a ranking of candidates needs neither, and
        Chroma copies less."""
        include = ["distances"] + (["metadatas"] if with_metadata else []) + (["documents"] if with_text else [])
        results = []
        # Chroma fetches all results of one call with a single SQLite statement, which takes at
        # most 32,766 variables: keep queries * k well below that.
        per_call = max(1, _QUERY_RESULTS_PER_CALL // k)
        for start in range(0, len(vectors), per_call):
            found = self.collection.query(
                query_embeddings=vectors[start : start + per_call], n_results=k, where=where or None, include=include
            )
            for row, ids in enumerate(found["ids"]):
                texts = found["documents"][row] if with_text else [""] * len(ids)
                metas = found["metadatas"][row] if with_metadata else [{}] * len(ids)
                results.append(
                    [
                        {"id": id_, "score": 1.0 - float(distance), "text": text, "metadata": meta or {}}
                        for id_, distance, text, meta in zip(ids, found["distances"][row], texts, metas)
                    ]
                )
        return results

    def chunks(self, page_size: int = 5000) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every stored chunk as (id, text, metadata), a page at a time."""
        for offset in range(0, self.count(), page_size):
            page = self.collection.get(limit=page_size, offset=offset, include=["documents", "metadatas"])
            yield from zip(page["ids"], page["documents"], [meta or {} for meta in page["metadatas"]])

    def doc_chunks(self, doc_id: str) -> list[tuple[str, str, dict[str, Any]]]:
        """One file's chunks as (id, text, metadata), in the order they were cut (``chunk_index``),
        for a person checking how the file was cut; [] when the store holds none of it."""
        page = self.collection.get(where={"doc_id": doc_id}, include=["documents", "metadatas"])
        rows = zip(page["ids"], page["documents"], [meta or {} for meta in page["metadatas"]])
        return sorted(rows, key=lambda row: (int(row[2].get("chunk_index", 0)), row[0]))

    def fetch(
        self, ids: list[str], where: dict[str, Any] | None = None, *, with_text: bool = True
    ) -> dict[str, tuple[str, dict[str, Any]]]:
        """id -> (text, metadata) for those of ``ids`` that are stored and match ``where``."""
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        include = ["metadatas"] + (["documents"] if with_text else [])
        for start in range(0, len(ids), _QUERY_RESULTS_PER_CALL):
            page = self.collection.get(
                ids=ids[start : start + _QUERY_RESULTS_PER_CALL], where=where or None, include=include
            )
            texts = page["documents"] if with_text else [""] * len(page["ids"])
            found.update(zip(page["ids"], zip(texts, [meta or {} for meta in page["metadatas"]])))
        return found
