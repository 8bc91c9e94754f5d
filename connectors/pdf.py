"""PDF files, read page by page with pypdf so every chunk keeps its page number; pages without
a text layer are read by OCR (connectors/ocr.py) when ``ReadOptions.ocr`` is on."""

from __future__ import annotations

import logging
from pathlib import Path

from pypdf import PasswordType, PdfReader
from pypdf.errors import FileNotDecryptedError, LimitReachedError, PyPdfError

from connectors import ocr
from connectors.base import ConnectorError, Document, ErrorCategory, Section
from connectors.options import ReadOptions
from connectors.pdf_render import PageImages

log = logging.getLogger(__name__)


def _decrypt(reader: PdfReader, path: Path, passwords: tuple[str, ...]) -> str:
    """Try the empty password (many PDFs are encrypted only against editing), then the configured
    ones; returns the one that opened the file (the renderer for OCR needs it too)."""
    for password in ("", *passwords):
        try:
            if reader.decrypt(password) != PasswordType.NOT_DECRYPTED:
                return password
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
    """Pages of a PDF (opened and decrypted, no text read); 0 when it cannot be opened or is
    refused, so that the reader reports why, under its time limit."""
    try:
        return read_pdf(path, options, pages=range(0)).pages or 0
    except Exception:  # noqa: BLE001 - counting runs in the main process: nothing may escape it
        return 0


def merge_pdf_parts(path: Path, parts: list[Document]) -> Document:
    """One document from the page ranges of one PDF read apart, in order."""
    sections = [section for part in parts for section in part.sections]
    first = parts[0]
    if not sections:
        raise _no_text(path, first.pages or 0, bool(first.extra.get("encrypted")), "ocr" in first.extra)
    document = Document(
        path=path, file_type="pdf", sections=sections, title=first.title, author=first.author,
        pages=first.pages, pages_without_text=sum(part.pages_without_text for part in parts),
        pages_ocr=sum(part.pages_ocr for part in parts), ocr_seconds=sum(part.ocr_seconds for part in parts),
    )
    unreadable = sum(int(part.extra.get("pages_unreadable", 0)) for part in parts)
    if unreadable:
        document.extra["pages_unreadable"] = unreadable
    return document


def _no_text(path: Path, page_count: int, encrypted: bool, ocr_tried: bool) -> ConnectorError:
    if encrypted:
        reason = "it was encrypted, so the text may also be unreadable without the right key"
    elif ocr_tried:
        reason = "OCR found no text on its pages either"
    else:
        reason = "it is probably scanned; OCR is off (connectors.ocr)"
    return ConnectorError(path, ErrorCategory.NO_TEXT, f"none of its {page_count} page(s) has a text layer; {reason}")


# A text layer this short on a page mostly covered by images is a stamp or a page number on a
# scan, not the page's text. Measured on the shared corpus: such pages hold 10 characters, while
# scans that already carry an OCR text layer hold hundreds.
_SHORT_LAYER_CHARS = 100


def _letters(text: str) -> int:
    return len("".join(text.split()))


_RETRY_MIN_DPI = 72  # a second look at half resolution only when that is still this sharp


