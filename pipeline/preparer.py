"""Reading and chunking files ahead of the embedder, in worker processes.

Parsing is pure Python (pypdf, python-docx); run in a thread it would hold the GIL the
model needs between its tensor operations, and slow the model down more than it saves.
Separate processes overlap the two for real. Results come back in file order.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TypeVar

from connectors import ConnectorError, ErrorCategory, ReadOptions, read_document
from pipeline.config import ChunkingSettings, CleaningSettings
from pipeline.prepare import Chunker, clean_sections
from pipeline.records import Chunk, FileError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class PreparedFile:
    """A file read and chunked, or the reason it could not be."""

    path: Path
    chunks: list[Chunk] = field(default_factory=list)
    pages_without_text: int = 0
    error: FileError | None = None


@dataclass(frozen=True)
class FilePreparer:
    """Everything needed to turn a path into chunks; picklable, so it can travel to a worker."""

    read_options: ReadOptions
    cleaning: CleaningSettings
    chunking: ChunkingSettings
    count_tokens: Callable[[str], int]
    max_tokens: int

    def chunker(self) -> Chunker:
        return Chunker(count_tokens=self.count_tokens, max_tokens=self.max_tokens, settings=self.chunking)

    def prepare(self, entry: Path | FileError, chunker: Chunker | None = None) -> PreparedFile:
        """Read, clean and chunk one file; any failure becomes a categorised error."""
        if isinstance(entry, FileError):
            return PreparedFile(Path(entry.path), error=entry)
        path = entry
        try:
            document = read_document(path, self.read_options)
            sections = clean_sections(document, self.cleaning)
            chunks = (chunker or self.chunker()).chunk(document, sections)
        except ConnectorError as error:
            return PreparedFile(path, error=FileError(str(path), error.category.value, error.message))
        except Exception as error:  # noqa: BLE001 - parsers raise anything on hostile input
            log.debug("unexpected error reading %s", path, exc_info=True)
            message = f"parser failed: {type(error).__name__}: {error}"
            return PreparedFile(path, error=FileError(str(path), ErrorCategory.CORRUPT.value, message))
        if not chunks:
            message = "no chunk with content after cleaning (only whitespace, symbols or repeated lines)"
            return PreparedFile(path, error=FileError(str(path), ErrorCategory.EMPTY.value, message))
        return PreparedFile(path, chunks=chunks, pages_without_text=document.pages_without_text)


# The worker process's preparer and chunker, built once by the pool's initializer.
_worker: tuple[FilePreparer, Chunker] | None = None


def _init_worker(preparer: FilePreparer) -> None:
    global _worker
    # The model keeps every core busy; parsing at the lowest priority takes only what it
    # leaves, instead of stalling the model's threads at their synchronisation points.
    # When the model waits for files, all workers parse at full speed.
    os.nice(19)
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    _worker = (preparer, preparer.chunker())


def _prepare_in_worker(entry: Path | FileError) -> PreparedFile:
    assert _worker is not None, "worker not initialised"
    preparer, chunker = _worker
    return preparer.prepare(entry, chunker)


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


def prepare_all(
    preparer: FilePreparer,
    entries: Iterable[Path | FileError],
    *,
    window: int,
    workers: int,
) -> Iterator[PreparedFile]:
    """Prepared files in order; ``workers`` processes parse ahead (0: a thread, for small runs)."""
    if workers == 0:
        chunker = preparer.chunker()
        executor: Executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare")
        func: Callable[[Path | FileError], PreparedFile] = lambda entry: preparer.prepare(entry, chunker)  # noqa: E731
    else:
        executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=_worker_context(),
            initializer=_init_worker,
            initargs=(preparer,),
        )
        func = _prepare_in_worker
    try:
        yield from prefetch(func, entries, window, executor)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
