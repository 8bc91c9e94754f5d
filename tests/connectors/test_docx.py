from pathlib import Path

import pytest

from connectors import ConnectorError, ErrorCategory, read_document


def test_headings_become_a_heading_path(fixtures: Path) -> None:
    document = read_document(fixtures / "category-level.docx")
    paths = [section.headings for section in document.sections]
    assert ("A Heading 1", "A Heading 2") in paths
    # A second level-1 heading closes the first one and everything below it.
    assert ("Another Heading 1",) in paths


def test_tables_are_rows_of_cells(fixtures: Path) -> None:
    document = read_document(fixtures / "docx-tables.docx")
    lines = [line for section in document.sections for line in section.text.splitlines()]
    assert any(" | " in line for line in lines)


def test_chinese_word_file_keeps_its_text(fixtures: Path) -> None:
    document = read_document(fixtures / "procurement-zh.docx")
    text = "".join(section.text for section in document.sections)
    assert "东阳市歌山镇农贸市场经营管理权项目" in text
    assert "预算金额" in text


def test_a_format_without_connector_is_unsupported_with_advice(fixtures: Path) -> None:
    with pytest.raises(ConnectorError) as caught:
        read_document(fixtures / "notes.rtf")
    assert caught.value.category is ErrorCategory.UNSUPPORTED
    assert ".docx" in caught.value.message


def test_a_docx_that_is_not_a_zip_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    with pytest.raises(ConnectorError) as caught:
        read_document(path)
    assert caught.value.category is ErrorCategory.CORRUPT
