"""The one place a model is bound to its collection.

A :class:`Collection` is a model name turned into everything that must agree with it: the
embedder and its embed stage, the Chroma collection's name, the store target (folder or
server) with the model's dimension and fingerprint, the BM25 tokenizer and index, the file
preparer that cuts chunks in the model's tokens, and the fingerprint of every setting that
shapes a file's chunks and vectors. Ingest (both engines), the query API and the evaluation
all start from one, so they cannot disagree about any of it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from connectors import ReadOptions
from pipeline.config import RetrySettings, Settings, StoreSettings
from pipeline.embedders import Embedder, load_embedder
from pipeline.embedders.base import weights_loaded
from pipeline.records import fingerprint_of
from pipeline.retrieval.lexical import IndexedChunk, LexicalIndex, lexical_index_path
from pipeline.steps.embed import EmbedStage
from pipeline.steps.parse import FilePreparer
from pipeline.stores import VectorStore, collection_name, open_store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreTarget:
    """What it takes to open the collection anywhere (picklable: Ray's write tasks open it themselves)."""

    store: StoreSettings
    retry: RetrySettings
    collection: str
    model_name: str
    dimension: int
    fingerprint: str

    def open(self) -> VectorStore:
        """The collection's store, not yet opened: ``warm_up()`` opens it and checks the model."""
        return open_store(
            self.store, collection=self.collection, model_name=self.model_name, dimension=self.dimension,
            fingerprint=self.fingerprint, retry=self.retry,
        )


class Collection:
    """A model and its collection. Nothing heavy happens here: weights load on first embed, the
    store opens on first use."""

    def __init__(
        self,
        *,
        settings: Settings,
        model: str | None = None,
        collection: str | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.settings = settings
        self.model_name, self.spec = settings.model_spec(model)
        self.embedder = embedder or load_embedder(self.model_name, self.spec, settings.models)
        self.name = collection or collection_name(settings.store.collection_prefix, self.model_name)
        self.tokenizer = settings.retrieval.tokenizer()
        self.embed_stage = EmbedStage(embedder=self.embedder, retry=settings.retry)
        # The folder of what is local to this machine: manifest, lock, errors file, BM25 index.
        self.local_dir: Path = settings.store.local_dir

    @property
    def target(self) -> StoreTarget:
        return StoreTarget(
            self.settings.store, self.settings.retry, self.name, self.model_name,
            self.embedder.dimension, self.embedder.fingerprint,
        )

    @cached_property
    def store(self) -> VectorStore:
        """The collection's store, opened (and checked against the model) on first use."""
        return self.target.open()

    @cached_property
    def preparer(self) -> FilePreparer:
        """Turns a path into chunks in this model's tokens, with their BM25 term counts."""
        settings = self.settings
        preparer = FilePreparer(
            read_options=ReadOptions(**settings.connectors.model_dump(), max_pages=settings.walk.max_pages),
            cleaning=settings.cleaning,
            chunking=settings.chunking,
            count_tokens=self.embedder.token_counter(),
            max_tokens=self.embedder.max_tokens,
            tokenizer=self.tokenizer,
        )
        preparer.chunker()  # fail now, not in a worker, on impossible chunking settings
        return preparer

    @cached_property
    def settings_fingerprint(self) -> str:
        """Everything that shapes a file's chunks and vectors; a change means processing again."""
        parts = {
            "model": self.embedder.fingerprint,
            "chunking": self.settings.chunking.model_dump(mode="json"),
            "cleaning": self.settings.cleaning.model_dump(mode="json"),
            "connectors": self.settings.connectors.model_dump(mode="json"),
        }
        return fingerprint_of(parts)

    @property
    def model_loaded(self) -> bool:
        """Whether the model's weights were loaded (an embedder without weights never loads any)."""
        return weights_loaded(self.embedder)

    @property
    def lexical_path(self) -> Path:
        return lexical_index_path(self.local_dir, self.name)

    def lexical_index(self) -> LexicalIndex | None:
        """The BM25 index for reading; None when ``ingest`` has not built it for these settings."""
        if not self.lexical_path.is_dir():
            return None
        index = LexicalIndex(self.lexical_path, tokenizer_fingerprint=self.tokenizer.fingerprint)
        if not index.is_current:
            index.close()
            return None
        return index

    def open_lexical_for_writing(self) -> LexicalIndex:
        """The BM25 index, rebuilt from the store's chunks if it is missing or was made with another
        tokenizer (a store from before the index existed, say). Call with the store's lock held."""
        index = LexicalIndex(self.lexical_path, tokenizer_fingerprint=self.tokenizer.fingerprint)
        if not index.is_current:
            stored = self.store.count()
            if stored:
                log.warning("building the lexical index of '%s' from its %d stored chunks", self.name, stored)
            index.rebuild(
                IndexedChunk(chunk_id, str(meta.get("doc_id", "")), self.tokenizer.term_counts(text))
                for chunk_id, text, meta in self.store.chunks()
            )
            # The SQLite index of earlier versions, now rebuilt in tantivy.
            (self.lexical_path.parent / f"{self.name}.sqlite3").unlink(missing_ok=True)
        return index
