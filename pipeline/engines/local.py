"""The local engine: worker processes parse a window of files ahead while this process embeds.

Chunks of several files are embedded together in full model calls; a file goes to the writer
only once all of its chunks have vectors, so a failure never leaves a file half-written, and
finished files are written together in store-sized batches (:mod:`pipeline.steps.write`).
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

from pipeline.config import WalkSettings
from pipeline.engines.base import Job
from pipeline.engines.pool import prepare_all
from pipeline.records import FileError, FileWork, PreparedFile
from pipeline.steps.embed import embed_by_file
from pipeline.steps.write import BatchWriter


class LocalEngine:
    """Parse in a process pool (``walk.prepare_workers``), embed and write in this process."""

    def __init__(self, walk: WalkSettings) -> None:
        self.walk = walk

    def execute(self, todo: list[Path | FileError], job: Job) -> None:
        if not todo:
            return
        collection = job.collection
        job.commit.start()
        # Forked workers inherit the loaded dictionary instead of each loading it on the clock.
        collection.tokenizer.warm_up()
        walk = self.walk
        bar = _progress_bar(len(todo), enabled=job.progress)
        run = _Run(job, bar)
        prepared_files = prepare_all(
            collection.preparer, todo, window=walk.prefetch_files, workers=walk.prepare_workers,
            timeout_s=walk.file_timeout_s, memory_mb=walk.parse_memory_mb, pdf_pages_per_task=walk.pdf_pages_per_task,
            ocr_page_timeout_s=walk.ocr_page_timeout_s,
        )
        try:
            for prepared in prepared_files:
                run.add(prepared)
                if job.stop.is_set():
                    job.report.interrupted = True
                    break
            run.finish(embed_rest=not job.report.interrupted)
        finally:
            prepared_files.close()
            bar.close()


class _Run:
    """Files waiting for vectors, the chunks queued for the next model call, and the writer."""

    def __init__(self, job: Job, bar) -> None:
        self.job = job
        self.commit = job.commit
        self.report = job.report
        self.embed = job.collection.embed_stage
        self.bar = bar
        self.files: deque[FileWork] = deque()
        self.queue: deque[tuple[FileWork, int]] = deque()
        store = job.collection.store
        self.writer = BatchWriter(store=store, commit=job.commit, batch_size=store.batch_size)

    def add(self, prepared: PreparedFile) -> None:
        work = self.commit.work_for(prepared)
        if work is None:
            self.bar.update(1)
            return
        self.files.append(work)
        self.queue.extend((work, index) for index in work.to_embed)
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
        started = time.perf_counter()
        vectors, errors = embed_by_file(self.embed, [(work, work.new_chunks[index].text) for work, index in batch])
        self.report.add_seconds("embed", time.perf_counter() - started)
        self.report.chunks_embedded += len(vectors)
        self.commit.cache_vectors({work.new_chunks[i].hash: vectors[work.new_chunks[i].text]
                                   for work, i in batch if work.new_chunks[i].text in vectors})
        for work in dict.fromkeys(work for work, _ in batch):
            if work in errors:
                work.error, work.missing = errors[work], 0
        for work, index in batch:
            if work.error is None:
                work.vectors[index] = vectors[work.new_chunks[index].text]
                work.missing -= 1
        # A large file can take minutes; the chunk count shows the run is moving.
        self._show_counts()

    def _show_counts(self, refresh: bool = True) -> None:
        self.bar.set_postfix(embedded=self.report.chunks_embedded, stored=self.report.chunks_added, refresh=refresh)

    def _write_finished(self) -> None:
        """Hand files whose chunks all have vectors to the writer, in file order."""
        while self.files and self.files[0].missing == 0:
            work = self.files.popleft()
            if work.error is not None:
                self.commit.finish([work])  # reported; nothing of it was written
            else:
                self.writer.add(work)
            self.bar.update(1)


def _progress_bar(total: int, *, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="file", disable=not enabled, dynamic_ncols=True, desc="ingest")