class _PageOcr:
    """Decides which pages need OCR and reads them, for one document."""

    def __init__(self, path: Path, password: str | None, options: ReadOptions) -> None:
        self.path, self.options = path, options
        self.images = PageImages(path, password)
        self.stats = ocr.OcrStats()
        self.tried = False
        self.unavailable: str | None = None

    def needs_ocr(self, index: int, text: str) -> bool:
        letters = _letters(text)
        if letters < self.options.ocr_min_chars:
            return True
        if letters >= _SHORT_LAYER_CHARS or self.unavailable is not None:
            return False
        try:
            return self.images.image_share(index) >= self.options.ocr_image_share
        except Exception as error:  # noqa: BLE001 - PDFium may refuse a file pypdf reads; keep its text layer
            log.warning("%s: cannot measure the images of page %d: %s", self.path, index + 1, error)
            return False

    def read(self, index: int, text: str) -> Section | None:
        """The page's text by OCR when that finds more than its text layer; None otherwise."""
        if self.unavailable is not None:
            return None
        self.tried = True
        try:
            image = self.images.render(index, self.options.ocr_dpi, self.options.ocr_max_pixels)
            if image is None:  # blank page
                return None
            found = ocr.recognise_page(image, self.options.ocr_threads, self.stats)
            if not found.strip() and self.options.ocr_dpi >= 2 * _RETRY_MIN_DPI:
                # The text detector can miss large, thin-stroked type at full resolution that it
                # finds at half: the speech bubble of pdfminer's pdf-with-jbig2.pdf is read at
                # 100 dpi and not at 150, 200 or 300. A page with nothing found gets one more look.
                image = self.images.render(index, self.options.ocr_dpi // 2, self.options.ocr_max_pixels)
                if image is not None:
                    found = ocr.recognise_page(image, self.options.ocr_threads, self.stats, second_look=True)
        except ocr.OcrUnavailable as error:
            self.unavailable = str(error)
            log.warning("%s: OCR unavailable: %s", self.path, error)
            return None
        except MemoryError:
            raise
        except Exception as error:  # noqa: BLE001 - a renderer or engine failure costs one page, not the file
            log.warning("%s: OCR of page %d failed: %s", self.path, index + 1, error)
            self.stats.failures.append(f"page {index + 1}: {error}")
            return None
        if _letters(found) <= _letters(text):
            return None
        return Section(text=found, page=index + 1, ocr=True)


def read_pdf(path: Path, options: ReadOptions, pages: range | None = None) -> Document:
    """The text of every page, or with ``pages`` of those pages only (a part of a large PDF
    read by several workers; a part may hold no text, :func:`merge_pdf_parts` decides)."""
    try:
        reader = PdfReader(path)
        password = _decrypt(reader, path, options.pdf_passwords) if reader.is_encrypted else None
        reader_pages = reader.pages
        page_count = len(reader_pages)
    except ConnectorError:
        raise
    except FileNotDecryptedError as error:
        raise ConnectorError(path, ErrorCategory.ENCRYPTED, str(error)) from error
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError, OverflowError) as error:
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"unreadable PDF: {error}") from error
    if page_count > options.max_pages:
        raise ConnectorError(
            path, ErrorCategory.TOO_LARGE, f"{page_count} pages is over the {options.max_pages} page limit (walk.max_pages)"
        )

    sections: list[Section] = []
    without_text = 0
    unreadable = 0
    numbers = range(page_count) if pages is None else range(max(pages.start, 0), min(pages.stop, page_count))
    page_ocr = _PageOcr(path, password, options) if options.ocr and numbers else None
    for number in numbers:
        bomb = False
        try:
            text = reader_pages[number].extract_text() or ""
        except FileNotDecryptedError as error:
            raise ConnectorError(path, ErrorCategory.ENCRYPTED, str(error)) from error
        except Exception as error:  # noqa: BLE001 - pypdf raises many types on one broken page
            # One broken page should not cost the rest of the document.
            log.warning("%s: page %d unreadable: %s", path, number + 1, error)
            unreadable += 1
            text = ""
            # pypdf stops inflating a stream at its limit; the renderer would not, and a
            # decompression bomb would take the worker (and the pages after it) down.
            bomb = isinstance(error, LimitReachedError) or isinstance(error.__cause__, LimitReachedError)
        section = Section(text=text, page=number + 1)
        if page_ocr is not None and not bomb and page_ocr.needs_ocr(number, text):
            section = page_ocr.read(number, text) or section
        if section.text.strip():
            sections.append(section)
        else:
            without_text += 1
    if page_ocr is not None:
        page_ocr.images.close()

    if page_count == 0:
        raise ConnectorError(path, ErrorCategory.EMPTY, "PDF has no pages")
    if not sections and pages is None:
        raise _no_text(path, page_count, reader.is_encrypted, page_ocr is not None and page_ocr.tried)
    title, author = _metadata(reader)
    document = Document(
        path=path, file_type="pdf", sections=sections, title=title, author=author,
        pages=page_count, pages_without_text=without_text,
    )
    if unreadable:
        document.extra["pages_unreadable"] = unreadable
    if page_ocr is not None:
        document.pages_ocr, document.ocr_seconds = page_ocr.stats.pages, page_ocr.stats.seconds
        if page_ocr.tried:
            document.extra["ocr"] = 1
    if reader.is_encrypted:
        document.extra["encrypted"] = 1
    return document
