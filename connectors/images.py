"""Pictures of text (.png, .jpg, .jpeg, .tif, .tiff): scans and photos read by OCR.

An image has no text layer, so its text exists only through OCR (connectors/ocr.py): one section
per frame (a multi-page TIFF gives one per page), each marked ``ocr``. With OCR off the file is
reported as ``no_text`` and the message says why, as for a scanned PDF.

Pillow opens the file lazily (the header only), so the size is checked before any pixel is
decoded: an image over Pillow's ``MAX_IMAGE_PIXELS`` (about 89 million pixels, a 300 dpi scan of
an A0 sheet) is refused as ``too_large`` rather than decoded into gigabytes. What OCR gets is
scaled down to ``ReadOptions.ocr_max_pixels``, as PDF pages are, and turned upright by its
EXIF orientation (phone photos of documents are often stored sideways).

The helpers here are shared with the OFD reader, whose scanned pages are pictures too.
"""

from __future__ import annotations

import io
import logging
import math
import warnings
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from connectors import ocr
from connectors.base import ConnectorError, Document, ErrorCategory, Section
from connectors.options import ReadOptions

log = logging.getLogger(__name__)

# What Pillow may decode here: the formats of scans and photos, and nothing more exotic, so a
# renamed file of another kind is refused rather than fed to a rarely used decoder.
FORMATS = ("PNG", "JPEG", "TIFF", "BMP", "GIF", "WEBP")
# A picture whose grey levels vary by less than this is blank (an empty scanned page).
_BLANK_RANGE = 16
# Below this many pixels on the short side a second look at half size is no use.
_SECOND_LOOK_MIN_SIDE = 1000


class ImageTooLarge(ValueError):
    """An image (or one frame of it) has more pixels than Pillow's MAX_IMAGE_PIXELS."""


def open_image(source: Path | bytes) -> Image.Image:
    """The image, opened lazily; refuses one over the pixel limit before decoding anything.

    Raises UnidentifiedImageError for data that is not an image of :data:`FORMATS`.
    """
    stream: Any = io.BytesIO(source) if isinstance(source, bytes) else source
    with warnings.catch_warnings():
        # Between one and two times the limit Pillow only warns; the check below refuses.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(stream, formats=FORMATS)
        except Image.DecompressionBombError as error:
            raise ImageTooLarge(str(error)) from error
    check_size(image)
    return image


def check_size(image: Image.Image) -> None:
    limit = Image.MAX_IMAGE_PIXELS
    width, height = image.size
    if limit is not None and width * height > limit:
        raise ImageTooLarge(f"{width} x {height} pixels is over the {limit:,} pixel limit")


def for_ocr(frame: Image.Image, max_pixels: int) -> Image.Image | None:
    """The frame upright, on white, in RGB, scaled down to ``max_pixels``; None when blank."""
    width, height = frame.size
    if frame.format == "JPEG" and width * height > max_pixels:
        # JPEG can decode at 1/2, 1/4 or 1/8 size directly: far less work than full size.
        scale = math.sqrt(max_pixels / (width * height))
        frame.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
    frame = ImageOps.exif_transpose(frame)
    if frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info):
        # Transparent pixels would turn black; text drawn on a transparent background is common.
        background = Image.new("RGB", frame.size, "white")
        background.paste(frame.convert("RGBA"), mask=frame.convert("RGBA").getchannel("A"))
        frame = background
    elif frame.mode == "1":
        frame = frame.convert("L")  # resizing in 1-bit mode would drop thin strokes
    width, height = frame.size
    if width * height > max_pixels:
        scale = math.sqrt(max_pixels / (width * height))
        size = (max(1, int(width * scale)), max(1, int(height * scale)))
        frame = frame.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    extrema = frame.convert("L").getextrema()
    if int(extrema[1]) - int(extrema[0]) < _BLANK_RANGE:
        return None
    return frame.convert("RGB")


def recognise(image: Image.Image, options: ReadOptions, stats: ocr.OcrStats) -> str:
    """OCR of one prepared picture, with a second look at half size when nothing was found:
    the text detector misses large, thin-stroked type at full size that it finds at half."""
    found = ocr.recognise_page(image, options.ocr_threads, stats)
    if not found.strip() and min(image.size) >= _SECOND_LOOK_MIN_SIDE:
        half = image.reduce(2)
        found = ocr.recognise_page(half, options.ocr_threads, stats, second_look=True)
    return found


def _frames(path: Path, image: Image.Image, options: ReadOptions) -> int:
    frames = getattr(image, "n_frames", 1)
    if frames > options.max_pages:
        raise ConnectorError(
            path, ErrorCategory.TOO_LARGE, f"{frames} frames is over the {options.max_pages} page limit (walk.max_pages)",
        )
    return frames


def read_image(path: Path, options: ReadOptions) -> Document:
    """Every frame of the image read by OCR, one section each."""
    try:
        image = open_image(path)
    except ImageTooLarge as error:
        raise ConnectorError(path, ErrorCategory.TOO_LARGE, f"image refused: {error} (a decompression bomb?)") from error
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        # Pillow's TIFF and PNG parsers raise SyntaxError and ValueError on malformed headers.
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"not a readable image: {error}") from error
    with image:
        # A camera JPEG with a preview inside is "MPO" to Pillow; to a user it is a JPEG.
        file_type = {"MPO": "jpeg"}.get(image.format or "", (image.format or path.suffix.lstrip(".")).lower())
        frames = _frames(path, image, options)
        if not options.ocr:
            raise ConnectorError(
                path, ErrorCategory.NO_TEXT,
                "an image has no text layer; OCR is off (connectors.ocr), so its text cannot be read",
            )
        stats = ocr.OcrStats()
        sections: list[Section] = []
        for number, frame in enumerate(ImageSequence.Iterator(image), 1):
            try:
                check_size(frame)
                prepared = for_ocr(frame, options.ocr_max_pixels)
                text = recognise(prepared, options, stats) if prepared is not None else ""
            except ImageTooLarge as error:
                raise ConnectorError(path, ErrorCategory.TOO_LARGE, f"frame {number} refused: {error}") from error
            except ocr.OcrUnavailable as error:
                raise ConnectorError(path, ErrorCategory.NO_TEXT, f"an image needs OCR, which is unavailable: {error}") from error
            except (OSError, ValueError, SyntaxError) as error:
                raise ConnectorError(path, ErrorCategory.CORRUPT, f"frame {number} unreadable: {error}") from error
            if text.strip():
                sections.append(Section(text=text, page=number, ocr=True))
    if not sections:
        raise ConnectorError(path, ErrorCategory.NO_TEXT, f"OCR found no text in the image ({frames} frame(s))")
    document = Document(
        path=path, file_type=file_type, sections=sections, pages=frames,
        pages_without_text=frames - len(sections), pages_ocr=stats.pages, ocr_seconds=stats.seconds,
    )
    document.extra["ocr"] = 1
    return document
