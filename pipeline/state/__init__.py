"""What is local to the machine running ``ingest``, whichever store and engine it uses.

The writer's lock, the manifest (file rows, remembered failures, embedding cache), the BM25
index and the errors file all live in the store's local folder (``store.local_dir``): beside an
embedded store, or on this machine when the vectors are on a Chroma server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.records import FileError
from pipeline.retrieval.lexical import LexicalIndex
from pipeline.state.errors_file import ERRORS_FILE, write_errors
from pipeline.state.lock import StoreLock
from pipeline.state.manifest import Manifest

__all__ = ["ERRORS_FILE", "LocalState", "StoreLock", "Manifest"]


@dataclass
class LocalState:
    """The local state of one collection, open for one run, under the writer's lock."""

    folder: Path
    manifest: Manifest
    lexical: LexicalIndex

    @classmethod
    @contextmanager
    def open(
        cls, folder: Path, collection: str, open_lexical: Callable[[], LexicalIndex], *, wait: bool = False
    ) -> Iterator[LocalState]:
        """Take the lock (``wait``: wait for another writer instead of failing), open the manifest
        and the BM25 index (``open_lexical`` rebuilds it if need be), and close all on the way out."""
        with StoreLock(folder, wait=wait):
            manifest = Manifest(folder, collection)
            try:
                lexical = open_lexical()
                try:
                    yield cls(folder, manifest, lexical)
                finally:
                    lexical.close()
            finally:
                manifest.close()

    def write_errors(self, errors: list[FileError]) -> str:
        return write_errors(self.folder / ERRORS_FILE, errors)
