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
from collections.abc import Iterable
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

    def put_many(self, records: Iterable[FileRecord]) -> None:
        """Insert or replace rows, all in one transaction: after a crash either all are there or none."""
        with self._db:
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
            self._db.executemany(
                "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                [(fingerprint, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in vectors.items()],
            )


def _record(row: tuple) -> FileRecord:
    path, size, mtime_ns, content_hash, doc_id, chunk_ids, settings, state = row
    return FileRecord(path, size, mtime_ns, content_hash, doc_id, tuple(json.loads(chunk_ids)), settings, state)
