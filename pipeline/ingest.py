"""The line: read -> prepare -> embed -> store, file by file, returning a report.

Files are read and chunked in worker processes, a bounded number of files ahead of the
embedder, so parsing overlaps with the model. Chunks of several files are embedded together in
full calls; a file is written to the store only once all of its chunks have vectors,
so a failure never leaves a file half-written.

Sync: a manifest (SQLite, in the store's local folder) remembers every file written. A file whose size,
modification time (or, failing those, content) and settings are unchanged is skipped without
being read; a changed file gets its new chunks written before its old ones are deleted; a
file gone from an ingested folder has its chunks deleted (only under the folders of this run).
Vectors are cached by (model fingerprint, chunk text hash), so moved files and repeated text
are not embedded again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from connectors import ErrorCategory, ReadOptions
from pipeline.config import Settings, load_settings
from pipeline.embed import EmbedStage
from pipeline.embedders import Embedder, load_embedder
from pipeline.engines import ENGINES
from pipeline.errors import ConfigError, EmbeddingError
from pipeline.lock import StoreLock
from pipeline.manifest import FileRecord, Manifest
from pipeline.preparer import FileIdentity, FilePreparer, PreparedFile, prepare_all
from pipeline.records import Chunk, FileError, RunReport
from pipeline.retrieval.lexical import IndexedChunk, LexicalIndex, lexical_index_path
from pipeline.retrieval.tokens import Tokenizer
from pipeline.store import collection_name
from pipeline.stores import open_store
from pipeline.walk import walk_files

log = logging.getLogger(__name__)

ERRORS_FILE = "ingest-errors.jsonl"


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
        self.read_options = ReadOptions(**settings.connectors.model_dump())
        self.tokenizer = Tokenizer(chinese=settings.retrieval.chinese_tokens)
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
            tokenizer=self.tokenizer,
        )
        self.preparer.chunker()  # fail now, not in a worker, on impossible chunking settings
        self.store = open_store(
            self.settings.store,
            collection=self.collection,
            model_name=self.model_name,
            dimension=self.embedder.dimension,
            fingerprint=self.embedder.fingerprint,
            retry=self.settings.retry,
        )
        self.store.warm_up()
        self._ready = True

    def _open_lexical(self) -> LexicalIndex:
        """The collection's BM25 index, rebuilt from the store's chunks if it is missing or was
        made with another tokenizer (a store from before the index existed, say). Call with the
        store's lock held."""
        index = LexicalIndex(
            lexical_index_path(self.settings.store.local_dir, self.collection),
            tokenizer_fingerprint=self.tokenizer.fingerprint,
        )
        if not index.is_current:
            if self.store.count():
                log.warning(
                    "building the lexical index of '%s' from its %d stored chunks", self.collection, self.store.count()
                )
            index.rebuild(
                IndexedChunk(chunk_id, str(meta.get("doc_id", "")), self.tokenizer.term_counts(text))
                for chunk_id, text, meta in self.store.chunks()
            )
        return index

    @cached_property
    def settings_fingerprint(self) -> str:
        """Everything that shapes a file's chunks and vectors; a change means processing again."""
        parts = {
            "model": self.embedder.fingerprint,
            "chunking": self.settings.chunking.model_dump(mode="json"),
            "cleaning": self.settings.cleaning.model_dump(mode="json"),
            "connectors": self.settings.connectors.model_dump(mode="json"),
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]

    def run(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        progress: bool = False,
        prune: bool = True,
        wait: bool = False,
        engine: str = "local",
        ray_address: str | None = None,
    ) -> RunReport:
        """Bring the collection in line with ``paths``; ``prune=False`` keeps chunks of deleted files.

        Holds the store's lock for the whole run (``wait``: wait for another writer instead
        of failing). Ctrl-C stops after the current batch; files already written stay whole.
        ``engine="ray"`` runs the same stages on a Ray cluster (see :mod:`pipeline.engines`).
        """
        if engine != "local":
            return run_engine(self, engine, paths, prune=prune, wait=wait, progress=progress, ray_address=ray_address)
        started = time.perf_counter()
        self.warm_up()
        report = RunReport(model=self.model_name, collection=self.collection)
        roots = [Path(path).expanduser().resolve() for path in paths]
        # The store itself may be a server; the manifest, lock and errors file are local.
        store_dir = self.settings.store.local_dir
        with StoreLock(store_dir, wait=wait):
            manifest = Manifest(store_dir, self.collection)
            self.lexical = self._open_lexical()
            try:
                entries = list(walk_files(roots, self.settings.walk))
                report.files_seen = len(entries)
                todo = [entry for entry in entries if not self._unchanged(entry, manifest, report)]
                self._ingest(todo, manifest, report, progress)
                if prune and not report.interrupted:
                    self._prune(roots, entries, manifest, report)
            finally:
                manifest.close()
                self.lexical.close()
        report.errors_file = _write_errors(store_dir / ERRORS_FILE, report.errors)
        report.seconds = time.perf_counter() - started
        return report

    def _ingest(self, todo: list[Path | FileError], manifest: Manifest, report: RunReport, progress: bool) -> None:
        bar = _progress_bar(len(todo), enabled=progress)
        run = _Run(self, report, bar, manifest)
        walk = self.settings.walk
        if todo:
            # Forked workers inherit the loaded dictionary instead of each loading it on the clock.
            self.tokenizer.warm_up()
        prepared_files = prepare_all(
            self.preparer, todo, window=walk.prefetch_files, workers=walk.prepare_workers,
            timeout_s=walk.file_timeout_s, memory_mb=walk.parse_memory_mb, pdf_pages_per_task=walk.pdf_pages_per_task,
            ocr_page_timeout_s=walk.ocr_page_timeout_s,
        )
        try:
            with _stop_requested() as stop:
                for prepared in prepared_files:
                    run.add(prepared)
                    if stop.is_set():
                        report.interrupted = True
                        break
                else:
                    run.drain()
        finally:
            prepared_files.close()
            bar.close()

    def _unchanged(self, entry: Path | FileError, manifest: Manifest, report: RunReport) -> bool:
        """True (and counted) when the manifest shows this file already stored as it is now."""
        if isinstance(entry, FileError):
            return False
        record = manifest.get(str(entry))
        if record is None or record.state != "done" or record.settings != self.settings_fingerprint:
            return False
        try:
            stat = entry.stat()
            if (stat.st_size, stat.st_mtime_ns) != (record.size, record.mtime_ns):
                # Touched or copied without changing: the content decides.
                if stat.st_size != record.size or FileIdentity.of(entry).content_hash != record.content_hash:
                    return False
                manifest.put(replace(record, mtime_ns=stat.st_mtime_ns))
        except OSError:
            return False
        report.files_unchanged += 1
        return True

    def _prune(self, roots: list[Path], entries: list[Path | FileError], manifest: Manifest, report: RunReport) -> None:
        """Delete what came from files no longer under the roots of this run, and nothing else."""
        seen = {str(entry) if isinstance(entry, Path) else entry.path for entry in entries}
        for root in roots:
            for record in manifest.under(str(root)):
                if record.path in seen:
                    continue
                # Asked of the store, not the record: it also finds chunks of an unfinished write.
                report.chunks_deleted += self.store.delete(self.store.ids_for_doc(record.doc_id))
                self.lexical.delete_doc(record.doc_id)
                manifest.remove(record.path)
                report.files_removed += 1


