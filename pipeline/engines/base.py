"""What every engine is given, and what it must do with it.

The frame (:mod:`pipeline.line`) plans a run and hands an engine the files to read with a
:class:`Job`; the engine parses them, embeds what :meth:`Commit.work_for` says needs a vector,
writes the chunks and brackets each write with :meth:`Commit.begin` and :meth:`Commit.finish`.
Engines differ only in where parsing, embedding and writing happen.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pipeline.collection import Collection
from pipeline.records import FileError, RunReport
from pipeline.steps.commit import Commit


@dataclass
class Job:
    """One run's work for an engine."""

    collection: Collection
    commit: Commit
    report: RunReport
    # Set by Ctrl-C: finish what is in hand, write it, and stop (the frame then skips pruning).
    stop: threading.Event = field(default_factory=threading.Event)
    progress: bool = False


class Engine(Protocol):
    def execute(self, todo: list[Path | FileError], job: Job) -> None:
        """Parse, embed and write ``todo``; set ``job.report.interrupted`` if ``job.stop`` cut it short."""
