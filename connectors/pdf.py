"""PDF files, read page by page with pypdf so every chunk keeps its page number.

Three kinds of page get more than pypdf's text: a page without a text layer is read by OCR
(connectors/ocr.py) when ``ReadOptions.ocr`` is on; a page whose text layer decodes to the wrong
characters (connectors/garbled.py) is read again by PDFium, and by OCR when PDFium does no better;
a page with ruled tables gets them as Markdown tables (connectors/pdf_tables.py) when
``ReadOptions.pdf_tables`` is on.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pypdf import PasswordType, PdfReader
from pypdf.errors import FileNotDecryptedError, LimitReachedError, PyPdfError

from connectors import garbled, ocr
from connectors.base import ConnectorError, Document, ErrorCategory, Section
from connectors.options import ReadOptions
from connectors.pdf_render import PageImages
from connectors.pdf_tables import MIN_TABLE_SEGMENTS, PdfTables

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
        pages_garbled=sum(part.pages_garbled for part in parts),
    )
    for key in ("pages_unreadable", "pages_text_pdfium"):
        total = sum(int(part.extra.get(key, 0)) for part in parts)
        if total:
            document.extra[key] = total
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

    def __init__(self, path: Path, images: PageImages, options: ReadOptions) -> None:
        self.path, self.options = path, options
        self.images = images
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
    page_reader = _PageReader(path, password, options)
    try:
        for number in numbers:
            text_page, text, bomb = _page_text(reader_pages, number, path)
            unreadable += text_page is None
            page_sections = [section for section in page_reader.read(number, text_page, text, bomb) if section.text.strip()]
            sections.extend(page_sections)
            without_text += not page_sections
    finally:
        page_reader.close()

    if page_count == 0:
        raise ConnectorError(path, ErrorCategory.EMPTY, "PDF has no pages")
    page_ocr = page_reader.ocr
    if not sections and pages is None:
        raise _no_text(path, page_count, reader.is_encrypted, page_ocr is not None and page_ocr.tried)
    title, author = _metadata(reader)
    document = Document(
        path=path, file_type="pdf", sections=sections, title=title, author=author,
        pages=page_count, pages_without_text=without_text, pages_garbled=page_reader.garbled,
    )
    if unreadable:
        document.extra["pages_unreadable"] = unreadable
    if page_reader.pdfium_text:
        document.extra["pages_text_pdfium"] = page_reader.pdfium_text
    if page_ocr is not None:
        document.pages_ocr, document.ocr_seconds = page_ocr.stats.pages, page_ocr.stats.seconds
        if page_ocr.tried:
            document.extra["ocr"] = 1
    if reader.is_encrypted:
        document.extra["encrypted"] = 1
    return document


def _page_text(reader_pages: Any, number: int, path: Path) -> tuple[Any | None, str, bool]:
    """pypdf's page and its text, and whether reading it hit a decompression bomb; the page is
    None when it is unreadable (it then counts as a page without text)."""
    try:
        page = reader_pages[number]
        return page, page.extract_text() or "", False
    except FileNotDecryptedError as error:
        raise ConnectorError(path, ErrorCategory.ENCRYPTED, str(error)) from error
    except Exception as error:  # noqa: BLE001 - pypdf raises many types on one broken page
        # One broken page should not cost the rest of the document.
        log.warning("%s: page %d unreadable: %s", path, number + 1, error)
        # pypdf stops inflating a stream at its limit; the renderer would not, and a
        # decompression bomb would take the worker (and the pages after it) down.
        bomb = isinstance(error, LimitReachedError) or isinstance(error.__cause__, LimitReachedError)
        return None, "", bomb


class _PageReader:
    """Turns one page's pypdf text into its sections, with OCR, a second reading of a garbled
    layer and tables as the options allow; counts what it did for the document."""

    def __init__(self, path: Path, password: str | None, options: ReadOptions) -> None:
        self.path, self.options = path, options
        self.images = PageImages(path, password)
        self.ocr = _PageOcr(path, self.images, options) if options.ocr else None
        self.tables = PdfTables(path, password) if options.pdf_tables else None
        self.garbled = 0  # pages whose text layer was garbled
        self.pdfium_text = 0  # of those, pages whose text PDFium read well

    def read(self, index: int, text_page: Any | None, text: str, bomb: bool) -> list[Section]:
        """The sections of page ``index``: ``text`` is pypdf's text of ``text_page`` (None when
        pypdf could not read the page)."""
        page = index + 1
        if bomb:  # neither the renderer nor pdfminer may touch this page
            return [Section(text=text, page=page)]
        # Garbled first: a short garbled layer would otherwise go to OCR as a near-empty page,
        # and OCR's text would have to beat the garbage's length to be kept.
        if garbled.is_garbled(text):
            self.garbled += 1
            return [self._reread(index, text)]
        if self.ocr is not None and self.ocr.needs_ocr(index, text):
            return [self.ocr.read(index, text) or Section(text=text, page=page)]
        tables = self._tables(index, text_page) if text_page is not None else None
        return tables or [Section(text=text, page=page)]

    def _reread(self, index: int, text: str) -> Section:
        """A garbled page read again: by PDFium when its text reads well, else by OCR when that
        finds any text; the garbled text is kept when neither does (a false alarm must not cost
        a page's text)."""
        try:
            second = self.images.text(index)
        except Exception as error:  # noqa: BLE001 - PDFium may refuse a file pypdf reads
            log.warning("%s: PDFium cannot read the text of page %d: %s", self.path, index + 1, error)
            second = ""
        if garbled.reads_well(second) and not garbled.same_reading(text, second):
            self.pdfium_text += 1
            return Section(text=second, page=index + 1)
        if self.ocr is not None and self.options.ocr_garbled:
            found = self.ocr.read(index, "")
            if found is not None:
                return found
        return Section(text=text, page=index + 1)

    def _tables(self, index: int, text_page: Any) -> list[Section] | None:
        """The page as text and Markdown tables, or None when it has no table (or the table
        finder fails: tables are a gain, and a failure costs their structure, not the page)."""
        if self.tables is None:
            return None
        try:
            if self.images.path_segments(index, MIN_TABLE_SEGMENTS) < MIN_TABLE_SEGMENTS:
                return None
            return self.tables.page_sections(index, text_page)
        except MemoryError:
            raise
        except Exception as error:  # noqa: BLE001 - pdfminer raises many types on odd pages
            log.warning("%s: tables of page %d not read: %s", self.path, index + 1, error)
            return None

    def close(self) -> None:
        self.images.close()
        if self.tables is not None:
            self.tables.close()

