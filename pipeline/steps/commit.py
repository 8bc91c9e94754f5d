"""Commit: the bookkeeping that keeps the store, the BM25 index and the manifest in step.

Every engine writes a group of files the same way:

1. :meth:`Commit.begin`: every file's manifest row is set to ``writing`` (one transaction);
2. the engine upserts their new chunks (locally, or from Ray's workers into a server);
3. :meth:`Commit.finish`: the lexical index gets exactly their current chunks (one
   transaction), the chunks they no longer have are deleted from the store (one call), and the
   rows are set to ``done`` (one transaction). A file that failed on the way has the chunks it
   wrote taken out again and its old row put back.

A crash between any two steps leaves the group's rows not ``done``, so the next run processes
those files again, finds what the store already holds, and finishes the job. At every moment
each chunk in the store belongs to a row not ``done`` or to a ``done`` row that lists it, and
after any crash and a re-run the lexical index equals the store.

Before that, :meth:`Commit.work_for` decides what of a prepared file needs a vector at all
(chunks the store holds are not embedded again; vectors in the embedding cache are reused), and
after the engine, the frame remembers lasting failures and prunes files gone from the folders.
"""

from __future__ import annotations

import time

import numpy as np

from connectors import ErrorCategory
from pipeline.paths import path_text
from pipeline.records import Failure, FileRecord, FileWork, PreparedFile, RunReport
from pipeline.retrieval.lexical import IndexedChunk
from pipeline.retrieval.tokens import Tokenizer
from pipeline.state import LocalState
from pipeline.steps.plan import Plan
from pipeline.stores import VectorStore

# Failures that reading the same bytes with the same settings gives again: such a file is not
# read again until it changes. Timeouts, memory limits and model failures may pass; they are retried.
LASTING_FAILURES = frozenset(
    category.value for category in (
        ErrorCategory.ENCRYPTED, ErrorCategory.NO_TEXT, ErrorCategory.CORRUPT, ErrorCategory.UNSUPPORTED,
        ErrorCategory.EMPTY,
    )
)


