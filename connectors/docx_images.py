"""Scanned pages pasted into Word files: large pictures read by OCR, as scanned PDF pages are.

A .docx whose pages are pictures (a scan pasted into Word, common in archives) has no text for
its content. Its pictures are found in document order (inline or floating, ``a:blip`` elements
pointing at image parts), and each one large enough to be a page is read by OCR. Small pictures
(logos, icons, signatures) are never read, and neither are the pictures of a document with plenty
of text of its own: those are illustrations, and OCR costs seconds a picture.
"""

from __future__ import annotations

import logging

from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from PIL import UnidentifiedImageError

from connectors import ocr
from connectors.base import Section
from connectors.images import ImageTooLarge, for_ocr, open_image, recognise
from connectors.options import ReadOptions

log = logging.getLogger(__name__)

# A page scanned at 100 dpi is about 830 x 1170 pixels; a logo or a signature is far smaller.
PAGE_MIN_PIXELS = 500_000
PAGE_MIN_SIDE = 600
# With this many characters of its own per large picture, a document's pictures illustrate text.
TEXT_PER_PICTURE = 200


def _pictures(document: DocxDocument) -> list[bytes]:
    """The image data of every picture in the body, in document order, each once."""
    parts = document.part.related_parts
    seen: set[str] = set()
    found = []
    for blip in document.element.body.iter(qn("a:blip")):
        rid = blip.get(qn("r:embed"))
        if rid and rid not in seen and rid in parts:
            seen.add(rid)
            found.append(parts[rid].blob)
    return found


def _page_like(blob: bytes) -> bool:
    try:
        with open_image(blob) as image:
            width, height = image.size
    except (ImageTooLarge, UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return False  # not a picture OCR could read (EMF, WMF, damaged): skipped, not fatal
    return width * height >= PAGE_MIN_PIXELS and min(width, height) >= PAGE_MIN_SIDE


def scanned_pages(document: DocxDocument, text_chars: int, options: ReadOptions) -> tuple[list[Section], ocr.OcrStats]:
    """OCR sections for the page-like pictures of a document with little text of its own."""
    stats = ocr.OcrStats()
    if not options.ocr:
        return [], stats
    pages = [blob for blob in _pictures(document) if _page_like(blob)][: options.max_pages]
    if not pages or text_chars >= TEXT_PER_PICTURE * len(pages):
        return [], stats
    sections = []
    for number, blob in enumerate(pages, 1):
        try:
            with open_image(blob) as image:
                prepared = for_ocr(image, options.ocr_max_pixels)
                text = recognise(prepared, options, stats) if prepared is not None else ""
        except ocr.OcrUnavailable as error:
            log.warning("a pasted scan needs OCR, which is unavailable: %s", error)
            break
        except (ImageTooLarge, OSError, ValueError, SyntaxError) as error:
            log.info("pasted picture %d not read: %s", number, error)
            continue
        if len(text.strip()) >= options.ocr_min_chars:
            sections.append(Section(text=text, page=number, ocr=True))
    return sections, stats
