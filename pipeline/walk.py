"""Which files an ingest run looks at: folders walked recursively, in a stable order."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from connectors import ErrorCategory
from pipeline.config import WalkSettings
from pipeline.errors import ConfigError
from pipeline.records import FileError


def _hidden(name: str) -> bool:
    return name.startswith(".")


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def walk_files(paths: Iterable[str | os.PathLike[str]], settings: WalkSettings) -> Iterator[Path | FileError]:
    """Files under ``paths`` (sorted), or a :class:`FileError` for one that is refused up front.

    Hidden files and folders are skipped when configured; a symbolic link is followed only
    when configured and only if it stays inside the roots being ingested.
    """
    roots = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise ConfigError(f"path does not exist: {path}")
        roots.append(path.resolve())
    max_bytes = settings.max_file_mb * 1024 * 1024
    seen: set[Path] = set()
    for root in roots:
        candidates = [root] if root.is_file() else _walk_folder(root, settings)
        for path in candidates:
            if path in seen:
                continue
            seen.add(path)
            if path.is_symlink():
                target = path.resolve()
                if not settings.follow_symlinks or not _inside(target, roots):
                    continue
            try:
                size = path.stat().st_size
            except OSError as error:
                yield FileError(str(path), ErrorCategory.CORRUPT.value, f"cannot read file: {error}")
                continue
            if size > max_bytes:
                message = f"{size / 1024 / 1024:.1f} MB is over the {settings.max_file_mb:g} MB limit (walk.max_file_mb)"
                yield FileError(str(path), ErrorCategory.TOO_LARGE.value, message)
                continue
            yield path


def _walk_folder(root: Path, settings: WalkSettings) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root, followlinks=settings.follow_symlinks):
        dirs[:] = sorted(d for d in dirs if not (settings.skip_hidden and _hidden(d)))
        for name in sorted(files):
            if not (settings.skip_hidden and _hidden(name)):
                yield Path(folder) / name
