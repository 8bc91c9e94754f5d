"""The line: read -> prepare -> embed -> store, file by file, returning a report.

Files are read and chunked in worker processes, a bounded number of files ahead of the
embedder, so parsing overlaps with the model. Chunks of several files are embedded together in
full calls; a file is written to the store only once all of its chunks have vectors,
so a failure never leaves a file half-written. Chunk ids come from the content, so
running the same folder twice writes nothing new.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from connectors import ErrorCategory, ReadOptions
from pipeline.config import Settings, load_settings
from pipeline.embed import EmbedStage
from pipeline.errors import EmbeddingError
from pipeline.models import Embedder, load_embedder
from pipeline.preparer import FilePreparer, PreparedFile, prepare_all
from pipeline.records import Chunk, RunReport
from pipeline.store import ChromaStore, collection_name
from pipeline.walk import walk_files

log = logging.getLogger(__name__)


@dataclass(eq=False)  # compared and hashed by identity: one per file in flight
class _FileWork:
    """A file waiting for vectors: only chunks the store does not already hold are embedded."""

    prepared: PreparedFile
    new_chunks: list[Chunk]
    stale_ids: set[str]
    vectors: np.ndarray
    missing: int
    error: str | None = None


class Ingestor:
    """Wires the stages for one model and one collection; ``run`` ingests paths."""

    def __init__(
        self,
        *,
        settings: Settings,
        model: str | None = None,
        collection: str | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.settings = settings
        self.model_name, spec = settings.model_spec(model)
        self.embedder = embedder or load_embedder(self.model_name, spec, settings.models)
        self.collection = collection or collection_name(settings.store.collection_prefix, self.model_name)
        self.read_options = ReadOptions(
            pdf_passwords=settings.connectors.pdf_passwords,
            docx_headers_footers=settings.connectors.docx_headers_footers,
        )
        self._ready = False

    def warm_up(self) -> None:
        if self._ready:
            return
        self.embed_stage = EmbedStage(embedder=self.embedder, retry=self.settings.retry)
        self.embed_stage.warm_up()
        self.preparer = FilePreparer(
            read_options=self.read_options,
            cleaning=self.settings.cleaning,
            chunking=self.settings.chunking,
            count_tokens=self.embedder.token_counter(),
            max_tokens=self.embedder.max_tokens,
        )
        self.preparer.chunker()  # fail now, not in a worker, on impossible chunking settings
        self.store = ChromaStore(
            path=self.settings.store.path,
            collection=self.collection,
            model_name=self.model_name,
            dimension=self.embedder.dimension,
            fingerprint=self.embedder.fingerprint,
            upsert_batch_size=self.settings.store.upsert_batch_size,
        )
        self.store.warm_up()
        self._ready = True

    def run(self, paths: Iterable[str | os.PathLike[str]], *, progress: bool = False) -> RunReport:
        started = time.perf_counter()
        self.warm_up()
        report = RunReport(model=self.model_name, collection=self.collection)
        entries = list(walk_files(paths, self.settings.walk))
        report.files_seen = len(entries)
        bar = _progress_bar(len(entries), enabled=progress)
        run = _Run(self, report, bar)
        try:
            walk = self.settings.walk
            prepared_files = prepare_all(
                self.preparer, entries, window=walk.prefetch_files, workers=walk.prepare_workers,
            )
            for prepared in prepared_files:
                run.add(prepared)
            run.drain()
        finally:
            bar.close()
            report.seconds = time.perf_counter() - started
        return report


class _Run:
    """The state of one run: files waiting for vectors, and the chunks queued for the next batch."""

    def __init__(self, ingestor: Ingestor, report: RunReport, bar) -> None:  # noqa: ANN001 - tqdm
        self.ingestor = ingestor
        self.store = ingestor.store
        self.embed = ingestor.embed_stage
        self.report = report
        self.bar = bar
        self.files: deque[_FileWork] = deque()
        self.queue: deque[tuple[_FileWork, int]] = deque()

    def add(self, prepared: PreparedFile) -> None:
        if prepared.error is not None:
            self.report.add_error(prepared.error.path, prepared.error.category, prepared.error.message)
            self.bar.update(1)
            return
        limit = self.ingestor.embedder.max_tokens
        self.report.truncated_chunks += sum(1 for chunk in prepared.chunks if chunk.tokens > limit)
        self.report.pages_without_text += prepared.pages_without_text
        stored = self.store.ids_for_doc(prepared.chunks[0].doc_id)
        new = [chunk for chunk in prepared.chunks if chunk.id not in stored]
        current = {chunk.id for chunk in prepared.chunks}
        vectors = np.zeros((len(new), self.ingestor.embedder.dimension), dtype=np.float32)
        work = _FileWork(prepared, new, stored - current, vectors, missing=len(new))
        self.files.append(work)
        self.queue.extend((work, index) for index in range(len(new)))
        while len(self.queue) >= self.embed.call_size:
            self._embed_next()
        self._write_finished()

    def drain(self) -> None:
        while self.queue:
            self._embed_next()
        self._write_finished()

    def _embed_next(self) -> None:
        batch = [self.queue.popleft() for _ in range(min(self.embed.call_size, len(self.queue)))]
        batch = [(work, index) for work, index in batch if work.error is None]
        if not batch:
            return
        try:
            self._embed_into(batch)
        except EmbeddingError:
            # Find out which files the failure belongs to; the others still get their vectors.
            for work in dict.fromkeys(work for work, _ in batch):
                try:
                    self._embed_into([(w, i) for w, i in batch if w is work])
                except EmbeddingError as error:
                    work.error = str(error)
                    work.missing = 0

    def _embed_into(self, batch: list[tuple[_FileWork, int]]) -> None:
        # Identical texts in one batch (boilerplate shared by files) are embedded once.
        texts = list(dict.fromkeys(work.new_chunks[index].text for work, index in batch))
        vectors = self.embed.run(texts)
        self.report.chunks_embedded += len(texts)
        # A large file can take minutes; the chunk count shows the run is moving.
        self._show_counts()
        by_text = dict(zip(texts, vectors))
        for work, index in batch:
            work.vectors[index] = by_text[work.new_chunks[index].text]
            work.missing -= 1

    def _show_counts(self, refresh: bool = True) -> None:
        self.bar.set_postfix(embedded=self.report.chunks_embedded, stored=self.report.chunks_added, refresh=refresh)

    def _write_finished(self) -> None:
        while self.files and self.files[0].missing == 0:
            work = self.files.popleft()
            path = str(work.prepared.path)
            if work.error is not None:
                self.report.add_error(path, ErrorCategory.EMBEDDING_FAILED.value, work.error)
            else:
                # New chunks first, then the ones the file no longer has: a reader never sees it missing.
                self.store.upsert(work.new_chunks, work.vectors)
                self.report.chunks_deleted += self.store.delete(work.stale_ids)
                self.report.chunks_added += len(work.new_chunks)
                self.report.files_ingested += 1
            self._show_counts(refresh=False)
            self.bar.update(1)


def _progress_bar(total: int, *, enabled: bool):  # noqa: ANN202 - tqdm
    from tqdm import tqdm

    return tqdm(total=total, unit="file", disable=not enabled, dynamic_ncols=True, desc="ingest")


def ingest(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    config: Settings | str | os.PathLike[str] | None = None,
    model: str | None = None,
    collection: str | None = None,
    progress: bool = False,
) -> RunReport:
    """Ingest files and folders into the store; returns what happened, file by file.

    >>> report = ingest(["docs/"], model="minilm")          # doctest: +SKIP
    >>> report.files_ingested, report.errors[:1]            # doctest: +SKIP
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    settings = config if isinstance(config, Settings) else load_settings(config)
    return Ingestor(settings=settings, model=model, collection=collection).run(paths, progress=progress)