def run_engine(
    ingestor: Ingestor, engine: str, paths: Iterable[str | os.PathLike[str]], *, prune: bool, wait: bool,
    progress: bool, ray_address: str | None,
) -> RunReport:
    """A run on another engine than the local line; Ray is imported only here, so the local
    line works without it."""
    if engine != "ray":
        raise ConfigError(f"unknown engine '{engine}' (allowed: {', '.join(ENGINES)})")
    try:
        from pipeline.engines.ray_data import RayEngine
    except ImportError as error:
        raise ConfigError(f"--engine ray needs Ray: pip install 'rag-ingest[distributed]' ({error})") from error
    return RayEngine(ingestor, address=ray_address).run(paths, prune=prune, wait=wait, progress=progress)


def _write_errors(path: Path, errors: list[FileError]) -> str:
    """One JSON object per file that was not ingested (the file is rewritten every run)."""
    partial = path.with_suffix(".tmp")
    with partial.open("w", encoding="utf-8") as handle:
        for error in errors:
            handle.write(json.dumps({"path": error.path, "category": error.category, "message": error.message},
                                    ensure_ascii=False) + "\n")
    partial.replace(path)
    return str(path)


@contextmanager
def _stop_requested() -> Iterator[threading.Event]:
    """The first Ctrl-C sets the event (the run stops after its current batch); a second one
    interrupts at once. Outside the main thread signals cannot be caught; nothing is installed."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def request_stop(signum: int, frame: object) -> None:
        stop.set()
        signal.signal(signal.SIGINT, previous)
        log.warning("stopping after the current batch (Ctrl-C again to stop at once)")

    previous = signal.signal(signal.SIGINT, request_stop)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


class _Run:
    """The state of one run: files waiting for vectors, and the chunks queued for the next batch."""

    def __init__(self, ingestor: Ingestor, report: RunReport, bar, manifest: Manifest) -> None:
        self.ingestor = ingestor
        self.manifest = manifest
        self.fingerprint = ingestor.embedder.fingerprint
        self.settings_fingerprint = ingestor.settings_fingerprint
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
        self.report.pages_ocr += prepared.pages_ocr
        self.report.ocr_seconds += prepared.ocr_seconds
        stored = self.store.ids_for_doc(prepared.chunks[0].doc_id)
        new = [chunk for chunk in prepared.chunks if chunk.id not in stored]
        current = {chunk.id for chunk in prepared.chunks}
        vectors = np.zeros((len(new), self.ingestor.embedder.dimension), dtype=np.float32)
        cached = self.manifest.cached_vectors(self.fingerprint, (chunk.hash for chunk in new))
        to_embed = []
        for index, chunk in enumerate(new):
            if chunk.hash in cached:
                vectors[index] = cached[chunk.hash]
            else:
                to_embed.append(index)
        self.report.chunks_reused += len(new) - len(to_embed)
        work = _FileWork(prepared, new, stored - current, vectors, missing=len(to_embed))
        self.files.append(work)
        self.queue.extend((work, index) for index in to_embed)
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
        hashes = {work.new_chunks[index].text: work.new_chunks[index].hash for work, index in batch}
        self.manifest.cache_vectors(self.fingerprint, {hashes[text]: vector for text, vector in zip(texts, vectors)})
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
                self._write(work)
            self._show_counts(refresh=False)
            self.bar.update(1)

    def _write(self, work: _FileWork) -> None:
        """Manifest row first (state writing), then new chunks, then stale ones out, then done.

        A crash between any two steps leaves a row that is not done, so the next run processes
        the file again, and every chunk in the store belongs to some row.
        """
        prepared = work.prepared
        path = str(prepared.path)
        previous = self.manifest.get(path)
        identity = prepared.identity
        assert identity is not None  # set for every file that has chunks
        record = FileRecord(
            path=path, size=identity.size, mtime_ns=identity.mtime_ns, content_hash=identity.content_hash,
            doc_id=prepared.chunks[0].doc_id, chunk_ids=tuple(chunk.id for chunk in prepared.chunks),
            settings=self.settings_fingerprint, state="writing",
        )
        self.manifest.put(record)
        # New chunks first, then the ones the file no longer has: a reader never sees it missing.
        self.store.upsert(work.new_chunks, work.vectors)
        self.ingestor.lexical.replace_doc(record.doc_id, _indexed(prepared, self.ingestor.tokenizer))
        self.report.chunks_deleted += self.store.delete(work.stale_ids)
        self.manifest.put(replace(record, state="done"))
        self.report.chunks_added += len(work.new_chunks)
        self.report.files_ingested += 1
        self.report.files_updated += previous is not None


def _indexed(prepared: PreparedFile, tokenizer: Tokenizer) -> list[IndexedChunk]:
    """The file's chunks for the lexical index, with the term counts the worker made."""
    terms = prepared.terms or [tokenizer.term_counts(chunk.text) for chunk in prepared.chunks]
    return [IndexedChunk(chunk.id, chunk.doc_id, counts) for chunk, counts in zip(prepared.chunks, terms)]


def _progress_bar(total: int, *, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="file", disable=not enabled, dynamic_ncols=True, desc="ingest")


def ingest(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    config: Settings | str | os.PathLike[str] | None = None,
    model: str | None = None,
    collection: str | None = None,
    progress: bool = False,
    prune: bool = True,
    wait: bool = False,
    engine: str = "local",
    ray_address: str | None = None,
) -> RunReport:
    """Bring the store in line with files and folders; returns what happened, file by file.

    Unchanged files are skipped, changed ones replaced, and chunks of files deleted from these
    folders removed (``prune=False`` keeps them). ``wait`` waits for another writer's lock.

    >>> report = ingest(["docs/"], model="minilm")          # doctest: +SKIP
    >>> report.files_ingested, report.errors[:1]            # doctest: +SKIP
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    settings = config if isinstance(config, Settings) else load_settings(config)
    ingestor = Ingestor(settings=settings, model=model, collection=collection)
    return ingestor.run(paths, progress=progress, prune=prune, wait=wait, engine=engine, ray_address=ray_address)