class Commit:
    """One run's writes to the store, the lexical index and the manifest (see the module docstring)."""

    def __init__(
        self,
        *,
        state: LocalState,
        store: VectorStore,
        tokenizer: Tokenizer,
        plan: Plan,
        settings_fingerprint: str,
        model_fingerprint: str,
        dimension: int,
        max_tokens: int,
        report: RunReport,
    ) -> None:
        self.state = state
        self.manifest = state.manifest
        self.lexical = state.lexical
        self.store = store
        self.tokenizer = tokenizer
        self.plan = plan
        self.settings_fingerprint = settings_fingerprint
        self.model_fingerprint = model_fingerprint
        self.dimension = dimension
        self.max_tokens = max_tokens
        self.report = report
        self._untracked_chunks: bool | None = None
        # Vectors the model made, kept until the next commit writes them with its rows: the cache
        # is an optimisation, so one sync to disk per store batch is enough, not one per model call.
        self._new_vectors: dict[str, np.ndarray] = {}

    # --- before the model ------------------------------------------------------------------

    def start(self) -> None:
        """Open the store before any file is parsed: one built with other settings stops the run
        here. (An unchanged re-run never gets this far, so it never opens the store.)"""
        self.store.warm_up()
        self._store_has_untracked_chunks()

    def work_for(self, prepared: PreparedFile) -> FileWork | None:
        """The file's work: its chunks the store lacks, with the cached vectors filled in. A file
        that could not be read is reported here and gives None."""
        report = self.report
        report.pages_without_text += prepared.pages_without_text
        report.pages_ocr += prepared.pages_ocr
        report.ocr_seconds += prepared.ocr_seconds
        report.pages_garbled += prepared.pages_garbled
        if prepared.error is not None:
            report.add_error(prepared.error.path, prepared.error.category, prepared.error.message)
            return None
        report.truncated_chunks += sum(1 for chunk in prepared.chunks if chunk.tokens > self.max_tokens)
        previous = self.plan.records.get(path_text(prepared.path))
        stored = self.stored_ids(previous, prepared.chunks[0].doc_id)
        new = [chunk for chunk in prepared.chunks if chunk.id not in stored]
        current = {chunk.id for chunk in prepared.chunks}
        vectors = np.zeros((len(new), self.dimension), dtype=np.float32)
        cached = self.manifest.cached_vectors(self.model_fingerprint, (chunk.hash for chunk in new))
        to_embed = []
        for index, chunk in enumerate(new):
            if chunk.hash in cached:
                vectors[index] = cached[chunk.hash]
            else:
                to_embed.append(index)
        report.chunks_reused += len(new) - len(to_embed)
        return FileWork(prepared, previous, new, stored - current, vectors, to_embed, missing=len(to_embed))

    def stored_ids(self, record: FileRecord | None, doc_id: str) -> set[str]:
        """The chunk ids the store holds for a file, without a store query per file where possible.

        A done row lists them all; a file without a row has none, since its row is written before
        any chunk (unless the manifest itself was lost: a store with chunks and no rows). Only a row
        left ``writing`` by an interrupted run needs the store asked.
        """
        if record is not None and record.state == "done":
            return set(record.chunk_ids)
        if record is None and not self._store_has_untracked_chunks():
            return set()
        return self.store.ids_for_doc(record.doc_id if record is not None else doc_id)

    def _store_has_untracked_chunks(self) -> bool:
        if self._untracked_chunks is None:
            self._untracked_chunks = not self.plan.records and not self.manifest.has_rows() and self.store.count() > 0
        return self._untracked_chunks

    def cache_vectors(self, vectors: dict[str, np.ndarray]) -> None:
        """Vectors the model made this run, by chunk hash, for moved files and repeated text; written
        with the next rows that are committed (or by :meth:`flush_cache`)."""
        self._new_vectors.update(vectors)

    def flush_cache(self) -> None:
        """Write the vectors not yet cached (the frame calls it at the end of the run)."""
        if self._new_vectors:
            self.manifest.cache_vectors(self.model_fingerprint, self._new_vectors)
            self._new_vectors = {}

    # --- around the engine's writes ---------------------------------------------------------

    def begin(self, works: list[FileWork]) -> None:
        """Step 1: the rows go to ``writing`` before any chunk of theirs reaches the store."""
        started = time.perf_counter()
        self.manifest.put_many(self._row(work, "writing") for work in works)
        for work in works:
            work.begun = True
        self.report.add_seconds("manifest", time.perf_counter() - started)

    def finish(self, works: list[FileWork]) -> None:
        """Step 3: index, delete what the files no longer have, rows ``done``; failed files undone."""
        for work in works:
            if work.error is not None:
                self._undo(work)
        works = [work for work in works if work.error is None]
        if not works:
            return
        clock = time.perf_counter()

        def lap(step: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            self.report.add_seconds(step, now - clock)
            clock = now

        self.lexical.replace_docs({work.prepared.chunks[0].doc_id: self._indexed(work) for work in works})
        lap("lexical")
        self.report.chunks_deleted += self.store.delete([i for work in works for i in work.stale_ids])
        lap("delete")
        vectors, self._new_vectors = self._new_vectors, {}
        self.manifest.put_many((self._row(work, "done") for work in works), cache=(self.model_fingerprint, vectors))
        lap("manifest")
        self.report.chunks_added += sum(len(work.new_chunks) for work in works)
        self.report.files_ingested += len(works)
        self.report.files_updated += sum(work.previous is not None for work in works)

    def _undo(self, work: FileWork) -> None:
        """A file that failed: reported, its new chunks out of the store, its old row back."""
        self.report.add_error(work.path, ErrorCategory.EMBEDDING_FAILED.value, work.error or "")
        if not work.begun:
            return
        self.store.delete(chunk.id for chunk in work.new_chunks)
        if work.previous is not None:
            self.manifest.put(work.previous)
        else:
            self.manifest.remove(work.path)

    def _row(self, work: FileWork, state: str) -> FileRecord:
        prepared = work.prepared
        identity = prepared.identity
        assert identity is not None  # set for every file that has chunks
        return FileRecord(
            path=work.path, size=identity.size, mtime_ns=identity.mtime_ns, content_hash=identity.content_hash,
            doc_id=prepared.chunks[0].doc_id, chunk_ids=tuple(chunk.id for chunk in prepared.chunks),
            settings=self.settings_fingerprint, state=state,
        )

    def _indexed(self, work: FileWork) -> list[IndexedChunk]:
        """The file's chunks for the lexical index, with the term counts its parser made."""
        prepared = work.prepared
        terms = prepared.terms or [self.tokenizer.term_counts(chunk.text) for chunk in prepared.chunks]
        return [IndexedChunk(chunk.id, chunk.doc_id, counts) for chunk, counts in zip(prepared.chunks, terms)]

    # --- after the engine -------------------------------------------------------------------

    def remember_failures(self) -> None:
        """Record this run's lasting failures; forget those of files that were read again and did
        not fail that way (a failure remembered and reported again is recorded again, unchanged)."""
        stats, failures = self.plan.stats, self.plan.failures
        lasting = [
            Failure(error.path, *stats[error.path], self.settings_fingerprint, error.category, error.message)
            for error in self.report.errors
            if error.path in stats and error.category in LASTING_FAILURES
        ]
        self.manifest.put_failures(lasting)
        failed = {failure.path for failure in lasting}
        self.manifest.remove_failures(path for path in stats if path in failures and path not in failed)

    def prune(self) -> None:
        """Delete what came from files no longer under the run's roots, and nothing else; forget
        the failures of files gone."""
        gone = self.plan.gone
        if gone:
            # Store, then index, then manifest: a crash in between leaves the rows, and the next run
            # deletes again. A row not done is asked of the store: it may have chunks it does not list.
            ids = [i for record in gone for i in self.stored_ids(record, record.doc_id)]
            self.report.chunks_deleted += self.store.delete(ids)
            self.lexical.delete_docs(record.doc_id for record in gone)
            self.manifest.remove_many(record.path for record in gone)
            self.report.files_removed += len(gone)
        seen = self.plan.seen
        self.manifest.remove_failures(path for path in self.plan.failures if path not in seen)
