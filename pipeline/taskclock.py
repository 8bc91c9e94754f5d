"""How long a parse task has really been working, told by the worker to the main process.

A file's time limit (``walk.file_timeout_s``) is meant for parsing that hangs. OCR is slow
by nature: a 300-page scan needs several seconds a page, far more than any limit that would
still catch a hung parser soon. So OCR time has a budget of its own: the seconds spent
recognising pages do not count against the file's limit, and each page may take at most
``walk.ocr_page_timeout_s``. A long scan that keeps finishing pages runs to its end; a
worker stuck in one page, or stuck outside OCR, is still stopped.

Each task gets a slot of three numbers in shared memory, written by its worker and read by
the main process: when the task started, the OCR seconds of the pages it has finished, and
when the page now in OCR started (0 when none is).
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
from concurrent.futures import Future, TimeoutError
from typing import Any, TypeVar

R = TypeVar("R")

# Slots are handed out in turn; a slot is only reused after this many later tasks, far more
# than can be in flight (prefetch_files times the parts of one PDF).
SLOTS = 1 << 14
_POLL_S = 0.5


class ParseTimeout(Exception):
    """The task went over its time, with a message that says which limit it crossed."""


class TaskClocks:
    """The shared slots of one worker pool; created before the workers, which inherit them."""

    def __init__(self, context: multiprocessing.context.BaseContext) -> None:
        self.values: Any = context.Array("d", 3 * SLOTS, lock=False)
        self._next = itertools.count()

    def new_slot(self) -> int:
        slot = next(self._next) % SLOTS
        self.values[3 * slot : 3 * slot + 3] = [0.0, 0.0, 0.0]
        return slot

    def wait(self, future: Future[R], slot: int, timeout_s: float | None, page_timeout_s: float | None) -> R:
        """The task's result, or :class:`ParseTimeout` once it has parsed, outside OCR, for more
        than ``timeout_s`` or spent more than ``page_timeout_s`` on one OCR page."""
        if timeout_s is None:
            return future.result()
        waiting_since = time.monotonic()
        while True:
            try:
                return future.result(timeout=_POLL_S)
            except TimeoutError:
                pass
            started, ocr_done, page_started = self.values[3 * slot : 3 * slot + 3]
            now = time.monotonic()
            # A task not yet started waits behind others; the limit still runs, so that a pool
            # whose workers are all stuck on other files is found out too.
            elapsed = now - (started or waiting_since)
            in_page = now - page_started if page_started else 0.0
            if page_timeout_s is not None and in_page > page_timeout_s:
                raise ParseTimeout(f"OCR of one page took longer than {page_timeout_s:g} s (walk.ocr_page_timeout_s)")
            if elapsed - ocr_done - in_page > timeout_s:
                raise ParseTimeout(f"parsing took longer than {timeout_s:g} s (walk.file_timeout_s; OCR time not counted)")


class WorkerClock:
    """The worker's side of one slot; also the OCR listener (see connectors.ocr.set_listener)."""

    def __init__(self, values: Any, slot: int) -> None:
        self.values, self.base = values, 3 * slot
        self.values[self.base] = time.monotonic()

    def page_started(self) -> None:
        self.values[self.base + 2] = time.monotonic()

    def page_done(self, seconds: float) -> None:
        self.values[self.base + 1] += seconds
        self.values[self.base + 2] = 0.0
