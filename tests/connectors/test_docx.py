from pathlib import Path

import pytest

from connectors import ConnectorError, ErrorCategory, ReadOptions, read_document


def test_headings_become_a_heading_path(fixtures: Path) -> None:
    document = read_document(fixtures / "category-level.docx")
    paths = [section.headings for section in document.sections]
    assert ("A Heading 1", "A Heading 2") in paths
    # A second level-1 heading closes the first one and everything below it.
    assert ("Another Heading 1",) in paths


def test_a_table_is_a_markdown_table_in_a_section_of_its_own(fixtures: Path) -> None:
    document = read_document(fixtures / "docx-tables.docx")
    tables = [section.text for section in document.sections if section.table]
    assert len(tables) == 3
    assert tables[0].splitlines() == [
        "| Header Col 1 | Header Col 2 |",
        "| --- | --- |",
        "| Lorem ipsum | A link example |",
    ]
    # A nested table stays inside its cell's text instead of adding rows to the outer table.
    assert tables[1].splitlines()[2] == "| d | e f g&t h | i |"
    assert not any("Header Col 1" in section.text for section in document.sections if not section.table)


def test_merged_cells_repeat_down_and_are_written_once_across(fixtures: Path) -> None:
    document = read_document(fixtures / "docx-tables.docx")
    merged = [section.text for section in document.sections if section.table][2]
    # Word: a (merged down two rows) | b (merged across two columns); c | d (merged down); e (across).
    assert merged.splitlines() == ["| a | b |  |", "| --- | --- | --- |", "| a | c | d |", "| e |  | d |"]


def test_chinese_tables_keep_their_headers_and_headings(fixtures: Path) -> None:
    document = read_document(fixtures / "procurement-zh.docx")
    first = next(section for section in document.sections if section.table)
    assert first.text.splitlines()[0] == "| 序号 | 项目名称 | 服务期限 | 预算金额 |"
    assert "| 1 | 歌山镇农贸市场经营管理权项目 | 二年 | 35万元/年 |" in first.text
    under_heading = [section for section in document.sections if section.table and section.headings]
    assert under_heading and under_heading[0].headings[0]


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


GOV = Path(__file__).resolve().parents[3] / "shared" / "data" / "docs" / "gov-formats"


def _docx_with_picture(path: Path, picture: Path, text: str = "") -> Path:
    import docx as python_docx
    from PIL import Image

    png = path.with_suffix(".png")
    with Image.open(picture) as image:
        image.convert("RGB").save(png)
    document = python_docx.Document()
    if text:
        document.add_paragraph(text)
    document.add_picture(str(png))
    document.save(str(path))
    return path


def test_a_small_picture_in_a_word_file_is_never_read_by_ocr(tmp_path) -> None:
    # A logo-sized picture (709 x 132 pixels of text) beside the text: not a scanned page.
    path = _docx_with_picture(tmp_path / "memo.docx", GOV / "rapidocr_en.jpg", "The council met on Monday.")
    document = read_document(path, ReadOptions())
    assert document.pages_ocr == 0 and not any(section.ocr for section in document.sections)


@pytest.mark.slow
def test_a_scanned_page_pasted_into_word_is_read_by_ocr_like_an_image(tmp_path) -> None:
    scan = GOV / "tesseract_8071_093.3B.tif"
    path = _docx_with_picture(tmp_path / "scan.docx", scan)
    document = read_document(path, ReadOptions())
    as_image = read_document(scan, ReadOptions())
    assert document.pages_ocr == 1 and [s.ocr for s in document.sections] == [True]
    assert document.sections[0].text == as_image.sections[0].text and len(as_image.sections[0].text) > 1000
    # With OCR off the picture is left alone, and a file with no text of its own says so.
    with pytest.raises(ConnectorError):
        read_document(path, ReadOptions(ocr=False))
