"""How long a parse task has really been working, told by the worker to the main process.

A file's time limit (``walk.file_timeout_s``) is meant for parsing that hangs. OCR is slow
by nature: a 300-page scan needs several seconds a page, far more than any limit that would
still catch a hung parser soon. So OCR time has a budget of its own: the seconds spent
recognising pages do not count against the file's limit, and each page may take at most
``walk.ocr_page_timeout_s``. A long scan that keeps finishing pages runs to its end; a
worker stuck in one page, or stuck outside OCR, is still stopped.

The limit is the file's, not a task's: a large PDF read by several workers, a range of pages
each, has one budget for all its parts together, so a page tree that lists one page a hundred
thousand times cannot run for minutes in parts that each stay under the limit.

Each task gets a slot of four numbers in shared memory, written by its worker and read by
the main process: when the task started, the OCR seconds of the pages it has finished, when
the page now in OCR started (0 when none is), and when the task ended (0 while it runs).
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
from concurrent.futures import ALL_COMPLETED, Future, wait
from typing import Any, TypeVar

R = TypeVar("R")

# Slots are handed out in turn; a slot is only reused after this many later tasks, far more
# than can be in flight (prefetch_files times the parts of one PDF).
SLOTS = 1 << 14
_POLL_S = 0.5


class ParseTimeout(Exception):
    """The task went over its time, with a message that says which limit it crossed."""


_FIELDS = 4


class TaskClocks:
    """The shared slots of one worker pool; created before the workers, which inherit them."""

    def __init__(self, context: multiprocessing.context.BaseContext) -> None:
        self.values: Any = context.Array("d", _FIELDS * SLOTS, lock=False)
        self._next = itertools.count()

    def new_slot(self) -> int:
        slot = next(self._next) % SLOTS
        self.values[_FIELDS * slot : _FIELDS * slot + _FIELDS] = [0.0] * _FIELDS
        return slot

    def wait(self, future: Future[R], slot: int, timeout_s: float | None, page_timeout_s: float | None) -> R:
        """One task's result, under the limits of :meth:`wait_all`."""
        return self.wait_all([(future, slot)], timeout_s, page_timeout_s)[0]

    def wait_all(
        self, tasks: list[tuple[Future[R], int]], timeout_s: float | None, page_timeout_s: float | None
    ) -> list[R]:
        """The results of one file's tasks, or :class:`ParseTimeout` once they have parsed, outside
        OCR and all together, for more than ``timeout_s``, or one spent more than ``page_timeout_s``
        on one OCR page."""
        futures = [future for future, _ in tasks]
        if timeout_s is None:
            return [future.result() for future in futures]
        waiting_since = time.monotonic()
        while True:
            _, running = wait(futures, timeout=_POLL_S, return_when=ALL_COMPLETED)
            if not running:
                return [future.result() for future in futures]
            self._check([slot for _, slot in tasks], time.monotonic() - waiting_since, timeout_s, page_timeout_s)

    def _check(self, slots: list[int], waited: float, timeout_s: float, page_timeout_s: float | None) -> None:
        now = time.monotonic()
        parsed, any_started = 0.0, False
        for slot in slots:
            started, ocr_done, page_started, ended = self.values[_FIELDS * slot : _FIELDS * slot + _FIELDS]
            if not started:
                continue
            any_started = True
            in_page = now - page_started if page_started else 0.0
            if page_timeout_s is not None and in_page > page_timeout_s:
                raise ParseTimeout(f"OCR of one page took longer than {page_timeout_s:g} s (walk.ocr_page_timeout_s)")
            parsed += (ended or now) - started - ocr_done - in_page
        # Tasks not yet started wait behind others; the limit still runs, so that a pool whose
        # workers are all stuck on other files is found out too.
        if (parsed if any_started else waited) > timeout_s:
            raise ParseTimeout(f"parsing took longer than {timeout_s:g} s (walk.file_timeout_s; OCR time not counted)")


class WorkerClock:
    """The worker's side of one slot; also the OCR listener (see connectors.ocr.set_listener)."""

    def __init__(self, values: Any, slot: int) -> None:
        self.values, self.base = values, _FIELDS * slot
        self.values[self.base] = time.monotonic()

    def task_ended(self) -> None:
        self.values[self.base + 3] = time.monotonic()

    def page_started(self) -> None:
        self.values[self.base + 2] = time.monotonic()

    def page_done(self, seconds: float) -> None:
        self.values[self.base + 1] += seconds
        self.values[self.base + 2] = 0.0
