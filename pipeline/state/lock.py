"""One writer per store: an advisory lock file, released by the OS even if the holder is killed.

Chroma's PersistentClient is not safe for two writing processes. The lock names its holder
(process id, host, start time, command), so a second ``ingest`` can say who to wait for.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

from pipeline.errors import StoreLockedError

log = logging.getLogger(__name__)

LOCK_NAME = "ingest.lock"


class StoreLock:
    """``with StoreLock(folder):`` holds the store for writing; ``wait`` blocks instead of failing."""

    def __init__(self, folder: Path, *, wait: bool = False) -> None:
        self.path = folder / LOCK_NAME
        self.wait = wait
        self._handle = None

    def __enter__(self) -> StoreLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._holder(handle)
            if not self.wait:
                handle.close()
                raise StoreLockedError(
                    f"the store {self.path.parent} is being written by {holder}; "
                    "wait for it to finish, or run with --wait"
                ) from None
            log.warning("waiting for %s to release the store %s", holder, self.path.parent)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                  "command": " ".join(sys.argv)}
        handle.write(json.dumps(holder))
        handle.flush()
        self._handle = handle
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    @staticmethod
    def _holder(handle) -> str:
        handle.seek(0)
        try:
            info = json.loads(handle.read() or "{}")
        except json.JSONDecodeError:
            info = {}
        if not info:
            return "another process"
        return f"process {info.get('pid')} on {info.get('host')} (since {info.get('since')}: {info.get('command')})"
