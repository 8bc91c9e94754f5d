"""Pictures of text (.png .jpg .tif), read by OCR: real images from the shared corpus, a two-page
TIFF made here with Pillow, and images that claim more pixels than Pillow will decode."""

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from connectors import ConnectorError, ErrorCategory, ReadOptions, read_document

GOV = Path(__file__).resolve().parents[3] / "shared" / "data" / "docs" / "gov-formats"
needs_gov = pytest.mark.skipif(not GOV.is_dir(), reason=f"the shared corpus is not at {GOV}")


@needs_gov
def test_a_photo_of_text_is_read_by_ocr() -> None:
    document = read_document(GOV / "rapidocr_en.jpg")
    assert (document.file_type, document.pages, document.pages_ocr) == ("jpeg", 1, 1)
    section = document.sections[0]
    assert section.ocr and section.page == 1
    assert "MovieShots" in section.text and "46K shots" in section.text
    assert document.ocr_seconds > 0 and document.extra["ocr"] == 1


@pytest.mark.slow
@needs_gov
def test_every_frame_of_a_tiff_is_a_page_and_blank_ones_are_counted(tmp_path: Path) -> None:
    scan = Image.open(GOV / "rapidocr_en.jpg").convert("L")
    blank = Image.new("L", scan.size, 255)
    blank.save(tmp_path / "two.tif", save_all=True, append_images=[scan], compression="tiff_deflate")
    document = read_document(tmp_path / "two.tif")
    assert (document.file_type, document.pages, document.pages_without_text) == ("tiff", 2, 1)
    assert [(s.page, s.ocr) for s in document.sections] == [(2, True)]
    assert "MovieShots" in document.sections[0].text
    # The blank frame is seen to be blank without running OCR on it.
    assert document.pages_ocr == 1
    with pytest.raises(ConnectorError) as caught:
        read_document(tmp_path / "two.tif", ReadOptions(max_pages=1))
    assert caught.value.category is ErrorCategory.TOO_LARGE


@needs_gov
@pytest.mark.parametrize("name", ["rapidocr_en.jpg", "rapidocr_text_vertical_words.png", "tesseract_8071_093.3B.tif"])
def test_with_ocr_off_an_image_is_no_text_and_the_message_says_so(name: str) -> None:
    with pytest.raises(ConnectorError) as caught:
        read_document(GOV / name, ReadOptions(ocr=False))
    assert caught.value.category is ErrorCategory.NO_TEXT
    assert "OCR is off" in caught.value.message


def _png_claiming(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header claims width x height pixels (the pixel data is not there)."""
    Image.new("1", (8, 8), 1).save(path)
    data = bytearray(path.read_bytes())
    ihdr = 8 + 8  # signature, then the IHDR chunk's length and type
    struct.pack_into(">II", data, ihdr, width, height)
    struct.pack_into(">I", data, ihdr + 13, zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13])))
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("side", [10_000, 50_000])  # over Pillow's limit, and over twice it
def test_a_decompression_bomb_is_too_large(tmp_path: Path, side: int) -> None:
    with pytest.raises(ConnectorError) as caught:
        read_document(_png_claiming(tmp_path / "bomb.png", side, side))
    assert caught.value.category is ErrorCategory.TOO_LARGE


@pytest.mark.parametrize("name", ["garbage.png", "garbage.jpg", "garbage.tiff"])
def test_bytes_that_are_no_image_are_corrupt(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"plain text, not an image")
    with pytest.raises(ConnectorError) as caught:
        read_document(tmp_path / name)
    assert caught.value.category is ErrorCategory.CORRUPT


@needs_gov
def test_a_truncated_jpeg_is_corrupt(tmp_path: Path) -> None:
    data = (GOV / "rapidocr_en.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ConnectorError) as caught:
        read_document(tmp_path / "cut.jpg")
    assert caught.value.category is ErrorCategory.CORRUPT
