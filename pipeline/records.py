"""The records that flow between stages: a chunk of text, and the report of one run."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from functools import cached_property


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def document_id(source: str) -> str:
    """A stable id for a file, from its resolved path."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Chunk:
    """One piece of cleaned text, sized for the model, with where it came from.

    ``start``/``end`` are character offsets into the document's cleaned text. The id
    depends only on the document and the text, so storing a chunk twice overwrites it.
    """

    doc_id: str
    source: str
    file_type: str
    text: str
    chunk_index: int
    start: int
    end: int
    tokens: int
    page: int | None = None
    headings: tuple[str, ...] = ()
    title: str = ""
    # Text recognised by OCR from a page image rather than read from a text layer.
    ocr: bool = False
    # The language of the chunk's script (pipeline.language): a by-language model embeds each
    # chunk with the model for it, and a query is compared only with chunks of its own model.
    language: str = ""

    # Cached: the ingest loop and the store each ask for ids and hashes several times.
    # (cached_property writes to the instance __dict__, which a frozen dataclass allows.)
    @cached_property
    def hash(self) -> str:
        return content_hash(self.text)

    @property
    def id(self) -> str:
        return f"{self.doc_id}-{self.hash[:24]}"

    def metadata(self) -> dict[str, str | int]:
        """Flat metadata for the store: no None and no nested values (Chroma accepts neither)."""
        meta: dict[str, str | int] = {
            "doc_id": self.doc_id,
            "source": self.source,
            "file_type": self.file_type,
            "chunk_index": self.chunk_index,
            "start": self.start,
            "end": self.end,
            "tokens": self.tokens,
            "content_hash": self.hash,
            "heading_path": " > ".join(self.headings),
            "title": self.title,
        }
        if self.page is not None:
            meta["page"] = self.page
        if self.ocr:
            meta["ocr"] = True
        if self.language:
            meta["language"] = self.language
        return meta


@dataclass(frozen=True)
class FileError:
    path: str
    category: str
    message: str


@dataclass
class RunReport:
    """What one ingest run did; ``to_dict`` is the CLI's --json output."""

    model: str = ""
    collection: str = ""
    files_seen: int = 0
    # Written this run (new or changed); files_updated counts the changed ones among them.
    files_ingested: int = 0
    files_updated: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    files_failed: int = 0
    chunks_added: int = 0
    chunks_embedded: int = 0
    # Vectors taken from the embedding cache instead of the model (moved or repeated text).
    chunks_reused: int = 0
    chunks_deleted: int = 0
    truncated_chunks: int = 0
    pages_without_text: int = 0
    # Pages read by OCR (no text layer, or mostly image), and the seconds OCR took in the workers.
    pages_ocr: int = 0
    ocr_seconds: float = 0.0
    seconds: float = 0.0
    # Stopped early by Ctrl-C: what was written is complete; running again resumes.
    interrupted: bool = False
    errors_file: str | None = None
    errors: list[FileError] = field(default_factory=list)

    def add_error(self, path: str, category: str, message: str) -> None:
        self.files_failed += 1
        self.errors.append(FileError(path=path, category=category, message=message))

    def error_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for error in self.errors:
            counts[error.category] = counts.get(error.category, 0) + 1
        return dict(sorted(counts.items()))

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        data["ocr_seconds"] = round(self.ocr_seconds, 3)
        data["errors_by_category"] = self.error_counts()
        return data
