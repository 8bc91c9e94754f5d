"""Which files an ingest run looks at: folders walked recursively, in a stable order.

Nothing a folder holds can take the walk outside it or stall it:
- a symbolic link is followed only when ``walk.follow_symlinks`` is on, and only to a target
  inside the folders being ingested; a folder reached twice (a loop, or a link to a folder
  already walked) is walked once, and a file reached twice is read once;
- only regular files are read: a named pipe, socket or device would block a reader or never end;
- a folder that cannot be listed, like a file that cannot be read, is reported and the walk goes on.
Every entry not taken is reported with its reason, so a run's report accounts for every name.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from connectors import ErrorCategory
from pipeline.config import WalkSettings
from pipeline.errors import ConfigError
from pipeline.paths import path_text
from pipeline.records import FileError

_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
)


def _hidden(name: str) -> bool:
    return name.startswith(".")


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _refused(path: Path, category: ErrorCategory, message: str) -> FileError:
    return FileError(path_text(path), category.value, message)


def walk_files(paths: Iterable[str | os.PathLike[str]], settings: WalkSettings) -> Iterator[Path | FileError]:
    """Files under ``paths`` (sorted), or a :class:`FileError` for an entry refused up front."""
    roots = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise ConfigError(f"path does not exist: {path_text(path)}")
        roots.append(path.resolve())
    return _Walk(roots, settings).entries()


class _Walk:
    """One walk over the roots; remembers the real folders and files already taken."""

    def __init__(self, roots: list[Path], settings: WalkSettings) -> None:
        self.roots, self.settings = roots, settings
        self.max_bytes = settings.max_file_mb * 1024 * 1024
        self.folders: set[Path] = set()
        self.files: set[Path] = set()
        self.links: list[Path] = []

    def entries(self) -> Iterator[Path | FileError]:
        for root in self.roots:
            if root.is_dir():
                yield from self._folder(root, root)
            else:
                yield from self._file(root, root)
        # Links come last, so a file inside the roots is known by its own path, not a link's;
        # a link then adds only what the walk did not reach (a target in a hidden folder, say).
        while self.links:
            yield from self._link(self.links.pop(0))

    def _folder(self, folder: Path, real: Path) -> Iterator[Path | FileError]:
        if real in self.folders:
            return  # a loop, or a folder already walked under another name
        self.folders.add(real)
        try:
            with os.scandir(folder) as listing:
                names = sorted(entry.name for entry in listing)
        except OSError as error:
            yield _refused(folder, ErrorCategory.CORRUPT, f"cannot list folder: {error.strerror or error}")
            return
        for name in names:
            if self.settings.skip_hidden and _hidden(name):
                continue
            path = folder / name
            if path.is_symlink():
                self.links.append(path)
            elif path.is_dir():
                yield from self._folder(path, real / name)
            else:
                yield from self._file(path, real / name)

    def _link(self, path: Path) -> Iterator[Path | FileError]:
        if not self.settings.follow_symlinks:
            yield _refused(path, ErrorCategory.UNSUPPORTED, "a symbolic link, not followed (walk.follow_symlinks is off)")
            return
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError) as error:  # broken, or a loop of links
            yield _refused(path, ErrorCategory.CORRUPT, f"a symbolic link that leads nowhere: {error}")
            return
        if not _inside(target, self.roots):
            yield _refused(path, ErrorCategory.UNSUPPORTED,
                           "a symbolic link that leads outside the folders being ingested, not followed")
        elif target.is_dir():
            yield from self._folder(path, target)
        else:
            yield from self._file(path, target)

    def _file(self, path: Path, real: Path) -> Iterator[Path | FileError]:
        if real in self.files:
            return  # the same file through a link: read once
        self.files.add(real)
        try:
            status = path.stat()
        except OSError as error:
            yield _refused(path, ErrorCategory.CORRUPT, f"cannot read file: {error.strerror or error}")
            return
        if not stat.S_ISREG(status.st_mode):
            kind = next((name for test, name in _SPECIAL_KINDS if test(status.st_mode)), "not a regular file")
            yield _refused(path, ErrorCategory.UNSUPPORTED, f"{kind}, not a file: reading it could block or never end")
            return
        if status.st_size > self.max_bytes:
            message = (f"{status.st_size / 1024 / 1024:.1f} MB is over the {self.settings.max_file_mb:g} MB limit "
                       "(walk.max_file_mb)")
            yield _refused(path, ErrorCategory.TOO_LARGE, message)
            return
        yield path
