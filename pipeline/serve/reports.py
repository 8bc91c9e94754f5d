"""ingest-eval reports for the page to link: every ``<folder>/<name>/report.html``.

Only files inside a report's own folder are ever served (its plots beside it), so a request
for ``../`` or a link out of the folder finds nothing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

REPORT_PAGE = "report.html"
# Report folder names as ingest-eval makes them (the dataset's folder name, a mode suffix).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


@dataclass(frozen=True)
class Report:
    name: str
    url: str
    modified: float  # seconds since the epoch, for "newest first"


def reports_folder(configured: Path | None) -> Path:
    """The configured folder, else ``eval-report`` in the working directory (ingest-eval's default)."""
    return configured if configured is not None else Path.cwd() / "eval-report"


def list_reports(folder: Path) -> list[Report]:
    """The reports under ``folder``, newest first; [] when there is no such folder."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    found = []
    for entry in entries:
        page = Path(entry.path) / REPORT_PAGE
        if _NAME.match(entry.name) and entry.is_dir() and page.is_file():
            found.append(Report(entry.name, f"/reports/{entry.name}/{REPORT_PAGE}", page.stat().st_mtime))
    return sorted(found, key=lambda report: (-report.modified, report.name))


def report_file(folder: Path, name: str, relative: str) -> Path | None:
    """The file ``relative`` of report ``name``, or None when it is not a file inside that report."""
    if not _NAME.match(name):
        return None
    root = (folder / name).resolve()
    target = (root / relative).resolve()
    if root not in target.parents or not target.is_file():
        return None
    return target
