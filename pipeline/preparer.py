"""Reading and chunking files ahead of the embedder, in worker processes.

Parsing is pure Python (pypdf, python-docx); run in a thread it would hold the GIL the
model needs between its tensor operations, and slow the model down more than it saves.
Separate processes overlap the two for real. Results come back in file order.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import multiprocessing
import os
import resource
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TypeVar

from connectors import ConnectorError, Document, ErrorCategory, ReadOptions, import_readers, ocr, read_document
from pipeline.config import ChunkingSettings, CleaningSettings
from pipeline.prepare import Chunker, clean_sections, import_text_libraries
from pipeline.paths import path_text
from pipeline.records import Chunk, FileError
from pipeline.retrieval.tokens import Tokenizer
from pipeline.taskclock import ParseTimeout, TaskClocks, WorkerClock

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class PreparedFile:
    """A file read and chunked, or the reason it could not be."""

    path: Path
    chunks: list[Chunk] = field(default_factory=list)
    # BM25 term counts of each chunk, made here so the main process only stores them.
    terms: list[dict[str, int]] = field(default_factory=list)
    pages_without_text: int = 0
    pages_ocr: int = 0
    ocr_seconds: float = 0.0
    error: FileError | None = None
    # The file as it was read, for the manifest: a later change shows up as a difference.
    identity: FileIdentity | None = None


@dataclass(frozen=True)
class FileIdentity:
    size: int
    mtime_ns: int
    content_hash: str

    @classmethod
    def of(cls, path: Path) -> FileIdentity:
        """Size and modification time, taken before the bytes are hashed: a file rewritten while
        it is read then shows a newer time than recorded and is read again next run."""
        stat = path.stat()
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return cls(stat.st_size, stat.st_mtime_ns, digest.hexdigest())


@dataclass(frozen=True)
class FilePreparer:
    """Everything needed to turn a path into chunks; picklable, so it can travel to a worker."""

    read_options: ReadOptions
    cleaning: CleaningSettings
    chunking: ChunkingSettings
    count_tokens: Callable[[str], int]
    max_tokens: int
    tokenizer: Tokenizer | None = None

    def chunker(self) -> Chunker:
        return Chunker(count_tokens=self.count_tokens, max_tokens=self.max_tokens, settings=self.chunking)

    def prepare(self, entry: Path | FileError, chunker: Chunker | None = None) -> PreparedFile:
        """Read, clean and chunk one file; any failure becomes a categorised error."""
        if isinstance(entry, FileError):
            return PreparedFile(Path(entry.path), error=entry)
        return self._prepare(entry, lambda: read_document(entry, self.read_options), chunker)

    def read_part(self, path: Path, pages: range) -> Document | FileError:
        """Some pages of a large PDF, read apart so several workers share one file."""
        from connectors.pdf import read_pdf  # pypdf is imported with the first PDF, not with the pipeline

        try:
            return read_pdf(path, self.read_options, pages)
        except ConnectorError as error:
            return FileError(path_text(path), error.category.value, error.message)
        except Exception as error:  # noqa: BLE001 - parsers raise anything on hostile input
            return _parser_failure(path, error)

    def prepare_parts(self, path: Path, parts: list[Document | FileError], chunker: Chunker | None = None) -> PreparedFile:
        """Clean and chunk a PDF from its parts, as :meth:`prepare` would have from the whole."""
        for part in parts:
            if isinstance(part, FileError):
                return PreparedFile(path, error=part)
        from connectors.pdf import merge_pdf_parts

        return self._prepare(path, lambda: merge_pdf_parts(path, parts), chunker)  # type: ignore[arg-type]

    def _prepare(self, path: Path, read: Callable[[], Document], chunker: Chunker | None) -> PreparedFile:
        try:
            identity = FileIdentity.of(path)
        except OSError as error:
            return PreparedFile(path, error=FileError(path_text(path), ErrorCategory.CORRUPT.value, f"cannot read file: {error}"))
        try:
            document = read()
            sections = clean_sections(document, self.cleaning)
            chunks = (chunker or self.chunker()).chunk(document, sections)
        except ConnectorError as error:
            return PreparedFile(path, error=FileError(path_text(path), error.category.value, error.message))
        except Exception as error:  # noqa: BLE001 - parsers raise anything on hostile input
            return PreparedFile(path, error=_parser_failure(path, error))
        if not chunks:
            message = "no chunk with content after cleaning (only whitespace, symbols or repeated lines)"
            return PreparedFile(path, error=FileError(path_text(path), ErrorCategory.EMPTY.value, message))
        terms = [self.tokenizer.term_counts(chunk.text) for chunk in chunks] if self.tokenizer else []
        return PreparedFile(
            path, chunks=chunks, terms=terms, pages_without_text=document.pages_without_text,
            pages_ocr=document.pages_ocr, ocr_seconds=document.ocr_seconds, identity=identity,
        )


def _parser_failure(path: Path, error: Exception) -> FileError:
    if isinstance(error, MemoryError):
        return FileError(path_text(path), ErrorCategory.TOO_LARGE.value, "needs more memory than walk.parse_memory_mb allows")
    log.debug("unexpected error reading %s", path, exc_info=True)
    return FileError(path_text(path), ErrorCategory.CORRUPT.value, f"parser failed: {type(error).__name__}: {error}")


# The worker process's preparer and chunker, built once by the pool's initializer, and the
# shared clock slots it reports each task's progress in.
_worker: tuple[FilePreparer, Chunker] | None = None
_clocks: object = None


_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this worker when the ingest process dies, even by SIGKILL.

    Otherwise a killed run leaves workers blocked on their queue for ever, holding the
    store's lock file they inherited.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: workers exit when their queue breaks
        return
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)


def _init_worker(preparer: FilePreparer, parent: int, memory_mb: float | None, clocks: object) -> None:
    global _worker, _clocks
    _die_with_parent(parent)
    if memory_mb:
        _limit_memory(memory_mb)
    # The model keeps every core busy; parsing at the lowest priority takes only what it
    # leaves, instead of stalling the model's threads at their synchronisation points.
    # When the model waits for files, all workers parse at full speed.
    os.nice(19)
    # Ctrl-C reaches the whole process group; the main process decides when to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    _worker, _clocks = (preparer, preparer.chunker()), clocks
    if preparer.tokenizer is not None:
        preparer.tokenizer.warm_up()  # jieba's dictionary takes a second or two: not a file's time


@contextmanager
def _task_clock(slot: int) -> Iterator[None]:
    """This task's clock, running while it works; OCR tells it about each page (see pipeline/taskclock.py)."""
    clock = WorkerClock(_clocks, slot)
    ocr.set_listener(clock)
    try:
        yield
    finally:
        clock.task_ended()


