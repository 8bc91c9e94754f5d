"""Write: files whose chunks all have vectors, upserted into the store in store-sized batches.

Writing file by file cost more than everything else in the line: one Chroma upsert of about
five chunks takes 26 ms, and a batch of a thousand takes well under a second. So finished files
wait here until their new chunks fill a store batch, and are then written together inside one
:class:`~pipeline.steps.commit.Commit` (rows ``writing``, upsert, index, stale deleted, rows ``done``).
"""

from __future__ import annotations

import time

import numpy as np

from pipeline.records import FileWork
from pipeline.steps.commit import Commit
from pipeline.stores import VectorStore


class BatchWriter:
    """Collects finished files and commits them together once their new chunks fill a store batch."""

    def __init__(self, *, store: VectorStore, commit: Commit, batch_size: int) -> None:
        self.store = store
        self.commit = commit
        self.batch_size = max(1, batch_size)
        self.pending: list[FileWork] = []
        self.pending_chunks = 0
        self.batches = 0

    def add(self, work: FileWork) -> None:
        # A file with nothing new still has a row to update; it counts as one so a batch ends.
        size = max(1, len(work.new_chunks))
        if self.pending and self.pending_chunks + size > self.batch_size:
            self.flush()  # keep each upsert within one store batch instead of spilling a few chunks over
        self.pending.append(work)
        self.pending_chunks += size
        if self.pending_chunks >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Commit every pending file."""
        if not self.pending:
            return
        files, self.pending, self.pending_chunks = self.pending, [], 0
        self.commit.begin(files)
        started = time.perf_counter()
        chunks = [chunk for work in files for chunk in work.new_chunks]
        if chunks:
            self.store.upsert(chunks, np.concatenate([work.vectors for work in files if work.new_chunks]))
        self.commit.report.add_seconds("upsert", time.perf_counter() - started)
        self.commit.finish(files)
        self.batches += 1
