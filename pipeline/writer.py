"""The write path: files whose chunks all have vectors, committed to the store in batches.

Writing file by file cost more than everything else in the line: one Chroma upsert of about
five chunks takes 26 ms, and a batch of a thousand takes well under a second. So finished files
wait here until their new chunks fill a store batch, and are then committed together:

1. every file's manifest row is set to ``writing`` (one transaction);
2. their new chunks go to Chroma (one upsert per store batch);
3. the lexical index gets exactly their current chunks (one transaction);
4. the chunks they no longer have are deleted from Chroma (one call);
5. the rows are set to ``done`` (one transaction).

A crash between any two steps leaves the batch's rows not ``done``, so the next run processes
those files again, finds what the store already holds with :meth:`ChromaStore.ids_for_doc`,
and finishes the job. At every moment each chunk in the store belongs to a row not ``done``
or to a ``done`` row that lists it, and after any crash and a re-run the lexical index equals
the store.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from pipeline.manifest import FileRecord, Manifest
from pipeline.paths import path_text
from pipeline.preparer import PreparedFile
from pipeline.records import Chunk, RunReport
from pipeline.retrieval.lexical import IndexedChunk, LexicalIndex
from pipeline.retrieval.tokens import Tokenizer
from pipeline.store import ChromaStore


@dataclass(eq=False)  # compared and hashed by identity: one per file in flight
class FileWork:
    """A file waiting for vectors: only chunks the store does not already hold are embedded."""

    prepared: PreparedFile
    previous: FileRecord | None
    new_chunks: list[Chunk]
    stale_ids: set[str]
    vectors: np.ndarray
    missing: int
    error: str | None = None


class BatchWriter:
    """Collects finished files and commits them together once their new chunks fill a store batch."""

    def __init__(
        self,
        *,
        store: ChromaStore,
        manifest: Manifest,
        lexical: LexicalIndex,
        tokenizer: Tokenizer,
        settings_fingerprint: str,
        report: RunReport,
        batch_size: int,
    ) -> None:
        self.store = store
        self.manifest = manifest
        self.lexical = lexical
        self.tokenizer = tokenizer
        self.settings_fingerprint = settings_fingerprint
        self.report = report
        self.batch_size = max(1, batch_size)
        self.pending: list[FileWork] = []
        self.pending_chunks = 0
        self.batches = 0
        # Seconds per step over the run, for the benchmarks: which write costs what.
        self.seconds: Counter[str] = Counter()

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
        """Commit every pending file (the five steps of the module docstring)."""
        if not self.pending:
            return
        files, self.pending, self.pending_chunks = self.pending, [], 0
        clock = time.perf_counter()

        def lap(step: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            self.seconds[step] += now - clock
            clock = now

        records = [self._record(work) for work in files]
        self.manifest.put_many(records)
        lap("manifest")
        chunks = [chunk for work in files for chunk in work.new_chunks]
        if chunks:
            self.store.upsert(chunks, np.concatenate([work.vectors for work in files if work.new_chunks]))
        lap("upsert")
        self.lexical.replace_docs({record.doc_id: _indexed(work.prepared, self.tokenizer)
                                   for record, work in zip(records, files)})
        lap("lexical")
        self.report.chunks_deleted += self.store.delete([i for work in files for i in work.stale_ids])
        lap("delete")
        self.manifest.put_many([replace(record, state="done") for record in records])
        lap("manifest")
        self.batches += 1
        self.report.chunks_added += len(chunks)
        self.report.files_ingested += len(files)
        self.report.files_updated += sum(work.previous is not None for work in files)

    def _record(self, work: FileWork) -> FileRecord:
        prepared = work.prepared
        identity = prepared.identity
        assert identity is not None  # set for every file that has chunks
        return FileRecord(
            path=path_text(prepared.path), size=identity.size, mtime_ns=identity.mtime_ns,
            content_hash=identity.content_hash, doc_id=prepared.chunks[0].doc_id,
            chunk_ids=tuple(chunk.id for chunk in prepared.chunks), settings=self.settings_fingerprint,
            state="writing",
        )


def _indexed(prepared: PreparedFile, tokenizer: Tokenizer) -> list[IndexedChunk]:
    """The file's chunks for the lexical index, with the term counts the worker made."""
    terms = prepared.terms or [tokenizer.term_counts(chunk.text) for chunk in prepared.chunks]
    return [IndexedChunk(chunk.id, chunk.doc_id, counts) for chunk, counts in zip(prepared.chunks, terms)]
