"""One collection's Retriever in a thread of its own, answering searches in small batches.

A Retriever keeps its BM25 index open, and a SQLite connection may only be used by the thread
that opened it; a model is too heavy to load once per request thread. So the Retriever is made
and used only in the worker's thread, and requests hand it their work through a queue.

Searches waiting together with the same ``k``, mode and filter are answered by one
``search_many`` call: their query vectors are computed together and Chroma looks them up in one
call, which costs about half as much per query as one call each (3.7 against 8.5 ms on the
samples store). A lone search is never held back to wait for company: the worker takes what is
queued when it becomes free, and no more.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from pipeline.errors import StoreError
from pipeline.query import Hit, Retriever

log = logging.getLogger(__name__)

T = TypeVar("T")

# The most searches answered by one call; more would make the first of them wait for the last.
MAX_BATCH = 16


@dataclass(frozen=True)
class _Search:
    query: str
    k: int
    mode: str | None
    where: dict[str, Any] | None
    future: Future[list[Hit]]

    @property
    def key(self) -> tuple[int, str | None, str]:
        return self.k, self.mode, json.dumps(self.where, sort_keys=True)


@dataclass(frozen=True)
class _Task:
    work: Callable[[Retriever], Any]
    future: Future[Any]


class CollectionWorker:
    """Runs searches and other work on one collection's Retriever, in the worker's own thread."""

    def __init__(
        self, name: str, make: Callable[[], Retriever], *,
        map_error: Callable[[Exception, dict[str, Any] | None], Exception] = lambda error, where: error,
    ) -> None:
        """``make`` opens the Retriever (in the worker's thread); ``map_error`` turns what a search
        with a filter raised into what its caller should see (Chroma's refusal of the filter, say)."""
        self.name = name
        self._make = make
        self._map_error = map_error
        self._retriever: Retriever | None = None
        self._closed = False
        self._queue: queue.SimpleQueue[_Search | _Task | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=f"search-{name}", daemon=True)
        self._thread.start()

    def search(self, query: str, *, k: int, mode: str | None, where: dict[str, Any] | None) -> Future[list[Hit]]:
        future: Future[list[Hit]] = Future()
        self._put(_Search(query, k, mode, where, future))
        return future

    def submit(self, work: Callable[[Retriever], T]) -> Future[T]:
        """Any other work on the Retriever (a file's chunks, warming up), run in turn."""
        future: Future[T] = Future()
        self._put(_Task(work, future))
        return future

    def close(self) -> None:
        """Stop after the work already queued; what comes later fails at once."""
        self._closed = True
        self._queue.put(None)

    def _put(self, item: _Search | _Task) -> None:
        if self._closed:
            item.future.set_exception(StoreError(f"the service of collection '{self.name}' is shutting down"))
            return
        self._queue.put(item)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                self._fail_pending()
                return
            batch = [item]
            while len(batch) < MAX_BATCH:
                try:
                    follower = self._queue.get_nowait()
                except queue.Empty:
                    break
                if follower is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(follower)
            groups: dict[tuple[int, str | None, str], list[_Search]] = {}
            for entry in batch:
                if isinstance(entry, _Task):
                    self._run_task(entry)
                else:
                    groups.setdefault(entry.key, []).append(entry)
            for searches in groups.values():
                self._run_searches(searches)

    def _fail_pending(self) -> None:
        """Fail what slipped into the queue behind the stop, so no caller waits for ever."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None and item.future.set_running_or_notify_cancel():
                item.future.set_exception(StoreError(f"the service of collection '{self.name}' is shutting down"))

    def _retriever_now(self) -> Retriever:
        if self._retriever is None:
            self._retriever = self._make()
        return self._retriever

    def _failed(self, error: Exception) -> None:
        if isinstance(error, StoreError):
            # The collection may have been deleted and built again by now: open it afresh next time.
            self._retriever = None

    def _run_task(self, task: _Task) -> None:
        if not task.future.set_running_or_notify_cancel():
            return
        try:
            task.future.set_result(task.work(self._retriever_now()))
        except Exception as error:  # noqa: BLE001 - handed to the caller, who raises it
            self._failed(error)
            task.future.set_exception(error)

    def _run_searches(self, searches: list[_Search]) -> None:
        searches = [search for search in searches if search.future.set_running_or_notify_cancel()]
        if not searches:
            return
        try:
            found = self._search_many(searches)
        except Exception as error:  # noqa: BLE001 - handed to the callers; one bad query must not fail the others
            self._failed(error)
            if len(searches) == 1:
                searches[0].future.set_exception(self._map_error(error, searches[0].where))
                return
            for search in searches:  # each alone, so each gets its own answer or its own error
                try:
                    (hits,) = self._search_many([search])
                except Exception as alone:  # noqa: BLE001 - as above
                    self._failed(alone)
                    search.future.set_exception(self._map_error(alone, search.where))
                else:
                    search.future.set_result(hits)
            return
        for search, hits in zip(searches, found):
            search.future.set_result(hits)

    def _search_many(self, searches: list[_Search]) -> list[list[Hit]]:
        first = searches[0]  # the group shares k, mode and filter
        return self._retriever_now().search_many(
            [search.query for search in searches], k=first.k, where=first.where, mode=first.mode
        )
