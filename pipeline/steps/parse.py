"""Parse: one file read, cleaned and chunked, with its BM25 term counts; any failure categorised.

:class:`FilePreparer` is picklable, so an engine can run it wherever it parses: the local
engine's worker processes, or the Ray engine's tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from connectors import ConnectorError, Document, ErrorCategory, ReadOptions, read_document
from pipeline.config import ChunkingSettings, CleaningSettings
from pipeline.paths import path_text
from pipeline.records import FileError, FileIdentity, PreparedFile
from pipeline.retrieval.tokens import Tokenizer
from pipeline.steps.chunk import Chunker
from pipeline.steps.clean import clean_sections
from pipeline.steps.structure import follow_structure

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FilePreparer:
    """Everything needed to turn a path into chunks; picklable, so it can travel to a worker."""

    read_options: ReadOptions
    cleaning: CleaningSettings
    chunking: ChunkingSettings
    count_tokens: Callable[[str], int]
    max_tokens: int
    tokenizer: Tokenizer | None = None

    def chunker(self) -> Chunker:
        return Chunker(count_tokens=self.count_tokens, max_tokens=self.max_tokens, settings=self.chunking)

    def prepare(self, entry: Path | FileError, chunker: Chunker | None = None) -> PreparedFile:
        """Read, clean and chunk one file; any failure becomes a categorised error."""
        if isinstance(entry, FileError):
            return PreparedFile(Path(entry.path), error=entry)
        return self._prepare(entry, lambda: read_document(entry, self.read_options), chunker)

    def read_part(self, path: Path, pages: range) -> Document | FileError:
        """Some pages of a large PDF, read apart so several workers share one file."""
        from connectors.pdf import read_pdf  # pypdf is imported with the first PDF, not with the pipeline

        try:
            return read_pdf(path, self.read_options, pages)
        except ConnectorError as error:
            return FileError(path_text(path), error.category.value, error.message)
        except Exception as error:  # noqa: BLE001 - parsers raise anything on hostile input
            return _parser_failure(path, error)

    def prepare_parts(self, path: Path, parts: list[Document | FileError], chunker: Chunker | None = None) -> PreparedFile:
        """Clean and chunk a PDF from its parts, as :meth:`prepare` would have from the whole."""
        for part in parts:
            if isinstance(part, FileError):
                return PreparedFile(path, error=part)
        from connectors.pdf import merge_pdf_parts

        return self._prepare(path, lambda: merge_pdf_parts(path, parts), chunker)  # type: ignore[arg-type]

    def _prepare(self, path: Path, read: Callable[[], Document], chunker: Chunker | None) -> PreparedFile:
        try:
            identity = FileIdentity.of(path)
        except OSError as error:
            return PreparedFile(path, error=FileError(path_text(path), ErrorCategory.CORRUPT.value, f"cannot read file: {error}"))
        try:
            document = read()
            sections = clean_sections(document, self.cleaning)
            if self.chunking.follow_structure:
                sections = follow_structure(sections)
            chunks = (chunker or self.chunker()).chunk(document, sections)
        except ConnectorError as error:
            return PreparedFile(path, error=FileError(path_text(path), error.category.value, error.message))
        except Exception as error:  # noqa: BLE001 - parsers raise anything on hostile input
            return PreparedFile(path, error=_parser_failure(path, error))
        if not chunks:
            message = "no chunk with content after cleaning (only whitespace, symbols or repeated lines)"
            return PreparedFile(path, error=FileError(path_text(path), ErrorCategory.EMPTY.value, message))
        terms = [self.tokenizer.term_counts(chunk.text) for chunk in chunks] if self.tokenizer else []
        return PreparedFile(
            path, chunks=chunks, terms=terms, pages_without_text=document.pages_without_text,
            pages_ocr=document.pages_ocr, ocr_seconds=document.ocr_seconds, pages_garbled=document.pages_garbled,
            identity=identity,
        )


def _parser_failure(path: Path, error: Exception) -> FileError:
    if isinstance(error, MemoryError):
        return FileError(path_text(path), ErrorCategory.TOO_LARGE.value, "needs more memory than walk.parse_memory_mb allows")
    log.debug("unexpected error reading %s", path, exc_info=True)
    return FileError(path_text(path), ErrorCategory.CORRUPT.value, f"parser failed: {type(error).__name__}: {error}")
