"""Plan: which walked files a run must read, measured against the manifest.

A file whose size, modification time (or, failing those, content) and settings are unchanged
is skipped without being read. A file that failed for a lasting reason and has not changed
since is reported again without being read. Everything else is read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipeline.config import WalkSettings
from pipeline.paths import path_text
from pipeline.records import Failure, FileError, FileIdentity, FileRecord, RunReport
from pipeline.state.manifest import Manifest
from pipeline.steps.walk import walk_files


@dataclass
class Plan:
    """One run's files: all that were walked, what the manifest knew of them, and what to read."""

    entries: list[Path | FileError]
    records: dict[str, FileRecord]  # manifest rows under the run's roots
    failures: dict[str, Failure]  # remembered failures under the run's roots
    todo: list[Path | FileError] = field(default_factory=list)
    # Size and modification time of each file to read, taken before it is read.
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def seen(self) -> set[str]:
        """The recorded paths of everything walked."""
        return {entry_key(entry) for entry in self.entries}

    @property
    def gone(self) -> list[FileRecord]:
        """Rows of files no longer under the roots."""
        seen = self.seen
        return [record for path, record in self.records.items() if path not in seen]


def entry_key(entry: Path | FileError) -> str:
    """The recorded path of a walked entry (see pipeline/paths.py)."""
    return path_text(entry) if isinstance(entry, Path) else entry.path


def plan_run(
    roots: Iterable[Path], walk: WalkSettings, manifest: Manifest, settings_fingerprint: str, report: RunReport
) -> Plan:
    """Walk the roots and decide what to read; counts ``files_seen`` and ``files_unchanged`` and
    reports remembered failures in ``report``."""
    roots = list(roots)
    entries = list(walk_files(roots, walk))
    report.files_seen = len(entries)
    plan = Plan(
        entries,
        manifest.records_under(path_text(root) for root in roots),
        manifest.failures_under(path_text(root) for root in roots),
    )
    touched: list[FileRecord] = []
    for entry in entries:
        if isinstance(entry, FileError):
            plan.todo.append(entry)
        elif _unchanged(entry, plan.records.get(path_text(entry)), settings_fingerprint, touched):
            report.files_unchanged += 1
        else:
            try:
                stat = entry.stat()
            except OSError:
                plan.todo.append(entry)
                continue
            plan.stats[path_text(entry)] = (stat.st_size, stat.st_mtime_ns)
            failure = plan.failures.get(path_text(entry))
            if failure is not None and (failure.size, failure.mtime_ns, failure.settings) == (
                stat.st_size, stat.st_mtime_ns, settings_fingerprint
            ):
                report.add_error(failure.path, failure.category, failure.message)
            else:
                plan.todo.append(entry)
    manifest.put_many(touched)
    return plan


def _unchanged(entry: Path, record: FileRecord | None, settings_fingerprint: str, touched: list[FileRecord]) -> bool:
    """True when ``record`` shows this file already stored as it is now; a file touched or copied
    without changing gets its new time recorded in ``touched``."""
    if record is None or record.state != "done" or record.settings != settings_fingerprint:
        return False
    try:
        stat = entry.stat()
        if (stat.st_size, stat.st_mtime_ns) == (record.size, record.mtime_ns):
            return True
        # Touched or copied without changing: the content decides.
        if stat.st_size != record.size or FileIdentity.of(entry).content_hash != record.content_hash:
            return False
    except OSError:
        return False
    touched.append(replace(record, mtime_ns=stat.st_mtime_ns))
    return True
