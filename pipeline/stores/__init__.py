"""Store backends: an embedded Chroma folder (``store.path``) or a Chroma server (``store.url``).

Both sit behind one interface (:class:`VectorStore`, implemented by
:class:`pipeline.stores.chroma.ChromaStore`) that every caller is typed against, so batching,
metadata, one collection per model and the sync semantics are the same code for both. What is local to the machine running ``ingest``
(manifest, lock, errors file, lexical index) lives in ``store.local_dir``.
"""

from __future__ import annotations

from pipeline.config import RetrySettings, StoreSettings
from pipeline.stores.backends import Backend, ChromaServer, EmbeddedChroma
from pipeline.stores.base import VectorStore
from pipeline.stores.chroma import ChromaStore, check_collection_name, collection_name

__all__ = [
    "Backend", "ChromaServer", "ChromaStore", "EmbeddedChroma", "VectorStore", "backend_for", "check_collection_name",
    "collection_name", "open_store",
]


def backend_for(store: StoreSettings, retry: RetrySettings | None = None) -> Backend:
    """The server named by ``store.url``, else the folder ``store.path``."""
    if store.url:
        return ChromaServer.from_settings(store, retry)
    return EmbeddedChroma(store.path)


def open_store(
    store: StoreSettings,
    *,
    collection: str,
    model_name: str,
    dimension: int,
    fingerprint: str,
    retry: RetrySettings | None = None,
) -> VectorStore:
    """A (not yet opened) store for one model's collection; call ``warm_up()`` to open it."""
    return ChromaStore(
        backend=backend_for(store, retry),
        collection=collection,
        model_name=model_name,
        dimension=dimension,
        fingerprint=fingerprint,
        upsert_batch_size=store.upsert_batch_size,
    )
