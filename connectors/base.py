"""What a connector yields, and the one error it may raise.

Connectors read one file format each and know nothing of the pipeline: they turn
bytes on disk into a :class:`Document` made of :class:`Section` s. A section is a
run of text that shares one location (a PDF page, or the text under one heading),
so later stages can tell a reader where a chunk came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path


class ErrorCategory(str, Enum):
    """Why a file could not be ingested; each value is shown to users and stored in reports."""

    ENCRYPTED = "encrypted"
    NO_TEXT = "no_text"
    CORRUPT = "corrupt"
    UNSUPPORTED = "unsupported"
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    TIMEOUT = "timeout"
    EMBEDDING_FAILED = "embedding_failed"


class ConnectorError(Exception):
    """A file could not be read. ``category`` says why in one word, the message in a sentence."""

    def __init__(self, path: Path | str, category: ErrorCategory, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = str(path)
        self.category = ErrorCategory(category)
        self.message = message


@dataclass(frozen=True)
class Section:
    """A run of text with one location: ``page`` is 1-based (a PDF or OFD page, a slide, an image
    frame), ``headings`` the heading path; ``ocr`` marks text recognised from the page's image
    rather than read from its text layer; ``table`` marks a table rendered as Markdown (a header
    row, then one line per row)."""

    text: str
    page: int | None = None
    headings: tuple[str, ...] = ()
    ocr: bool = False
    table: bool = False


@dataclass
class Document:
    """One file's text, split into sections in reading order, plus what the file says about itself."""

    path: Path
    file_type: str
    sections: list[Section]
    title: str = ""
    author: str = ""
    pages: int | None = None
    # Pages that had no text layer (scanned images); a user needs OCR for those.
    pages_without_text: int = 0
    # Pages read by OCR, and the seconds OCR took.
    pages_ocr: int = 0
    ocr_seconds: float = 0.0
    # Pages whose text layer decoded to the wrong characters (connectors/garbled.py); they were
    # read again by PDFium or by OCR when either did better, and keep their text otherwise.
    pages_garbled: int = 0
    extra: dict[str, str | int] = field(default_factory=dict)

    @property
    def has_text(self) -> bool:
        return any(section.text.strip() for section in self.sections)


class SectionBuilder:
    """Collects text into sections in reading order, starting a new section at every heading.

    Shared by the formats that have headings (Word, HTML, Markdown), so they all build the
    heading path the same way: a heading of level n replaces every open heading of level >= n.
    """

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self._headings: list[tuple[int, str]] = []
        self._parts: list[str] = []

    def add(self, text: str) -> None:
        self._parts.append(text)

    def add_line(self, line: str) -> None:
        self._parts.append(line + "\n")

    def add_table(self, markdown: str) -> None:
        """A table as a section of its own, under the open headings, so that a chunk never
        holds half a table and half a paragraph."""
        self.flush()
        if markdown.strip():
            headings = tuple(h for _, h in self._headings)
            self.sections.append(Section(text=markdown, headings=headings, table=True))

    def heading(self, level: int, title: str) -> None:
        self.flush()
        self._headings = [(lvl, h) for lvl, h in self._headings if lvl < level] + [(level, title)]
        self._parts.append(title + "\n")

    def flush(self) -> None:
        text = "".join(self._parts)
        if text.strip():
            headings = tuple(h for _, h in self._headings)
            self.sections.append(Section(text=text, headings=headings))
        self._parts = []

    def finish(self) -> list[Section]:
        self.flush()
        return self.sections

    def first_heading(self) -> str:
        return next((s.headings[0] for s in self.sections if s.headings), "")
