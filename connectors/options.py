"""Settings a connector may need, passed in by the caller so connectors never read config files."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReadOptions:
    """``pdf_passwords`` are tried after the empty password; headers and footers of Word files are opt-in."""

    pdf_passwords: tuple[str, ...] = ()
    docx_headers_footers: bool = False
    # A Word file is a zip: refuse one that unpacks to more than this, or that is compressed
    # more than max_zip_ratio times (a zip bomb), before any XML is parsed.
    max_unpacked_mb: float = 1024.0
    max_zip_ratio: float = 200.0
    # One XML part (word/document.xml) larger than this is refused: python-docx parses about
    # 0.3 MB of XML a second and needs 12 times its size in memory, so a larger part would only
    # run into the time or memory limit.
    max_xml_part_mb: float = 50.0
    # OCR of PDF pages without a text layer (see connectors/ocr.py). A page is read by OCR when
    # its text layer has fewer than ocr_min_chars non-space characters, or when images cover
    # at least ocr_image_share of it and its text layer is short (a scan with a stamp or a
    # page number in text). Pages are rendered at ocr_dpi, scaled down to at most ocr_max_pixels.
    ocr: bool = True
    ocr_min_chars: int = 10
    ocr_image_share: float = 0.5
    ocr_dpi: int = 200
    ocr_max_pixels: int = 8_000_000
    ocr_threads: int = 1
    # A page whose text layer decodes to the wrong characters (connectors/garbled.py) and that
    # PDFium cannot read better either is read by OCR too (when ocr is on).
    ocr_garbled: bool = True
    # Ruled tables in PDF pages become Markdown table sections (connectors/pdf_tables.py). It
    # costs pdfminer's reading of each page that draws enough lines for a table, about 0.1 s a
    # page (figures in docs/formats.md); off, such pages keep pypdf's text, cells as loose lines.
    pdf_tables: bool = True
    # A PDF with more pages is refused (too_large) before any page is read: a page tree can list
    # one page a hundred thousand times in a few hundred KB.
    max_pages: int = 5000
    # Spreadsheets (.xlsx, .xls, .et): rows read per sheet and columns read per row. A sheet can
    # declare a million rows of 16,384 columns; past these limits the rest is not read, and the
    # document says so (Document.extra "sheets_truncated" and a log warning).
    max_sheet_rows: int = 20_000
    max_sheet_columns: int = 256