def _prepare_in_worker(entry: Path | FileError, slot: int) -> PreparedFile:
    assert _worker is not None, "worker not initialised"
    preparer, chunker = _worker
    with _task_clock(slot):
        return preparer.prepare(entry, chunker)


def _read_part_in_worker(path: Path, pages: range, slot: int) -> Document | FileError:
    assert _worker is not None, "worker not initialised"
    with _task_clock(slot):
        return _worker[0].read_part(path, pages)


def prefetch(
    func: Callable[[T], R],
    items: Iterable[T],
    window: int,
    executor: Executor,
) -> Iterator[R]:
    """``map(func, items)`` in order, computed by ``executor`` up to ``window`` items ahead."""
    iterator = iter(items)
    futures: deque[Future[R]] = deque(executor.submit(func, item) for item in islice(iterator, window))
    while futures:
        result = futures.popleft().result()
        for item in islice(iterator, 1):
            futures.append(executor.submit(func, item))
        yield result


def _worker_context() -> multiprocessing.context.BaseContext:
    """fork where the platform has it, else spawn.

    spawn re-runs the caller's main script in the worker, which breaks any script that
    calls ``ingest()`` without an ``if __name__ == "__main__"`` guard. A forked worker
    never touches the model or the store it inherits; it only parses and counts tokens.
    """
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _limit_memory(allowance_mb: float) -> None:
    """Cap this worker's address space at what it has now plus ``allowance_mb``: a file that
    needs more makes its parser raise MemoryError (reported as too_large) instead of
    dragging the machine into swap."""
    try:
        with open("/proc/self/statm") as statm:
            current = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return  # not Linux
    limit = current + int(allowance_mb * 1024 * 1024)
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))


