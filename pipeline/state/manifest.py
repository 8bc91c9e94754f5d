"""What was ingested from where, in SQLite beside the store; plus the embedding cache.

One row per (collection, file): size, modification time, content hash, the chunk ids the
file has in the store, and the fingerprint of the model and settings that made them. A row
is written in state ``writing`` *before* the store is touched and set to ``done`` after, so
after a crash every chunk in the store belongs to a row, and a row not ``done`` is simply
processed again. The ingest line writes many files' rows in one transaction (``put_many``):
the database is synced to disk on every commit, and one commit per file would cost more than
the file's own work.

Files that failed for a reason that will not change by itself (corrupt, encrypted, no text...)
are remembered with their size, time and settings, so an unchanged re-run reports them again
without parsing them again (an OCR'd scan can take longer than everything else in the run).

The embedding cache maps (model fingerprint, chunk content hash) to a vector, so a moved or
renamed file, or a paragraph repeated in another file, is never embedded twice.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.records import Failure, FileRecord

MANIFEST_NAME = "ingest-manifest.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    collection TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    chunk_ids TEXT NOT NULL,
    settings TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('writing', 'done')),
    PRIMARY KEY (collection, path)
);
CREATE TABLE IF NOT EXISTS failures (
    collection TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    settings TEXT NOT NULL,
    category TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (collection, path)
);
CREATE TABLE IF NOT EXISTS embeddings (
    fingerprint TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (fingerprint, content_hash)
);
"""


