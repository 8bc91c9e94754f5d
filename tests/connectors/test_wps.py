"""WPS Writer files (.wps). No real .wps was at hand: WPS saves them as a Word 97-2003 binary or,
in newer versions, as a .docx zip, so renamed Word files stand for them here."""

import shutil
from pathlib import Path

import pytest

from connectors import ConnectorError, ErrorCategory, read_document

GOV = Path(__file__).resolve().parents[3] / "shared" / "data" / "docs" / "gov-formats"


def test_a_word_binary_wps_is_read_as_a_doc(fixtures: Path, tmp_path: Path) -> None:
    shutil.copy(fixtures / "water-zh.doc", tmp_path / "water.wps")
    document = read_document(tmp_path / "water.wps")
    assert document.file_type == "wps" and document.title == "城市供水管理办法"
    assert "第一条 为了加强城市供水管理" in "".join(section.text for section in document.sections)


def test_a_docx_wps_is_read_as_a_docx(fixtures: Path, tmp_path: Path) -> None:
    shutil.copy(fixtures / "category-level.docx", tmp_path / "new.wps")
    document = read_document(tmp_path / "new.wps")
    assert document.file_type == "wps" and document.has_text


def test_an_old_kingsoft_format_is_unsupported(tmp_path: Path) -> None:
    (tmp_path / "old.wps").write_bytes(b"\xff\x00 bytes of some pre-2005 format")
    with pytest.raises(ConnectorError) as caught:
        read_document(tmp_path / "old.wps")
    assert caught.value.category is ErrorCategory.UNSUPPORTED and "save it as .docx" in caught.value.message


@pytest.mark.skipif(not GOV.is_dir(), reason=f"the shared corpus is not at {GOV}")
def test_an_ole_file_without_a_word_stream_is_unsupported(tmp_path: Path) -> None:
    shutil.copy(GOV / "xlrd_profiles.xls", tmp_path / "sheet.wps")
    with pytest.raises(ConnectorError) as caught:
        read_document(tmp_path / "sheet.wps")
    assert caught.value.category is ErrorCategory.UNSUPPORTED and "WordDocument" in caught.value.message


def test_a_truncated_wps_is_corrupt(fixtures: Path, tmp_path: Path) -> None:
    data = (fixtures / "water-zh.doc").read_bytes()
    (tmp_path / "cut.wps").write_bytes(data[:1000])
    with pytest.raises(ConnectorError) as caught:
        read_document(tmp_path / "cut.wps")
    assert caught.value.category is ErrorCategory.CORRUPT
