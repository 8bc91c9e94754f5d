"""What the HTTP API and the MCP server share: searching a store, listing its collections and
files, and showing how a file was cut.

Each collection gets one :class:`~pipeline.query.Retriever`, living in a thread of its own
(:class:`~pipeline.serve.worker.CollectionWorker`), and requests hand it their work. It opens
the store the way ``ingest-query`` does, without the writer's lock, and answers from what
``ingest`` has committed (a file whose chunks are being replaced keeps its old ones until the new
are written).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from chromadb.api.types import validate_where
from chromadb.errors import InvalidArgumentError

from pipeline.config import SEARCH_MODES, Settings
from pipeline.errors import ConfigError, FilterError, IngestError
from pipeline.paths import readable_path
from pipeline.query import Hit, Retriever
from pipeline.serve.files import FILE_STATUSES, FilePage, list_files
from pipeline.serve.worker import CollectionWorker
from pipeline.state.manifest import ManifestReader
from pipeline.stores import backend_for, check_collection_name, collection_name
from pipeline.stores.chroma import stored_collections

log = logging.getLogger(__name__)

# The name of an embedded store's database: a folder without it holds no collection yet, and
# opening a client there would create one.
_CHROMA_DATABASE = "chroma.sqlite3"
# A file's id (``pipeline.records.document_id``) is hex; anything else names no file.
_DOC_ID = re.compile(r"^[0-9a-f]{1,64}$")
MAX_FILES_PAGE = 1000


class NotFound(IngestError):
    """A collection or a file the store does not hold."""


class NotSearchable(IngestError):
    """A collection whose model is not in this configuration's registry, so no query can be embedded for it."""


class BadFilter(ConfigError):
    """A ``where`` that is not a valid Chroma metadata filter."""


@dataclass(frozen=True)
class SearchResult:
    collection: str
    mode: str
    took_ms: float
    hits: list[Hit] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The API's answer: each hit as :meth:`Hit.to_dict`, plus ``shown_source`` for people."""
        return {
            "collection": self.collection, "mode": self.mode, "took_ms": self.took_ms,
            "hits": [{**hit.to_dict(), "shown_source": readable_path(hit.source)} for hit in self.hits],
        }


