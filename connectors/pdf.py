"""PDF files, read page by page with pypdf so every chunk keeps its page number."""

from __future__ import annotations

import logging
from pathlib import Path

from pypdf import PdfReader
from pypdf import PasswordType
from pypdf.errors import FileNotDecryptedError, PyPdfError

from connectors.base import ConnectorError, Document, ErrorCategory, Section
from connectors.options import ReadOptions

log = logging.getLogger(__name__)


def _decrypt(reader: PdfReader, path: Path, passwords: tuple[str, ...]) -> None:
    """Try the empty password (many PDFs are encrypted only against editing), then the configured ones."""
    for password in ("", *passwords):
        try:
            if reader.decrypt(password) != PasswordType.NOT_DECRYPTED:
                return
        except (PyPdfError, NotImplementedError) as error:
            # An unsupported cipher is no reason to try further passwords.
            raise ConnectorError(path, ErrorCategory.ENCRYPTED, f"cannot decrypt: {error}") from error
    tried = len(passwords)
    raise ConnectorError(
        path,
        ErrorCategory.ENCRYPTED,
        f"encrypted PDF; the empty password and {tried} configured password(s) did not open it "
        "(add its password under connectors.pdf_passwords in config.yaml)",
    )


def _metadata(reader: PdfReader) -> tuple[str, str]:
    try:
        info = reader.metadata
    except (PyPdfError, KeyError, ValueError, TypeError):
        return "", ""
    if info is None:
        return "", ""
    return str(info.title or "").strip(), str(info.author or "").strip()


def pdf_page_count(path: Path, options: ReadOptions) -> int:
    """Pages of a PDF (opened and decrypted, no text read); 0 when it cannot be opened."""
    try:
        return read_pdf(path, options, pages=range(0)).pages or 0
    except ConnectorError:
        return 0


def merge_pdf_parts(path: Path, parts: list[Document]) -> Document:
    """One document from the page ranges of one PDF read apart, in order."""
    sections = [section for part in parts for section in part.sections]
    first = parts[0]
    if not sections:
        raise _no_text(path, first.pages or 0, bool(first.extra.get("encrypted")))
    document = Document(
        path=path, file_type="pdf", sections=sections, title=first.title, author=first.author,
        pages=first.pages, pages_without_text=sum(part.pages_without_text for part in parts),
    )
    unreadable = sum(int(part.extra.get("pages_unreadable", 0)) for part in parts)
    if unreadable:
        document.extra["pages_unreadable"] = unreadable
    return document


def _no_text(path: Path, page_count: int, encrypted: bool) -> ConnectorError:
    reason = (
        "it was encrypted, so the text may also be unreadable without the right key"
        if encrypted
        else "it is probably scanned and needs OCR"
    )
    return ConnectorError(path, ErrorCategory.NO_TEXT, f"none of its {page_count} page(s) has a text layer; {reason}")


def read_pdf(path: Path, options: ReadOptions, pages: range | None = None) -> Document:
    """The text of every page, or with ``pages`` of those pages only (a part of a large PDF
    read by several workers; a part may hold no text, :func:`merge_pdf_parts` decides)."""
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            _decrypt(reader, path, options.pdf_passwords)
        reader_pages = reader.pages
        page_count = len(reader_pages)
    except ConnectorError:
        raise
    except FileNotDecryptedError as error:
        raise ConnectorError(path, ErrorCategory.ENCRYPTED, str(error)) from error
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"unreadable PDF: {error}") from error

    sections: list[Section] = []
    without_text = 0
    unreadable = 0
    numbers = range(page_count) if pages is None else range(max(pages.start, 0), min(pages.stop, page_count))
    for number in numbers:
        try:
            text = reader_pages[number].extract_text() or ""
        except FileNotDecryptedError as error:
            raise ConnectorError(path, ErrorCategory.ENCRYPTED, str(error)) from error
        except Exception as error:  # noqa: BLE001 - pypdf raises many types on one broken page
            # One broken page should not cost the rest of the document.
            log.warning("%s: page %d unreadable: %s", path, number + 1, error)
            unreadable += 1
            text = ""
        if text.strip():
            sections.append(Section(text=text, page=number + 1))
        else:
            without_text += 1

    if page_count == 0:
        raise ConnectorError(path, ErrorCategory.EMPTY, "PDF has no pages")
    if not sections and pages is None:
        raise _no_text(path, page_count, reader.is_encrypted)
    title, author = _metadata(reader)
    document = Document(
        path=path, file_type="pdf", sections=sections, title=title, author=author,
        pages=page_count, pages_without_text=without_text,
    )
    if unreadable:
        document.extra["pages_unreadable"] = unreadable
    if reader.is_encrypted:
        document.extra["encrypted"] = 1
    return document
