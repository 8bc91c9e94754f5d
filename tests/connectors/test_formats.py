"""The formats of government archives in the registry, and mutated files of each raising only
the typed error (or reading): spreadsheets, presentations, OFD and WPS files."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors import CONNECTORS, ConnectorError, ErrorCategory, ReadOptions, import_readers, read_document

GOV = Path(__file__).resolve().parents[3] / "shared" / "data" / "docs" / "gov-formats"
ARCHIVE_SUFFIXES = [".xlsx", ".xls", ".et", ".pptx", ".ppt", ".dps", ".wps", ".ofd", ".png", ".jpg", ".jpeg", ".tif", ".tiff"]


def test_every_archive_format_has_a_reader_and_they_import() -> None:
    assert set(ARCHIVE_SUFFIXES) <= set(CONNECTORS)
    import_readers()  # a parse worker imports them all before forking


def test_opendocument_files_are_unsupported_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "slides.odp").write_bytes(b"PK\x03\x04")
    with pytest.raises(ConnectorError) as caught:
        read_document(tmp_path / "slides.odp")
    assert caught.value.category is ErrorCategory.UNSUPPORTED and "save it as .pptx" in caught.value.message


@pytest.mark.skipif(not GOV.is_dir(), reason=f"the shared corpus is not at {GOV}")
@pytest.mark.parametrize(
    "name",
    [
        "poi_51519_japanese.xlsx", "xlrd_Formate.xls", "poi_bug64693_chinese.pptx",
        "poi_bug55902-mixedFontChineseCharacters.ppt", "ofdrw_zhejiang-vat-einvoice_1.ofd",
    ],
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_files_raise_only_the_typed_error(tmp_path: Path, name: str, data) -> None:
    mutated = bytearray((GOV / name).read_bytes())
    for _ in range(data.draw(st.integers(1, 20), label="mutations")):
        position = data.draw(st.integers(0, len(mutated) - 1), label="position")
        mutated[position] = data.draw(st.integers(0, 255), label="byte")
    cut = data.draw(st.integers(len(mutated) // 2, len(mutated)), label="truncate at")
    target = tmp_path / f"fuzzed{Path(name).suffix}"
    target.write_bytes(bytes(mutated[:cut]))
    # OCR off: a mutated OFD whose text is lost would otherwise look for pictures to read.
    try:
        document = read_document(target, ReadOptions(ocr=False))
    except ConnectorError as error:
        assert error.message
    else:
        assert document.has_text


@pytest.mark.skipif(not GOV.is_dir(), reason=f"the shared corpus is not at {GOV}")
@pytest.mark.parametrize("name", ["ofdrw_zhejiang-vat-einvoice_1.ofd", "poi_bug64693_chinese.pptx"])
def test_a_zip_bomb_disguised_as_an_ofd_or_a_pptx_is_refused_on_its_unpacked_size(tmp_path: Path, name: str) -> None:
    import shutil
    import zipfile

    bomb = tmp_path / f"bomb{Path(name).suffix}"
    shutil.copy(GOV / name, bomb)
    with zipfile.ZipFile(bomb, "a", zipfile.ZIP_DEFLATED) as package:
        package.writestr("Doc_0/Res/zeros.bin", b"\0" * (20 * 1024 * 1024))  # 20 MB in about 20 KB
    with pytest.raises(ConnectorError) as caught:
        read_document(bomb)
    assert caught.value.category is ErrorCategory.TOO_LARGE


def test_a_tiff_of_ten_thousand_pages_is_refused_by_the_page_limit(tmp_path: Path) -> None:
    from PIL import Image

    frames = [Image.new("1", (8, 8)) for _ in range(10_000)]
    frames[0].save(tmp_path / "pages.tif", save_all=True, append_images=frames[1:], compression="group4")
    with pytest.raises(ConnectorError) as caught:
        read_document(tmp_path / "pages.tif")  # walk.max_pages: 5000 by default
    assert caught.value.category is ErrorCategory.TOO_LARGE and "page limit" in caught.value.message
