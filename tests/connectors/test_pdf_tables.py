"""Ruled tables in PDF pages become Markdown table sections: real government statistics tables
from the shared corpus, and a Chinese notice with merged cells made by bench/pdf_tables.py."""

from pathlib import Path

import pytest

from connectors import ReadOptions, read_document

GOV = Path(__file__).resolve().parents[3] / "shared" / "data" / "docs" / "gov-formats"
needs_gov = pytest.mark.skipif(not GOV.is_dir(), reason=f"the shared corpus is not at {GOV}")


def _rows(markdown: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in markdown.splitlines() if line.startswith("|")]


@needs_gov
def test_a_statistics_table_is_found_with_its_header_and_every_row() -> None:
    document = read_document(GOV / "camelot_agstat.pdf", ReadOptions(ocr=False))
    tables = [section for section in document.sections if section.table]
    assert len(tables) == 1 and tables[0].page == 1
    rows = _rows(tables[0].text)
    assert rows[0][:2] == ["Sl. No.", "District"]
    # The header written upwards reads in order, not letter-reversed or word-shuffled.
    assert rows[0][2] == "Projected Population for 2012-13 (In lakhs)"
    assert rows[1][1] == "---" and len(rows) == 34  # header, separator, 32 more rows
    assert ["1", "Balasore", "23.65", "20.81", "3.04", "3.47", "2.78", "0.86", "3.64", "0.17", "0.25"] in rows
    assert rows[-1][0] == "ODISHA" and rows[-1][-1] == "47.92"


@needs_gov
def test_the_page_text_keeps_the_title_and_leaves_the_cells_to_the_table() -> None:
    document = read_document(GOV / "camelot_agstat.pdf", ReadOptions(ocr=False))
    text = "\n".join(section.text for section in document.sections if not section.table)
    assert "DISTRICT WISE ESTIMATES OF MARKETABLE SURPLUS" in text
    assert "Balasore" not in text and "23.65" not in text
    # Reading order: the title above the table comes before it.
    kinds = [section.table for section in document.sections]
    assert kinds.index(True) > kinds.index(False)


@needs_gov
def test_rows_sharing_one_ruled_band_are_cut_into_their_own_rows() -> None:
    document = read_document(GOV / "camelot_district_health.pdf", ReadOptions(ocr=False))
    rows = _rows(next(section.text for section in document.sections if section.table))
    assert ["Indicators", "TOTAL", "RURAL", "TOTAL", "RURAL"] in rows
    assert ["Men who smoke", "56.0", "56.4", "NA", "NA"] in rows
    assert ["Women who consume alcohol", "10.9", "9.3", "NA", "NA"] in rows


def test_merged_cells_in_a_chinese_table(fixtures: Path) -> None:
    document = read_document(fixtures / "table-zh.pdf", ReadOptions(ocr=False))
    assert [section.table for section in document.sections] == [False, True, False]
    rows = _rows(document.sections[1].text)
    assert rows[0] == ["序号", "项目名称", "实施单位", "预算金额（万元）"]
    # Merged down: repeated in each row. Merged across: written once, in its first column.
    assert rows[2] == ["1", "老旧供水管网改造", "市水务集团", "1,250.00"]
    assert rows[3] == ["2", "二次供水设施升级", "市水务集团", "860.50"]
    assert rows[-1] == ["合计", "", "", "2,423.30"]
    assert "市疾控中心" not in document.sections[0].text + document.sections[2].text
    assert "请于公示期内" in document.sections[2].text


def test_tables_off_keeps_the_page_text_as_one_section(fixtures: Path) -> None:
    document = read_document(fixtures / "table-zh.pdf", ReadOptions(ocr=False, pdf_tables=False))
    assert len(document.sections) == 1 and not document.sections[0].table
    assert "市疾控中心" in document.sections[0].text


def test_a_page_without_lines_is_not_handed_to_the_table_finder(fixtures: Path) -> None:
    document = read_document(fixtures / "pdflatex-outline.pdf", ReadOptions(ocr=False))
    assert not any(section.table for section in document.sections)
    assert [section.page for section in document.sections] == [1, 2, 3, 4]


@pytest.mark.parametrize("angle", [90, 180, 270])
def test_a_rotated_page_keeps_the_cells_out_of_its_text(fixtures: Path, tmp_path: Path, angle: int) -> None:
    import pypdf

    # pypdf places text in the page's own space, pdfplumber in the space of the page as shown.
    # (Turned, this page shows its table on its side; the table is read as shown.)
    writer = pypdf.PdfWriter(clone_from=fixtures / "table-zh.pdf")
    writer.pages[0].rotate(angle)
    writer.write(tmp_path / "rotated.pdf")
    document = read_document(tmp_path / "rotated.pdf", ReadOptions(ocr=False))
    assert [section.table for section in document.sections] == [False, True, False]
    text = "".join(section.text for section in document.sections if not section.table)
    assert "市疾控中心" not in text and "1,250.00" not in text
    assert "根据政府采购有关规定" in text and "请于公示期内" in text
