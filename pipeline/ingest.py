"""The line: read -> prepare -> embed -> store, returning a report.

Files are read and chunked in worker processes, a bounded number of files ahead of the
embedder, so parsing overlaps with the model. Chunks of several files are embedded together in
full calls; a file is written to the store only once all of its chunks have vectors, so a
failure never leaves a file half-written, and finished files are written together in store-sized
batches (see :mod:`pipeline.writer`).

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
from dataclasses import replace
from functools import cached_property
from pathlib import Path

import numpy as np

from connectors import ErrorCategory, ReadOptions
from pipeline.config import Settings, load_settings
from pipeline.embed import EmbedStage
from pipeline.embedders import Embedder, load_embedder
from pipeline.embedders.base import weights_loaded
from pipeline.engines import ENGINES
from pipeline.errors import ConfigError, EmbeddingError
from pipeline.lock import StoreLock
from pipeline.manifest import Failure, FileRecord, Manifest
from pipeline.paths import path_text, readable_path
from pipeline.preparer import FileIdentity, FilePreparer, PreparedFile, prepare_all
from pipeline.records import FileError, RunReport
from pipeline.retrieval.lexical import IndexedChunk, LexicalIndex, lexical_index_path
from pipeline.store import ChromaStore, collection_name
from pipeline.stores import open_store
from pipeline.walk import walk_files
from pipeline.writer import BatchWriter, FileWork

log = logging.getLogger(__name__)

ERRORS_FILE = "ingest-errors.jsonl"

# Failures that reading the same bytes with the same settings gives again: such a file is not
# read again until it changes. Timeouts, memory limits and model failures may pass; they are retried.
LASTING_FAILURES = frozenset(
    category.value for category in (
        ErrorCategory.ENCRYPTED, ErrorCategory.NO_TEXT, ErrorCategory.CORRUPT, ErrorCategory.UNSUPPORTED,
        ErrorCategory.EMPTY,
    )
)


class Ingestor:
    """Wires the stages for one model and one collection; ``run`` ingests paths.

    Nothing heavy is loaded up front: a run first works out which files changed, and the model
    is loaded only when a chunk needs a vector that neither the store nor the cache holds. An
    unchanged re-run opens neither the model nor Chroma.
    """

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
        self.read_options = ReadOptions(**settings.connectors.model_dump(), max_pages=settings.walk.max_pages)
        self.tokenizer = settings.retrieval.tokenizer()
        self.embed_stage = EmbedStage(embedder=self.embedder, retry=self.settings.retry)
        self._untracked_chunks = False

    def warm_up(self) -> None:
        """Load the model and open the store now (a run does both only when it needs them)."""
        self.embed_stage.warm_up()
        self.preparer.chunker()
        self.store.warm_up()

    @cached_property
    def preparer(self) -> FilePreparer:
        preparer = FilePreparer(
            read_options=self.read_options,
            cleaning=self.settings.cleaning,
            chunking=self.settings.chunking,
            count_tokens=self.embedder.token_counter(),
            max_tokens=self.embedder.max_tokens,
            tokenizer=self.tokenizer,
        )
        preparer.chunker()  # fail now, not in a worker, on impossible chunking settings
        return preparer

    @cached_property
    def store(self) -> ChromaStore:
        """The collection, opened (and checked against the model) on first use."""
        return open_store(
            self.settings.store,
            collection=self.collection,
            model_name=self.model_name,
            dimension=self.embedder.dimension,
            fingerprint=self.embedder.fingerprint,
            retry=self.settings.retry,
        )

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

    @property
    def model_loaded(self) -> bool:
        """Whether this ingestor has loaded model weights (an embedder without weights never does)."""
        return weights_loaded(self.embedder)

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
        report = RunReport(model=self.model_name, collection=self.collection)
        roots = [Path(path).expanduser().resolve() for path in paths]
        # The store itself may be a server; the manifest, lock and errors file are local.
        store_dir = self.settings.store.local_dir
        if self.settings.store.url:
            # An unreachable server fails the run before anything local is written. (A folder
            # store is opened only once some file has changed: an unchanged re-run never needs it.)
            self.store.warm_up()
        with StoreLock(store_dir, wait=wait):
            manifest = Manifest(store_dir, self.collection)
            self.lexical = self._open_lexical()
            try:
                entries = list(walk_files(roots, self.settings.walk))
                report.files_seen = len(entries)
                records = manifest.records_under(path_text(root) for root in roots)
                failures = manifest.failures_under(path_text(root) for root in roots)
                todo, stats = self._changed(entries, records, failures, manifest, report)
                self._ingest(todo, records, manifest, report, progress)
                self._remember_failures(stats, failures, manifest, report)
                if prune and not report.interrupted:
                    self._prune(entries, records, manifest, report)
                    seen = {_key(entry) for entry in entries}
                    manifest.remove_failures(path for path in failures if path not in seen)
            finally:
                manifest.close()
                self.lexical.close()
        report.errors_file = _write_errors(store_dir / ERRORS_FILE, report.errors)
        report.seconds = time.perf_counter() - started
        log.info("model %s %s in this run", self.model_name, "was loaded" if self.model_loaded else "was not loaded")
        return report

    def _ingest(
        self, todo: list[Path | FileError], records: dict[str, FileRecord], manifest: Manifest, report: RunReport,
        progress: bool,
    ) -> None:
        if not todo:
            return
        self.store.warm_up()  # a store built with other settings stops the run before any parsing
        self._untracked_chunks = not records and not manifest.has_rows() and self.store.count() > 0
        # Forked workers inherit the loaded dictionary instead of each loading it on the clock.
        self.tokenizer.warm_up()
        bar = _progress_bar(len(todo), enabled=progress)
        run = _Run(self, report, bar, manifest, records)
        walk = self.settings.walk
        prepared_files = prepare_all(
            self.preparer, todo, window=walk.prefetch_files, workers=walk.prepare_workers,
            timeout_s=walk.file_timeout_s, memory_mb=walk.parse_memory_mb, pdf_pages_per_task=walk.pdf_pages_per_task,
            ocr_page_timeout_s=walk.ocr_page_timeout_s,
        )
        self.last_run = run  # the benchmarks read its timings
        try:
            with _stop_requested() as stop:
                for prepared in prepared_files:
                    run.add(prepared)
                    if stop.is_set():
                        report.interrupted = True
                        break
                run.finish(embed_rest=not report.interrupted)
        finally:
            prepared_files.close()
            bar.close()

    def _changed(
        self, entries: list[Path | FileError], records: dict[str, FileRecord], failures: dict[str, Failure],
        manifest: Manifest, report: RunReport,
    ) -> tuple[list[Path | FileError], dict[str, tuple[int, int]]]:
        """The entries to process: all but the files the manifest shows stored as they are now,
        and those that failed before for good and have not changed since (reported again, not read).
        Also the size and time of each file to process, taken before it is read."""
        todo: list[Path | FileError] = []
        touched: list[FileRecord] = []
        stats: dict[str, tuple[int, int]] = {}
        for entry in entries:
            if isinstance(entry, FileError):
                todo.append(entry)
            elif self._unchanged(entry, records.get(path_text(entry)), touched):
                report.files_unchanged += 1
            else:
                try:
                    stat = entry.stat()
                except OSError:
                    todo.append(entry)
                    continue
                stats[path_text(entry)] = (stat.st_size, stat.st_mtime_ns)
                failure = failures.get(path_text(entry))
                if failure is not None and (failure.size, failure.mtime_ns, failure.settings) == (
                    stat.st_size, stat.st_mtime_ns, self.settings_fingerprint
                ):
                    report.add_error(failure.path, failure.category, failure.message)
                else:
                    todo.append(entry)
        manifest.put_many(touched)
        return todo, stats

    def _remember_failures(
        self, stats: dict[str, tuple[int, int]], failures: dict[str, Failure], manifest: Manifest, report: RunReport
    ) -> None:
        """Record this run's lasting failures; forget those of files that were read again and did
        not fail that way (a failure remembered and reported again is recorded again, unchanged)."""
        lasting = [
            Failure(error.path, *stats[error.path], self.settings_fingerprint, error.category, error.message)
            for error in report.errors
            if error.path in stats and error.category in LASTING_FAILURES
        ]
        manifest.put_failures(lasting)
        failed = {failure.path for failure in lasting}
        manifest.remove_failures(path for path in stats if path in failures and path not in failed)

    def _unchanged(self, entry: Path, record: FileRecord | None, touched: list[FileRecord]) -> bool:  # noqa: PLR0911
        """True when ``record`` shows this file already stored as it is now."""
        if record is None or record.state != "done":
            return False
        try:
            stat = entry.stat()
            if (stat.st_size, stat.st_mtime_ns) == (record.size, record.mtime_ns):
                return record.settings == self.settings_fingerprint
            # Touched or copied without changing: the content decides.
            if stat.st_size != record.size or record.settings != self.settings_fingerprint:
                return False
            if FileIdentity.of(entry).content_hash != record.content_hash:
                return False
            touched.append(replace(record, mtime_ns=stat.st_mtime_ns))
        except OSError:
            return False
        return True

    def _prune(
        self, entries: list[Path | FileError], records: dict[str, FileRecord], manifest: Manifest, report: RunReport
    ) -> None:
        """Delete what came from files no longer under the roots of this run, and nothing else."""
        seen = {_key(entry) for entry in entries}
        gone = [record for path, record in records.items() if path not in seen]
        if not gone:
            return
        # Store, then index, then manifest: a crash in between leaves the rows, and the next run
        # deletes again. A row not done is asked of the store: it may have chunks it does not list.
        ids = [i for record in gone for i in self._stored_ids(record)]
        report.chunks_deleted += self.store.delete(ids)
        self.lexical.delete_docs(record.doc_id for record in gone)
        manifest.remove_many(record.path for record in gone)
        report.files_removed += len(gone)

    def _stored_ids(self, record: FileRecord | None, doc_id: str | None = None) -> set[str]:
        """The chunk ids the store holds for a file, without a Chroma query per file where possible.

        A done row lists them all; a file without a row has none, since its row is written before
        any chunk (unless the manifest itself was lost: a store with chunks and no rows). Only a row
        left ``writing`` by an interrupted run needs the store asked.
        """
        if record is not None and record.state == "done":
            return set(record.chunk_ids)
        if record is None and not self._untracked_chunks:
            return set()
        return self.store.ids_for_doc(record.doc_id if record is not None else doc_id or "")


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


def _key(entry: Path | FileError) -> str:
    """The recorded path of a walked entry (see pipeline/paths.py)."""
    return path_text(entry) if isinstance(entry, Path) else entry.path


def _write_errors(path: Path, errors: list[FileError]) -> str:
    """One JSON object per file that was not ingested (the file is rewritten every run); a name
    that is not UTF-8 also gets ``shown``, how a person reads it (Chinese where it is GBK)."""
    partial = path.with_suffix(".tmp")
    with partial.open("w", encoding="utf-8") as handle:
        for error in errors:
            line: dict[str, str] = {"path": error.path, "category": error.category, "message": error.message}
            if (shown := readable_path(error.path)) != error.path:
                line["shown"] = shown
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
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
    """The state of one run: files waiting for vectors, the chunks queued for the next model call,
    and the writer that commits finished files in store-sized batches."""

    def __init__(
        self, ingestor: Ingestor, report: RunReport, bar, manifest: Manifest, records: dict[str, FileRecord]
    ) -> None:
        self.ingestor = ingestor
        self.manifest = manifest
        self.records = records
        self.fingerprint = ingestor.embedder.fingerprint
        self.embed = ingestor.embed_stage
        self.report = report
        self.bar = bar
        self.files: deque[FileWork] = deque()
        self.queue: deque[tuple[FileWork, int]] = deque()
        self.writer = BatchWriter(
            store=ingestor.store, manifest=manifest, lexical=ingestor.lexical, tokenizer=ingestor.tokenizer,
            settings_fingerprint=ingestor.settings_fingerprint, report=report, batch_size=ingestor.store.batch_size,
        )

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
        previous = self.records.get(path_text(prepared.path))
        stored = self.ingestor._stored_ids(previous, prepared.chunks[0].doc_id)
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
        work = FileWork(prepared, previous, new, stored - current, vectors, missing=len(to_embed))
        self.files.append(work)
        self.queue.extend((work, index) for index in to_embed)
        while len(self.queue) >= self.embed.call_size:
            self._embed_next()
        self._write_finished()

    def finish(self, *, embed_rest: bool) -> None:
        """Embed what is queued (unless interrupted) and commit every finished file."""
        while embed_rest and self.queue:
            self._embed_next()
        self._write_finished()
        self.writer.flush()
        self._show_counts()

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

    def _embed_into(self, batch: list[tuple[FileWork, int]]) -> None:
        # Identical texts in one batch (boilerplate shared by files) are embedded once.
        texts = list(dict.fromkeys(work.new_chunks[index].text for work, index in batch))
        started = time.perf_counter()
        vectors = self.embed.run(texts)
        self.writer.seconds["embed"] += time.perf_counter() - started
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
        """Hand files whose chunks all have vectors to the writer, in file order."""
        while self.files and self.files[0].missing == 0:
            work = self.files.popleft()
            if work.error is not None:
                self.report.add_error(path_text(work.prepared.path), ErrorCategory.EMBEDDING_FAILED.value, work.error)
            else:
                self.writer.add(work)
            self.bar.update(1)


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
