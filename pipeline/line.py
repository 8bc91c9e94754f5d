"""The frame of every ingest run, whichever engine does the work:

    lock + local state ─► plan (walk, manifest) ─► engine: parse ─► embed ─► write, each write
    bracketed by commit.begin / commit.finish ─► remember lasting failures ─► prune files gone
    (never after an interrupted run) ─► errors file ─► report

Sync in short: a file whose size, time (or content) and settings are unchanged is skipped
unread; a changed file gets its new chunks written before its old ones are deleted; a file
gone from an ingested folder has its chunks deleted (only under the folders of this run).
Vectors are cached by (model fingerprint, chunk hash), so moved files and repeated text are not
embedded again. Ctrl-C stops after the current batch; what was written is whole.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.collection import Collection
from pipeline.engines import Engine, Job
from pipeline.records import RunReport
from pipeline.state import LocalState
from pipeline.steps.commit import Commit
from pipeline.steps.plan import plan_run

log = logging.getLogger(__name__)


def run_line(
    collection: Collection,
    paths: Iterable[str | os.PathLike[str]],
    engine: Engine,
    *,
    prune: bool = True,
    wait: bool = False,
    progress: bool = False,
    stop: threading.Event | None = None,
) -> RunReport:
    """Bring the collection in line with ``paths`` (see the module docstring).

    ``stop``: an event that, once set, ends the run as Ctrl-C does (for callers that run ingest
    in a thread, where signals cannot be caught).
    """
    started = time.perf_counter()
    report = RunReport(model=collection.model_name, collection=collection.name)
    roots = [Path(path).expanduser().resolve() for path in paths]
    if collection.settings.store.url:
        # An unreachable server fails the run before anything local is written. (A folder store
        # is opened only once some file has changed: an unchanged re-run never needs it.)
        collection.store.warm_up()
    with LocalState.open(collection.local_dir, collection.name, collection.open_lexical_for_writing, wait=wait) as state:
        plan = plan_run(roots, collection.settings.walk, state.manifest, collection.settings_fingerprint, report)
        commit = Commit(
            state=state, store=collection.store, tokenizer=collection.tokenizer, plan=plan,
            settings_fingerprint=collection.settings_fingerprint, model_fingerprint=collection.embedder.fingerprint,
            dimension=collection.embedder.dimension, max_tokens=collection.embedder.max_tokens, report=report,
        )
        with stop_requested(stop) as stop_event:
            engine.execute(plan.todo, Job(collection, commit, report, stop_event, progress))
            # However far the engine got, a stop asked for means the walk may be incomplete.
            report.interrupted = report.interrupted or stop_event.is_set()
        commit.flush_cache()
        commit.remember_failures()
        if prune and not report.interrupted:
            commit.prune()
        report.errors_file = state.write_errors(report.errors)
    report.seconds = time.perf_counter() - started
    log.info("model %s %s in this run", collection.model_name, "was loaded" if collection.model_loaded else "was not loaded")
    return report


@contextmanager
def stop_requested(stop: threading.Event | None = None) -> Iterator[threading.Event]:
    """The first Ctrl-C sets the event (the run stops after its current batch); a second one
    interrupts at once. Outside the main thread signals cannot be caught; nothing is installed."""
    stop = stop or threading.Event()
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
