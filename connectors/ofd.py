"""OFD documents (GB/T 33190: Chinese official documents and e-invoices), one section per page.

An OFD file is a zip of XML: OFD.xml points to each document's Document.xml, which lists the
pages, and each page's Content.xml places text (TextObject / TextCode, with X, Y and DeltaX
positions) and pictures (ImageObject) on layers, over optional template pages. The text is read
by ofdkit (pure Python, no dependencies, Apache-2.0). It was chosen over writing this reader
because the hard part is not the zip but the files in the wild: it resolves paths the way
producers actually write them, decodes GBK parts and repairs broken namespace prefixes, applies
CTM transforms and templates, and puts the positioned runs back in reading order (runs on one
baseline joined into a line, stacked one-character labels such as 购/买/方 merged, columns read
one after the other). It caps part sizes and refuses DTDs. easyofd needs PyMuPDF, reportlab and
loguru to do less for text; ofdreader on PyPI is an empty placeholder.

Scanned pages (pictures with no text) are read by OCR when ``ReadOptions.ocr`` is on, as PDF
scans are: a page whose text has fewer than ``ocr_min_chars`` characters has its ImageObjects
(those covering at least 5% of the page, so logos and seals are skipped) decoded with Pillow and
recognised. Not read: pictures in JBIG2 (Pillow has no decoder for them), pictures placed
through templates, annotations and attachments, and encrypted OFD files.
"""

from __future__ import annotations

import logging
import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import ofdkit
from ofdkit.package import Package
from PIL import UnidentifiedImageError

from connectors import ocr
from connectors.base import ConnectorError, Document, ErrorCategory, Section
from connectors.containers import check_zip_package
from connectors.images import ImageTooLarge, for_ocr, open_image, recognise
from connectors.options import ReadOptions

log = logging.getLogger(__name__)

# A picture covering less of the page than this is a logo, a seal or a QR code, not a scan.
_MIN_IMAGE_SHARE = 0.05


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: ET.Element | None, name: str) -> Iterator[ET.Element]:
    return (child for child in (element if element is not None else ()) if _local(child.tag) == name)


def _child_text(element: ET.Element | None, name: str) -> str:
    found = next(_children(element, name), None)
    return (found.text or "").strip() if found is not None else ""


def _letters(text: str) -> int:
    return len("".join(text.split()))


class _PageImages:
    """Finds and decodes the pictures of a page; the package is opened on the first page that needs it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._package: Package | None = None
        self._media: dict[str, str] = {}

    def _open(self) -> Package:
        if self._package is None:
            self._package = Package(self.path)
            self._media = self._media_files(self._package)
        return self._package

    @staticmethod
    def _resource_files(package: Package) -> Iterator[str]:
        """The DocumentRes and PublicRes files of every document in the package."""
        entry = package.find("OFD.xml")
        if entry is None:
            return
        for body in _children(package.read_xml(entry), "DocBody"):
            document = package.resolve(entry, _child_text(body, "DocRoot"))
            if document is None:
                continue
            common = next(_children(package.read_xml(document), "CommonData"), None)
            for element in common if common is not None else ():
                if _local(element.tag) in ("DocumentRes", "PublicRes"):
                    resolved = package.resolve(document, element.text)
                    if resolved is not None:
                        yield resolved

    @classmethod
    def _media_files(cls, package: Package, resources: list[str] | None = None) -> dict[str, str]:
        """MultiMedia ID -> the package entry of its file, from the resource files."""
        media: dict[str, str] = {}
        for resource in resources if resources is not None else cls._resource_files(package):
            try:
                root = package.read_xml(resource)
            except ofdkit.OFDError as error:
                log.info("%s: resource file unreadable: %s", resource, error)
                continue
            base = (root.get("BaseLoc") or "").strip()
            for holder in _children(root, "MultiMedias"):
                for item in _children(holder, "MultiMedia"):
                    name = _child_text(item, "MediaFile")
                    location = name if name.startswith("/") or not base else posixpath.join(base, name)
                    entry = package.resolve(resource, location) or package.resolve(resource, name)
                    if entry is not None and item.get("ID"):
                        media.setdefault(item.get("ID", "").strip(), entry)
        return media

    def pictures(self, location: str, page_area: float) -> list[bytes]:
        """The bytes of the page's large pictures, top to bottom."""
        package = self._open()
        root = package.read_xml(location)
        media = self._media
        page_resources = [r for r in (package.resolve(location, e.text) for e in _children(root, "PageRes")) if r]
        if page_resources:
            media = {**media, **self._media_files(package, page_resources)}
        placed = []
        for element in root.iter():
            if _local(element.tag) != "ImageObject":
                continue
            box = [float(v) for v in (element.get("Boundary") or "0 0 0 0").split()[:4]]
            if len(box) < 4 or box[2] * box[3] < _MIN_IMAGE_SHARE * page_area:
                continue
            entry = media.get((element.get("ResourceID") or "").strip())
            if entry is not None:
                placed.append((box[1], box[0], entry))
        return [package.read(entry) for _, _, entry in sorted(placed)]

    def close(self) -> None:
        if self._package is not None:
            self._package.close()


