"""Each file's state, as a person checking a store wants it: ingested with its chunk count, or
not, with the category and message that say why.

Two sources, both written by ``ingest`` in the store's local folder and read here without its
lock: the manifest (rows of ingested files, and lasting failures it remembers until a file
changes) opened read-only, and the errors file, which holds every error of the last run,
failures that are not remembered (a timeout, a model failure) included. The errors file does
not say which collection its run wrote, so its errors are shown for every collection.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipeline.paths import readable_path
from pipeline.state.errors_file import ERRORS_FILE
from pipeline.state.manifest import FILE_STATUSES, FileStatus, ManifestReader

log = logging.getLogger(__name__)

__all__ = ["FILE_STATUSES", "FilePage", "last_run_errors", "list_files"]


@dataclass(frozen=True)
class FilePage:
    """One page of a collection's files, by path, and the counts of all of them."""

    collection: str
    total: int  # files matching the filters
    limit: int
    offset: int
    files: list[dict[str, Any]]
    counts: dict[str, dict[str, int]]  # {"status": {...}, "category": {...}} over all files

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def last_run_errors(folder: Path) -> list[tuple[str, str, str]]:
    """(path, category, message) of every error of the last run; [] when there was none.

    The file is replaced whole at the end of a run (written aside, then renamed), so it is
    always a complete run's; a line that does not parse is skipped rather than failing the page.
    """
    path = folder / ERRORS_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except OSError as error:
        log.warning("cannot read %s: %s", path, error)
        return []
    errors = []
    for line in lines:
        try:
            item = json.loads(line)
            errors.append((str(item["path"]), str(item["category"]), str(item.get("message", ""))))
        except (json.JSONDecodeError, KeyError, TypeError):
            log.warning("skipping a line of %s that is not an error record: %.80s", path, line)
    return errors


def list_files(
    folder: Path,
    collection: str,
    *,
    status: str | None = None,
    category: str | None = None,
    path_contains: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> FilePage:
    """A page of ``collection``'s files in the store folder ``folder`` (its ``store.local_dir``)."""
    reader = ManifestReader.open(folder)
    errors = last_run_errors(folder)
    if reader is None:
        # No ingest has finished a manifest here yet: only the errors file can say anything.
        statuses = [FileStatus(p, "failed", None, 0, None, None, c, m, False, True) for p, c, m in errors]
        counts = _counts(statuses)
        statuses = [
            s for s in sorted(statuses, key=lambda s: s.path)
            if (status is None or s.status == status) and (category is None or s.category == category)
            and (not path_contains or path_contains in s.path)
        ]
        return FilePage(collection, len(statuses), limit, offset, [_shown(s) for s in statuses[offset : offset + limit]], counts)
    total, page, counts = reader.statuses(
        collection, last_run=errors, status=status, category=category, path_contains=path_contains,
        limit=limit, offset=offset,
    )
    return FilePage(collection, total, limit, offset, [_shown(s) for s in page], counts)


def _shown(status: FileStatus) -> dict[str, Any]:
    """The status as JSON, with ``shown``: the path as a person reads it (a GBK name in Chinese)."""
    return {**asdict(status), "shown": readable_path(status.path)}


def _counts(statuses: list[FileStatus]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {"status": {}, "category": {}}
    for item in statuses:
        counts["status"][item.status] = counts["status"].get(item.status, 0) + 1
        if item.category:
            counts["category"][item.category] = counts["category"].get(item.category, 0) + 1
    return counts
