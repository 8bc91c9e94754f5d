"""The records that cross a stage: a file as read (PreparedFile), its chunks, its error, the run's report."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from pipeline.paths import path_text


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fingerprint_of(parts: dict[str, object]) -> str:
    """A short stable hash of settings (JSON with sorted keys): a model's, a tokenizer's, a run's."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


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
    # A table (Markdown), or rows of one under its repeated header row.
    table: bool = False

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
        if self.table:
            meta["table"] = True
        return meta


@dataclass(frozen=True)
class FileError:
    path: str
    category: str
    message: str


@dataclass(frozen=True)
class FileRecord:
    path: str
    size: int
    mtime_ns: int
    content_hash: str
    doc_id: str
    chunk_ids: tuple[str, ...]
    settings: str
    state: str = "done"


@dataclass(frozen=True)
class Failure:
    """A file that could not be ingested, as it was when it failed."""

    path: str
    size: int
    mtime_ns: int
    settings: str
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
    # Pages whose text layer was garbled (CID codes, private-use or replacement characters...).
    pages_garbled: int = 0
    seconds: float = 0.0
    # Stopped early by Ctrl-C: what was written is complete; running again resumes.
    interrupted: bool = False
    # Seconds the main process spent in each step of the line (embed, manifest, upsert, lexical,
    # delete): where a run's time goes.
    step_seconds: dict[str, float] = field(default_factory=dict)
    errors_file: str | None = None
    errors: list[FileError] = field(default_factory=list)

    def add_error(self, path: str, category: str, message: str) -> None:
        self.files_failed += 1
        self.errors.append(FileError(path=path, category=category, message=message))

    def add_seconds(self, step: str, seconds: float) -> None:
        self.step_seconds[step] = self.step_seconds.get(step, 0.0) + seconds

    def error_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for error in self.errors:
            counts[error.category] = counts.get(error.category, 0) + 1
        return dict(sorted(counts.items()))

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        data["ocr_seconds"] = round(self.ocr_seconds, 3)
        data["step_seconds"] = {step: round(seconds, 3) for step, seconds in self.step_seconds.items()}
        data["errors_by_category"] = self.error_counts()
        return data


@dataclass
class PreparedFile:
    """A file read and chunked, or the reason it could not be."""

    path: Path
    chunks: list[Chunk] = field(default_factory=list)
    # BM25 term counts of each chunk, made here so the main process only stores them.
    terms: list[dict[str, int]] = field(default_factory=list)
    pages_without_text: int = 0
    pages_ocr: int = 0
    ocr_seconds: float = 0.0
    # Pages whose text layer decoded to the wrong characters (read again by OCR where it did better).
    pages_garbled: int = 0
    error: FileError | None = None
    # The file as it was read, for the manifest: a later change shows up as a difference.
    identity: FileIdentity | None = None


@dataclass(frozen=True)
class FileIdentity:
    size: int
    mtime_ns: int
    content_hash: str

    @classmethod
    def of(cls, path: Path) -> FileIdentity:
        """Size and modification time, taken before the bytes are hashed: a file rewritten while
        it is read then shows a newer time than recorded and is read again next run."""
        stat = path.stat()
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return cls(stat.st_size, stat.st_mtime_ns, digest.hexdigest())


@dataclass(eq=False)  # compared and hashed by identity: one per file in flight
class FileWork:
    """A prepared file on its way to the store: only chunks the store does not already hold are
    embedded (``new_chunks``, their ``vectors`` filled from the cache or the model), and chunks
    the file no longer has (``stale_ids``) are deleted once the new ones are in."""

    prepared: PreparedFile
    # The file's manifest row before this run (None for a new file).
    previous: FileRecord | None
    new_chunks: list[Chunk]
    stale_ids: set[str]
    vectors: np.ndarray
    # Indexes into new_chunks of the chunks the model must embed (the rest came from the cache),
    # and how many of them still wait for their vector.
    to_embed: list[int]
    missing: int
    error: str | None = None
    # Whether its row was set to 'writing' (chunks may be in the store).
    begun: bool = False

    @property
    def path(self) -> str:
        return path_text(self.prepared.path)
