"""PDF pages through PDFium, for what pypdf cannot do: how much of a page images cover and the
page rendered (for OCR), whether it draws any lines (for the table finder), and a second reading
of its text layer (for a page whose text pypdf decodes to the wrong characters).

pypdf reads the text layer but cannot draw a page; PDFium (pypdfium2) can, in native code,
without a browser or Ghostscript. The document is opened on the first page that needs it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

# A page whose rendering varies by less than this (0-255 grey levels) is blank: nothing to read.
_BLANK_RANGE = 16


class PageImages:
    """Renders pages of one PDF; ``password`` is the one that opened it with pypdf, if any."""

    def __init__(self, path: Path, password: str | None = None) -> None:
        self.path = path
        self.password = password
        self._document: Any = None

    def _open(self) -> Any:
        if self._document is None:
            import pypdfium2

            self._document = pypdfium2.PdfDocument(self.path, password=self.password or None)
        return self._document

    def image_share(self, index: int) -> float:
        """The share of the page's area that images cover (0 to 1; overlaps may count twice)."""
        import pypdfium2.raw as pdfium_c

        page = self._open()[index]
        width, height = page.get_size()
        if width <= 0 or height <= 0:
            return 0.0
        covered = 0.0
        for image in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3):
            left, bottom, right, top = image.get_bounds()
            covered += max(0.0, min(right, width) - max(left, 0.0)) * max(0.0, min(top, height) - max(bottom, 0.0))
        return min(covered / (width * height), 1.0)

    def path_segments(self, index: int, enough: int) -> int:
        """How many segments the page's vector paths (lines, rectangles, curves) have, in form
        objects too, counted up to ``enough``: a ruled table is drawn with them, and a page
        with too few cannot hold one."""
        import pypdfium2.raw as pdfium_c

        count = 0
        for path in self._open()[index].get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=3):
            count += max(pdfium_c.FPDFPath_CountSegments(path.raw), 0)
            if count >= enough:
                break
        return count

    def text(self, index: int) -> str:
        """The page's text layer as PDFium decodes it (its own font and encoding code, which
        gets some fonts right that pypdf does not)."""
        textpage = self._open()[index].get_textpage()
        try:
            return textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n")
        finally:
            textpage.close()

    def render(self, index: int, dpi: int, max_pixels: int) -> Any | None:
        """The page as an RGB PIL image at ``dpi``, scaled down to at most ``max_pixels``;
        None when the page is blank."""
        page = self._open()[index]
        width, height = page.get_size()  # in points, 72 to the inch
        scale = dpi / 72
        if width * height * scale * scale > max_pixels:
            scale = math.sqrt(max_pixels / (width * height))
        image = page.render(scale=scale).to_pil().convert("RGB")
        grey = np.asarray(image.convert("L"))
        if int(grey.max()) - int(grey.min()) < _BLANK_RANGE:
            return None
        return image

    def close(self) -> None:
        if self._document is not None:
            self._document.close()
            self._document = None
