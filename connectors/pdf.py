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


def read_pdf(path: Path, options: ReadOptions) -> Document:
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            _decrypt(reader, path, options.pdf_passwords)
        pages = reader.pages
        page_count = len(pages)
    except ConnectorError:
        raise
    except FileNotDecryptedError as error:
        raise ConnectorError(path, ErrorCategory.ENCRYPTED, str(error)) from error
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"unreadable PDF: {error}") from error

    sections: list[Section] = []
    without_text = 0
    unreadable = 0
    for number in range(page_count):
        try:
            text = pages[number].extract_text() or ""
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
    if not sections:
        reason = (
            "it was encrypted, so the text may also be unreadable without the right key"
            if reader.is_encrypted
            else "it is probably scanned and needs OCR"
        )
        raise ConnectorError(
            path, ErrorCategory.NO_TEXT, f"none of its {page_count} page(s) has a text layer; {reason}"
        )
    title, author = _metadata(reader)
    document = Document(
        path=path, file_type="pdf", sections=sections, title=title, author=author,
        pages=page_count, pages_without_text=without_text,
    )
    if unreadable:
        document.extra["pages_unreadable"] = unreadable
    return document