class Manifest:
    """The SQLite manifest of one store folder; every write is its own transaction."""

    def __init__(self, folder: Path, collection: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / MANIFEST_NAME
        self.collection = collection
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def _select(self, condition: str, parameters: tuple) -> list[FileRecord]:
        rows = self._db.execute(
            "SELECT path, size, mtime_ns, content_hash, doc_id, chunk_ids, settings, state FROM files "
            f"WHERE collection = ?{condition}",
            (self.collection, *parameters),
        )
        return [_record(row) for row in rows.fetchall()]

    def get(self, path: str) -> FileRecord | None:
        found = self._select(" AND path = ?", (path,))
        return found[0] if found else None

    def under(self, root: str) -> list[FileRecord]:
        """Records of files at ``root`` or anywhere below it."""
        prefix = root.rstrip("/") + "/"
        return self._select(" AND (path = ? OR substr(path, 1, ?) = ?)", (root, len(prefix), prefix))

    def has_rows(self) -> bool:
        """Whether any file of this collection is recorded."""
        return self._db.execute("SELECT 1 FROM files WHERE collection = ? LIMIT 1", (self.collection,)).fetchone() is not None

    def all_records(self) -> list[FileRecord]:
        return self._select("", ())

    def records_under(self, roots: Iterable[str]) -> dict[str, FileRecord]:
        """path -> record for every file under any of ``roots`` (one query per root)."""
        return {record.path: record for root in roots for record in self.under(root)}

    def put(self, record: FileRecord) -> None:
        self.put_many([record])

    def put_many(self, records: Iterable[FileRecord], *, cache: tuple[str, dict[str, np.ndarray]] | None = None) -> None:
        """Insert or replace rows, all in one transaction: after a crash either all are there or none.

        ``cache``: (model fingerprint, vectors by chunk hash) to add to the embedding cache in the
        same transaction; one sync to disk for both.
        """
        with self._db:
            if cache:
                self._put_vectors(*cache)
            self._db.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        self.collection, record.path, record.size, record.mtime_ns, record.content_hash,
                        record.doc_id, json.dumps(list(record.chunk_ids)), record.settings, record.state,
                    )
                    for record in records
                ],
            )

    def remove(self, path: str) -> None:
        self.remove_many([path])

    def remove_many(self, paths: Iterable[str]) -> None:
        with self._db:
            self._db.executemany(
                "DELETE FROM files WHERE collection = ? AND path = ?", [(self.collection, path) for path in paths]
            )

    def failures_under(self, roots: Iterable[str]) -> dict[str, Failure]:
        """path -> remembered failure, for files under any of ``roots``."""
        found: dict[str, Failure] = {}
        for root in roots:
            prefix = root.rstrip("/") + "/"
            rows = self._db.execute(
                "SELECT path, size, mtime_ns, settings, category, message FROM failures "
                "WHERE collection = ? AND (path = ? OR substr(path, 1, ?) = ?)",
                (self.collection, root, len(prefix), prefix),
            )
            found.update((row[0], Failure(*row)) for row in rows.fetchall())
        return found

    def put_failures(self, failures: Iterable[Failure]) -> None:
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(self.collection, f.path, f.size, f.mtime_ns, f.settings, f.category, f.message) for f in failures],
            )

    def remove_failures(self, paths: Iterable[str]) -> None:
        with self._db:
            self._db.executemany(
                "DELETE FROM failures WHERE collection = ? AND path = ?", [(self.collection, path) for path in paths]
            )

    def cached_vectors(self, fingerprint: str, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        wanted = list(dict.fromkeys(hashes))
        for start in range(0, len(wanted), 500):  # SQLite's limit on bound variables
            part = wanted[start : start + 500]
            rows = self._db.execute(
                f"SELECT content_hash, vector FROM embeddings WHERE fingerprint = ? "
                f"AND content_hash IN ({','.join('?' * len(part))})",
                (fingerprint, *part),
            )
            for content_hash, blob in rows.fetchall():
                found[content_hash] = np.frombuffer(blob, dtype=np.float32).copy()
        return found

    def cache_vectors(self, fingerprint: str, vectors: dict[str, np.ndarray]) -> None:
        with self._db:
            self._put_vectors(fingerprint, vectors)

    def _put_vectors(self, fingerprint: str, vectors: dict[str, np.ndarray]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
            [(fingerprint, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in vectors.items()],
        )


def _record(row: tuple) -> FileRecord:
    path, size, mtime_ns, content_hash, doc_id, chunk_ids, settings, state = row
    return FileRecord(path, size, mtime_ns, content_hash, doc_id, tuple(json.loads(chunk_ids)), settings, state)


@dataclass(frozen=True)
class FileStatus:
    """One file as a person checking a store sees it: ingested (with its chunk count), being
    written, or failed (with the category and message of its failure)."""

    path: str
    status: str  # "ingested", "writing" or "failed"
    doc_id: str | None
    chunks: int
    size: int | None
    mtime_ns: int | None
    category: str | None
    message: str | None
    remembered: bool  # a lasting failure the manifest keeps until the file changes
    last_run: bool  # named in the last run's errors file


FILE_STATUSES = ("ingested", "writing", "failed")

# Files, remembered failures and the last run's errors (the temporary table ``last_run``), one
# row per path: a failure wins over an older ingested version of the same file, whose chunks
# stay searchable until the file is read again.
_STATUS_SQL = """
WITH merged AS (
    SELECT f.path, f.doc_id, f.state, json_array_length(f.chunk_ids) AS chunks, f.size, f.mtime_ns,
           coalesce(l.category, r.category) AS category, coalesce(l.message, r.message) AS message,
           r.path IS NOT NULL AS remembered, l.path IS NOT NULL AS last_run
    FROM files f
    LEFT JOIN failures r ON r.collection = f.collection AND r.path = f.path
    LEFT JOIN temp.last_run l ON l.path = f.path
    WHERE f.collection = :collection
    UNION ALL
    SELECT r.path, NULL, NULL, 0, r.size, r.mtime_ns, coalesce(l.category, r.category),
           coalesce(l.message, r.message), 1, l.path IS NOT NULL
    FROM failures r LEFT JOIN temp.last_run l ON l.path = r.path
    WHERE r.collection = :collection AND r.path NOT IN (SELECT path FROM files WHERE collection = :collection)
    UNION ALL
    SELECT l.path, NULL, NULL, 0, NULL, NULL, l.category, l.message, 0, 1
    FROM temp.last_run l
    WHERE l.path NOT IN (SELECT path FROM files WHERE collection = :collection)
      AND l.path NOT IN (SELECT path FROM failures WHERE collection = :collection)
), statuses AS (
    SELECT *, CASE WHEN category IS NOT NULL THEN 'failed' WHEN state = 'done' THEN 'ingested' ELSE 'writing' END
           AS status
    FROM merged
)
"""


class ManifestReader:
    """The manifest opened read-only (``mode=ro``), for a process that reads the store while an
    ``ingest`` writes it: it never takes the writer's lock and never writes, and each query sees
    what the writer last committed (WAL)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / MANIFEST_NAME

    @classmethod
    def open(cls, folder: Path) -> ManifestReader | None:
        """The reader, or None when no ``ingest`` has written a manifest in ``folder`` yet."""
        if not (folder / MANIFEST_NAME).is_file():
            return None
        return cls(folder)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection per call: calls may come from many threads at once, and it costs little."""
        db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            yield db
        finally:
            db.close()

    def collections(self) -> dict[str, int]:
        """collection -> how many files it has rows for."""
        with self._connect() as db:
            return dict(db.execute("SELECT collection, count(*) FROM files GROUP BY collection").fetchall())

    def record_for_doc(self, collection: str, doc_id: str) -> FileRecord | None:
        """The row of the file whose chunks carry ``doc_id``; None when there is none."""
        with self._connect() as db:
            row = db.execute(
                "SELECT path, size, mtime_ns, content_hash, doc_id, chunk_ids, settings, state FROM files "
                "WHERE collection = ? AND doc_id = ?",
                (collection, doc_id),
            ).fetchone()
        return _record(row) if row else None

    def statuses(
        self,
        collection: str,
        *,
        last_run: Iterable[tuple[str, str, str]] = (),
        status: str | None = None,
        category: str | None = None,
        path_contains: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[int, list[FileStatus], dict[str, dict[str, int]]]:
        """A page of the collection's files by path, with ``last_run`` (path, category, message)
        merged in: (how many match, the page, counts by status and by category of all files)."""
        conditions, parameters = [], {"collection": collection, "limit": limit, "offset": offset}
        for column, value in (("status", status), ("category", category)):
            if value is not None:
                conditions.append(f"{column} = :{column}")
                parameters[column] = value
        if path_contains:
            conditions.append("instr(path, :contains) > 0")
            parameters["contains"] = path_contains
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        # One read transaction: the page, its total and the counts come from the same commit.
        with self._connect() as db, db:
            db.execute("CREATE TEMP TABLE last_run (path TEXT PRIMARY KEY, category TEXT, message TEXT)")
            db.executemany("INSERT OR REPLACE INTO temp.last_run VALUES (?, ?, ?)", last_run)
            total = db.execute(f"{_STATUS_SQL} SELECT count(*) FROM statuses {where}", parameters).fetchone()[0]
            rows = db.execute(
                f"{_STATUS_SQL} SELECT path, status, doc_id, chunks, size, mtime_ns, category, message, remembered, "
                f"last_run FROM statuses {where} ORDER BY path LIMIT :limit OFFSET :offset",
                parameters,
            ).fetchall()
            counts: dict[str, dict[str, int]] = {"status": {}, "category": {}}
            grouped = f"{_STATUS_SQL} SELECT status, category, count(*) FROM statuses GROUP BY status, category"
            for state, failure, count in db.execute(grouped, {"collection": collection}):
                counts["status"][state] = counts["status"].get(state, 0) + count
                if failure is not None:
                    counts["category"][failure] = counts["category"].get(failure, 0) + count
        page = [
            FileStatus(path, state, doc_id, int(chunks or 0), size, mtime_ns, failure, message, bool(kept), bool(last))
            for path, state, doc_id, chunks, size, mtime_ns, failure, message, kept, last in rows
        ]
        return total, page, counts