class SearchService:
    """A store as the service sees it. Thread-safe: every method may be called from any thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.default_collection = collection_name(settings.store.collection_prefix, settings.default_model)
        self.max_k = settings.serve.max_k
        self._models: dict[str, str] = {}  # collection -> the model its metadata records
        self._workers: dict[str, CollectionWorker] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            for worker in self._workers.values():
                worker.close()
            self._workers.clear()

    def warm_up(self) -> Future[None] | None:
        """Open the default collection, its BM25 index, the Chinese word list and the model in
        the collection's thread, without waiting: the first search then finds them loaded.
        None when there is no such collection yet (it is opened on its first search instead)."""
        try:
            _, worker = self.worker_for(None)
        except IngestError as error:
            log.info("not warming up: %s", error)
            return None

        def load(retriever: Retriever) -> None:
            retriever.store.count()
            if retriever.lexical is not None:
                retriever.tokenizer.tokenize("预算 budget")  # jieba loads its dictionary on first use
            if retriever.settings.retrieval.mode != "lexical":
                retriever.stage.warm_up()

        future = worker.submit(load)
        future.add_done_callback(_log_failure)
        return future

    # --- searching -------------------------------------------------------------------------

    def search(
        self, query: str, *, k: int = 10, mode: str | None = None, where: dict[str, Any] | None = None,
        collection: str | None = None,
    ) -> SearchResult:
        """The ``k`` best chunks for ``query``; bad input raises :class:`ConfigError` (or a subclass)."""
        if not 1 <= k <= self.max_k:
            raise ConfigError(f"k must be between 1 and {self.max_k}, got {k}")
        if mode is not None and mode not in SEARCH_MODES:
            raise ConfigError(f"unknown search mode '{mode}' (allowed: {', '.join(SEARCH_MODES)})")
        where = _checked_filter(where)
        name, worker = self.worker_for(collection)
        started = time.perf_counter()
        hits = worker.search(query, k=k, mode=mode, where=where).result()
        took = round((time.perf_counter() - started) * 1000, 2)
        return SearchResult(name, hits[0].mode if hits else (mode or self.settings.retrieval.mode), took, hits)

    # --- collections -----------------------------------------------------------------------

    def collections(self) -> list[dict[str, Any]]:
        """Every collection in the store, with its model, size and whether this config can search it."""
        listed = self._stored()
        reader = ManifestReader.open(self.settings.store.local_dir)
        files = reader.collections() if reader is not None else {}
        return [
            {
                "name": name, "model": model, "dimension": dimension, "chunks": chunks, "files": files.get(name, 0),
                "default": name == self.default_collection, "searchable": model in self.settings.models,
                "languages": list(self.settings.model_languages(model)) if model in self.settings.models else [],
            }
            for name, model, dimension, chunks in listed
        ]

    def _stored(self) -> list[tuple[str, str, int | None, int]]:
        store = self.settings.store
        if not store.url and not (store.path / _CHROMA_DATABASE).is_file():
            return []  # nothing ingested yet; opening a client would create an empty store
        listed = stored_collections(backend_for(store, self.settings.retry))
        with self._lock:
            self._models = {item.name: item.model for item in listed}
        return [(item.name, item.model, item.dimension, item.chunks) for item in listed]

    def worker_for(self, collection: str | None) -> tuple[str, CollectionWorker]:
        """The collection's name and its worker (made on first use), or NotFound / NotSearchable."""
        name = check_collection_name(collection or self.default_collection)
        with self._lock:
            worker = self._workers.get(name)
        if worker is not None:
            return name, worker
        model = self._models.get(name)
        if model is None:
            self._stored()  # a collection made since the last look
            model = self._models.get(name)
        if model is None:
            known = ", ".join(sorted(self._models)) or "none yet"
            raise NotFound(f"no collection '{name}' in {self.settings.store.describe()} (collections: {known}); run `ingest` first")
        if model not in self.settings.models:
            raise NotSearchable(
                f"collection '{name}' was built with model '{model}', which this configuration does not register"
            )
        with self._lock:
            worker = self._workers.get(name)
            if worker is None:
                settings = self.settings
                worker = self._workers[name] = CollectionWorker(
                    name, lambda: Retriever(settings=settings, model=model, collection=name), map_error=_filter_error
                )
        return name, worker

    # --- files -----------------------------------------------------------------------------

    def files(
        self, *, collection: str | None = None, status: str | None = None, category: str | None = None,
        path_contains: str | None = None, limit: int = 100, offset: int = 0,
    ) -> FilePage:
        """A page of the collection's files with their state (see :mod:`pipeline.serve.files`)."""
        name = check_collection_name(collection or self.default_collection)
        if status is not None and status not in FILE_STATUSES:
            raise ConfigError(f"unknown file status '{status}' (allowed: {', '.join(FILE_STATUSES)})")
        if not 1 <= limit <= MAX_FILES_PAGE or offset < 0:
            raise ConfigError(f"limit must be between 1 and {MAX_FILES_PAGE} and offset at least 0")
        return list_files(
            self.settings.store.local_dir, name, status=status, category=category, path_contains=path_contains,
            limit=limit, offset=offset,
        )

    def file_chunks(self, doc_id: str, *, collection: str | None = None) -> dict[str, Any]:
        """A file's chunks in the order they were cut, with where each came from."""
        if not _DOC_ID.match(doc_id):
            raise NotFound(f"no file with id '{doc_id}'")
        name, worker = self.worker_for(collection)
        chunks = worker.submit(lambda retriever: retriever.store.doc_chunks(doc_id)).result()
        reader = ManifestReader.open(self.settings.store.local_dir)
        record = reader.record_for_doc(name, doc_id) if reader is not None else None
        if not chunks and record is None:
            raise NotFound(f"no file with id '{doc_id}' in collection '{name}'")
        path = record.path if record is not None else str(chunks[0][2].get("source", ""))
        return {
            "doc_id": doc_id, "collection": name, "path": path, "shown": readable_path(path),
            "state": record.state if record is not None else None,
            "chunks": [
                {
                    "id": chunk_id, "index": meta.get("chunk_index"), "text": text, "page": meta.get("page"),
                    "heading_path": meta.get("heading_path", ""), "tokens": meta.get("tokens"),
                    "start": meta.get("start"), "end": meta.get("end"), "language": meta.get("language", ""),
                    "ocr": bool(meta.get("ocr", False)),
                }
                for chunk_id, text, meta in chunks
            ],
        }


def _filter_error(error: Exception, where: dict[str, Any] | None) -> Exception:
    """Chroma refuses a filter its validator let through with ValueError or InvalidArgumentError; the
    query API's own filtering of candidates with FilterError."""
    if where is not None and isinstance(error, (ValueError, InvalidArgumentError, FilterError)):
        return BadFilter(f"'where' is not a filter Chroma accepts: {error}")
    return error


def _checked_filter(where: dict[str, Any] | None) -> dict[str, Any] | None:
    """``where`` checked by Chroma's own validator before any model loads; ``{}`` means no filter."""
    if not where:
        return None
    if not isinstance(where, dict):
        raise BadFilter("'where' must be a JSON object, e.g. {\"file_type\": \"pdf\"}")
    try:
        validate_where(where)
    except ValueError as error:
        raise BadFilter(f"'where' is not a filter Chroma accepts: {error}") from error
    return where


def _log_failure(future: Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("warming up the default collection failed: %s", future.exception())