def prepare_all(
    preparer: FilePreparer,
    entries: Iterable[Path | FileError],
    *,
    window: int,
    workers: int,
    timeout_s: float | None = None,
    ocr_page_timeout_s: float | None = None,
    memory_mb: float | None = None,
    pdf_pages_per_task: int | None = None,
) -> Iterator[PreparedFile]:
    """Prepared files in order; ``workers`` processes parse ahead (0: a thread, for small runs).

    With processes, a file that parses for longer than ``timeout_s`` (OCR not counted), or
    spends more than ``ocr_page_timeout_s`` on one OCR page, is reported as ``timeout`` and
    its worker killed; one whose worker dies (out of memory, a crash in native code) is
    reported too, and the run goes on with a fresh pool. A PDF of more than
    ``pdf_pages_per_task`` pages is read by several workers, a range of pages each, and
    cleaned and chunked here once its parts are in.
    """
    # Imported here, before the workers fork, so that they inherit the parsers (a second or more
    # of imports) instead of each importing them while the first file's clock runs.
    import_readers()
    import_text_libraries()
    if workers == 0:
        chunker = preparer.chunker()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare") as executor:
            yield from prefetch(lambda entry: preparer.prepare(entry, chunker), entries, window, executor)
        return
    pool = _GuardedPool(preparer, workers, memory_mb, pdf_pages_per_task)
    main_chunker: Chunker | None = None
    try:
        iterator = iter(entries)
        pending: deque[tuple[Path | FileError, list[tuple[Future, int]]]] = deque(
            (entry, pool.submit(entry)) for entry in islice(iterator, window)
        )
        while pending:
            entry, tasks = pending.popleft()
            try:
                # One limit for the whole file, however many workers share its pages.
                parts = pool.clocks.wait_all(tasks, timeout_s, ocr_page_timeout_s)
                if len(parts) == 1 and isinstance(parts[0], PreparedFile):
                    result = parts[0]
                else:
                    main_chunker = main_chunker or preparer.chunker()
                    result = preparer.prepare_parts(Path(str(entry)), parts, main_chunker)
            except ParseTimeout as timeout:
                result = _failed(entry, ErrorCategory.TIMEOUT, str(timeout))
                pending = pool.restart(pending)
            except BrokenProcessPool:
                result = _failed(entry, ErrorCategory.CORRUPT, "the parser process died on this file (out of memory or a crash)")
                pending = pool.restart(pending)
            for item in islice(iterator, 1):
                pending.append((item, pool.submit(item)))
            yield result
    finally:
        pool.shutdown()


def _failed(entry: Path | FileError, category: ErrorCategory, message: str) -> PreparedFile:
    path = Path(entry.path) if isinstance(entry, FileError) else entry
    return PreparedFile(path, error=FileError(path_text(path), category.value, message))


class _GuardedPool:
    """A process pool that can be killed and replaced when one of its files hangs."""

    def __init__(
        self, preparer: FilePreparer, workers: int, memory_mb: float | None, pdf_pages_per_task: int | None
    ) -> None:
        self.preparer, self.workers, self.memory_mb = preparer, workers, memory_mb
        self.pdf_pages_per_task = pdf_pages_per_task if workers > 1 else None
        self.executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        context = _worker_context()
        self.clocks = TaskClocks(context)
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(self.preparer, os.getpid(), self.memory_mb, self.clocks.values),
        )

    def submit(self, entry: Path | FileError) -> list[tuple[Future, int]]:
        """One task for the file, or one per page range for a large PDF, each with its clock slot."""
        try:
            ranges = self._page_ranges(entry)
        except Exception:  # noqa: BLE001 - planning runs in the main process; the reader will say what is wrong
            log.debug("cannot plan page ranges of %s", entry, exc_info=True)
            ranges = []
        if not ranges:
            slot = self.clocks.new_slot()
            return [(self.executor.submit(_prepare_in_worker, entry, slot), slot)]
        tasks = []
        for pages in ranges:
            slot = self.clocks.new_slot()
            tasks.append((self.executor.submit(_read_part_in_worker, entry, pages, slot), slot))
        return tasks

    def _page_ranges(self, entry: Path | FileError) -> list[range]:
        per_task = self.pdf_pages_per_task
        if not per_task or isinstance(entry, FileError) or entry.suffix.lower() != ".pdf":
            return []
        try:
            # Opening a PDF costs a little; one under about 2 KB a page cannot have that many.
            if entry.stat().st_size < per_task * 2048:
                return []
        except OSError:
            return []
        from connectors.pdf import pdf_page_count

        count = pdf_page_count(entry, self.preparer.read_options)
        # Too many pages: one task, whose reader refuses it (too_large) under the time limit.
        if count <= per_task or count > self.preparer.read_options.max_pages:
            return []
        return [range(start, min(start + per_task, count)) for start in range(0, count, per_task)]

    def restart(self, pending: deque) -> deque:
        """Kill every worker (one is stuck) and resubmit the files still waiting."""
        for process in list(getattr(self.executor, "_processes", {}).values()):
            process.kill()
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.executor = self._start()
        return deque((entry, self.submit(entry)) for entry, _ in pending)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