class _PageOcr:
    """OCR of the scanned pages of one document."""

    def __init__(self, path: Path, options: ReadOptions) -> None:
        self.path, self.options = path, options
        self.images = _PageImages(path)
        self.stats = ocr.OcrStats()
        self.tried = False
        self.unavailable: str | None = None

    def read(self, page: ofdkit.Page, number: int, text: str) -> Section | None:
        """The page's text by OCR when that finds more than its text layer; None otherwise."""
        if self.unavailable is not None or page.location is None:
            return None
        found: list[str] = []
        try:
            width, height = page.box[2], page.box[3]
            for data in self.images.pictures(page.location, max(width * height, 1.0)):
                self.tried = True
                with open_image(data) as image:
                    prepared = for_ocr(image, self.options.ocr_max_pixels)
                if prepared is not None:
                    found.append(recognise(prepared, self.options, self.stats))
        except ocr.OcrUnavailable as error:
            self.unavailable = str(error)
            log.warning("%s: OCR unavailable: %s", self.path, error)
            return None
        except MemoryError:
            raise
        except (ImageTooLarge, UnidentifiedImageError, ofdkit.OFDError, OSError, ValueError, SyntaxError) as error:
            # A picture Pillow cannot decode (JBIG2) or refuses costs its page, not the file.
            log.warning("%s: OCR of page %d failed: %s", self.path, number, error)
            self.stats.failures.append(f"page {number}: {error}")
        joined = "\n\n".join(part for part in found if part.strip())
        if _letters(joined) <= _letters(text):
            return None
        return Section(text=joined, page=number, ocr=True)


def _open(path: Path) -> ofdkit.OFDDocument:
    try:
        return ofdkit.open(path)
    except ofdkit.OFDLimitError as error:
        raise ConnectorError(path, ErrorCategory.TOO_LARGE, f"OFD file refused: {error}") from error
    except ofdkit.OFDError as error:
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"unreadable OFD file: {error}") from error


def read_ofd(path: Path, options: ReadOptions) -> Document:
    """Every page's text in reading order, scanned pages by OCR when it is on."""
    check_zip_package(path, options, "OFD file")
    document = _open(path)
    sections: list[Section] = []
    without_text = unreadable = 0
    page_ocr = _PageOcr(path, options) if options.ocr else None
    try:
        pages = document.pages
        if len(pages) > options.max_pages:
            raise ConnectorError(
                path, ErrorCategory.TOO_LARGE, f"{len(pages)} pages is over the {options.max_pages} page limit (walk.max_pages)",
            )
        for number, page in enumerate(pages, 1):
            try:
                text = page.text()
            except ofdkit.OFDError as error:
                log.warning("%s: page %d unreadable: %s", path, number, error)
                unreadable += 1
                text = ""
            section = Section(text=text, page=number)
            if page_ocr is not None and _letters(text) < options.ocr_min_chars:
                section = page_ocr.read(page, number, text) or section
            if section.text.strip():
                sections.append(section)
            else:
                without_text += 1
        title, author = (document.info.title or "").strip(), (document.info.author or "").strip()
    finally:
        document.close()
        if page_ocr is not None:
            page_ocr.images.close()
    if not pages:
        raise ConnectorError(path, ErrorCategory.EMPTY, "the OFD file has no pages")
    if not sections:
        reason = "OCR found no text on its pages either" if page_ocr is not None and page_ocr.tried else (
            "it is probably scanned; OCR is off (connectors.ocr)" if page_ocr is None else "nor any picture to read by OCR"
        )
        raise ConnectorError(path, ErrorCategory.NO_TEXT, f"none of its {len(pages)} page(s) has text; {reason}")
    result = Document(
        path=path, file_type="ofd", sections=sections, title=title, author=author,
        pages=len(pages), pages_without_text=without_text,
    )
    if unreadable:
        result.extra["pages_unreadable"] = unreadable
    if page_ocr is not None:
        result.pages_ocr, result.ocr_seconds = page_ocr.stats.pages, page_ocr.stats.seconds
        if page_ocr.tried:
            result.extra["ocr"] = 1
    return result
