"""RAG ingestion: read PDF, Word, HTML and text files, chunk them for a model, embed them, keep Chroma in sync.

The public API is small on purpose::

    from pipeline import ingest, query
    report = ingest(["docs/"])
    hits = query("what does the warranty cover?", k=5)
"""

from pipeline.config import Settings, load_settings
from pipeline.errors import (
    CollectionMismatchError,
    ConfigError,
    EmbeddingError,
    IngestError,
    ModelError,
    StoreError,
    StoreUnavailableError,
)
from pipeline.ingestor import Ingestor, ingest
from pipeline.query import Hit, Retriever, query
from pipeline.records import Chunk, FileError, RunReport

__all__ = [
    "Chunk",
    "CollectionMismatchError",
    "ConfigError",
    "EmbeddingError",
    "FileError",
    "Hit",
    "IngestError",
    "Ingestor",
    "ModelError",
    "Retriever",
    "RunReport",
    "Settings",
    "StoreError",
    "StoreUnavailableError",
    "ingest",
    "load_settings",
    "query",
]
