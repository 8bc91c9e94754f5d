"""``ingest-errors.jsonl``: every file the last run could not ingest, one JSON object a line."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.paths import readable_path
from pipeline.records import FileError

ERRORS_FILE = "ingest-errors.jsonl"


def write_errors(path: Path, errors: list[FileError]) -> str:
    """Rewrite the file with this run's errors; a name that is not UTF-8 also gets ``shown``,
    how a person reads it (Chinese where it is GBK)."""
    partial = path.with_suffix(".tmp")
    with partial.open("w", encoding="utf-8") as handle:
        for error in errors:
            line: dict[str, str] = {"path": error.path, "category": error.category, "message": error.message}
            if (shown := readable_path(error.path)) != error.path:
                line["shown"] = shown
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    partial.replace(path)
    return str(path)
