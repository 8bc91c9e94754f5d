"""The local engine's parse workers: files read and chunked in processes, a window ahead.

Parsing is pure Python (pypdf, python-docx); run in a thread it would hold the GIL the
model needs between its tensor operations, and slow the model down more than it saves.
Separate processes overlap the two for real. Results come back in file order. Each file has
one time budget (OCR pages apart), a memory cap, and a worker that dies with its parent.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import resource
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import TypeVar

from connectors import Document, ErrorCategory, import_readers, ocr
from pipeline.engines.taskclock import ParseTimeout, TaskClocks, WorkerClock
from pipeline.paths import path_text
from pipeline.records import FileError, PreparedFile
from pipeline.steps.chunk import Chunker
from pipeline.steps.clean import import_text_libraries
from pipeline.steps.parse import FilePreparer

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


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
