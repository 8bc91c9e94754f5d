"""Spreadsheets (.xlsx, .xls, WPS .et): real files from the shared corpus, and workbooks made here
with openpyxl (merged title and header cells, Chinese text, a wrong <dimension>, many rows)."""

import shutil
import zipfile
from pathlib import Path

import olefile
import pytest
from openpyxl import Workbook

from connectors import ConnectorError, ErrorCategory, ReadOptions, read_document

GOV = Path(__file__).resolve().parents[3] / "shared" / "data" / "docs" / "gov-formats"
needs_gov = pytest.mark.skipif(not GOV.is_dir(), reason=f"the shared corpus is not at {GOV}")


def _text(document) -> str:
    return "\n".join(section.text for section in document.sections)


def _water_workbook(path: Path) -> Path:
    """A Chinese statistics sheet as people lay them out: a title merged across the table, a
    header cell merged over two columns, and a district merged down two rows."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "供水统计"
    sheet["A1"] = "2023年城市供水统计表"
    sheet.merge_cells("A1:D1")
    sheet.append(["区县", "供水量（万吨）", None, "备注"])
    sheet.merge_cells("B2:C2")
    sheet.append([None, "生活", "工业", None])
    sheet.append(["东城区", 120.5, 30, "含二次供水"])
    sheet.append([None, 98, 12.25, "a|b"])
    sheet.merge_cells("A4:A5")
    notes = workbook.create_sheet("说明")
    notes["A1"] = "数据来源：市水务局"
    workbook.create_sheet("空表")
    workbook.properties.title = "城市供水"
    workbook.properties.creator = "示例"
    workbook.save(path)
    return path


def test_merged_title_header_and_rows_become_a_markdown_table(tmp_path) -> None:
    document = read_document(_water_workbook(tmp_path / "water.xlsx"))
    assert (document.file_type, document.title, document.author) == ("xlsx", "城市供水", "示例")
    assert [section.headings for section in document.sections] == [("供水统计",), ("说明",)]
    table = document.sections[0]
    assert table.table
    assert table.text == (
        "2023年城市供水统计表\n"
        "\n"
        "| 区县 | 供水量（万吨） | 供水量（万吨） | 备注 |\n"
        "| --- | --- | --- | --- |\n"
        "|  | 生活 | 工业 |  |\n"
        "| 东城区 | 120.5 | 30 | 含二次供水 |\n"
        "| 东城区 | 98 | 12.25 | a\\|b |\n"
    ).rstrip("\n")
    # A sheet of one value is a line, not a table.
    assert document.sections[1].text == "数据来源：市水务局"


def test_rows_past_the_limit_are_not_read_and_the_document_says_so(tmp_path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["编号", "名称"])
    for number in range(1, 31):
        sheet.append([number, f"第{number}项"])
    workbook.save(tmp_path / "long.xlsx")
    document = read_document(tmp_path / "long.xlsx", ReadOptions(max_sheet_rows=11, max_sheet_columns=1))
    # Eleven rows of the first column: the header and items 1 to 10, as lines (one column).
    assert _text(document).split("\n") == ["编号", *map(str, range(1, 11))]
    assert document.extra == {"sheets_truncated": 1, "sheet_rows_limit": 11}
    assert "sheets_truncated" not in read_document(tmp_path / "long.xlsx").extra


def test_a_wrong_dimension_does_not_cut_rows_short(tmp_path) -> None:
    source = _water_workbook(tmp_path / "water.xlsx")
    target = tmp_path / "wrong-dimension.xlsx"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                assert b'<dimension ref="A1:D5"/>' in data
                data = data.replace(b'<dimension ref="A1:D5"/>', b'<dimension ref="A1"/>')
            new.writestr(item, data)
    assert "含二次供水" in _text(read_document(target))


@needs_gov
def test_real_xlsx_files() -> None:
    japanese = read_document(GOV / "poi_51519_japanese.xlsx")
    assert japanese.sections[0].headings == ("Sheet1",) and japanese.sections[0].table
    assert "| 1 | 豊田 | 豊田車会社 |" in _text(japanese)
    budget = read_document(GOV / "poi_Tables.xlsx")
    assert len(budget.sections) == 12
    # A header merged over two columns is repeated in both.
    assert "| GROSS | PRSI Liability | PRSI Liability |" in budget.sections[0].text


@needs_gov
def test_real_xls_files_dates_times_and_merged_cells() -> None:
    profiles = read_document(GOV / "xlrd_profiles.xls")
    assert profiles.file_type == "xls" and len(profiles.sections) == 5
    # Float noise from arithmetic is dropped: 0.2000099999999918 reads as 0.20001.
    assert "| P8.2 | 0 | 0.20001 | 1.10004 | 2.42514 | 3.35 |" in _text(profiles)
    formats = read_document(GOV / "xlrd_Formate.xls")
    text = _text(formats)
    assert "| Äcker | 2005-02-23 |" in text and "| Morgen | 06:34:00 |" in text
    assert formats.sections[1].text.count("MERGED CELLS") == 1


@needs_gov
def test_the_first_bytes_choose_the_reader_whatever_the_suffix(tmp_path) -> None:
    # No WPS spreadsheet was found to test with: WPS writes .et as a BIFF8 workbook, which is
    # what a renamed .xls is; a zip .et is a renamed .xlsx.
    shutil.copy(GOV / "xlrd_profiles.xls", tmp_path / "profiles.et")
    biff = read_document(tmp_path / "profiles.et")
    assert biff.file_type == "et" and "PROFILEDEF" in biff.sections[0].headings
    _water_workbook(tmp_path / "water.et")
    assert read_document(tmp_path / "water.et").file_type == "et"
    _water_workbook(tmp_path / "renamed.xls")
    assert read_document(tmp_path / "renamed.xls").file_type == "xlsx"
    shutil.copy(GOV / "xlrd_Formate.xls", tmp_path / "renamed.xlsx")
    assert read_document(tmp_path / "renamed.xlsx").file_type == "xls"


def test_an_html_table_named_xls_is_read_as_html(tmp_path) -> None:
    export = tmp_path / "export.xls"
    export.write_text("<html><body><table><tr><td>项目</td><td>金额</td></tr></table></body></html>", encoding="utf-8")
    document = read_document(export)
    assert document.file_type == "html" and "项目" in _text(document)


def _olefile_with_stream_renamed(source: Path, target: Path, old: str, new: str) -> Path:
    """A copy of an OLE file with one directory entry renamed (same tree, new name)."""
    data = bytearray(source.read_bytes())
    encoded_old, encoded_new = old.encode("utf-16-le") + b"\0\0", new.encode("utf-16-le") + b"\0\0"
    at = data.index(encoded_old)
    data[at : at + 64] = encoded_new.ljust(64, b"\0")
    data[at + 64 : at + 66] = len(encoded_new).to_bytes(2, "little")
    target.write_bytes(bytes(data))
    return target


@needs_gov
def test_a_password_protected_xlsx_is_encrypted(tmp_path) -> None:
    # A protected .xlsx is an OLE file with an EncryptedPackage stream instead of a zip.
    target = _olefile_with_stream_renamed(GOV / "xlrd_Formate.xls", tmp_path / "locked.xlsx", "Workbook", "EncryptedPackage")
    with olefile.OleFileIO(str(target)) as ole:
        assert ole.exists("EncryptedPackage")
    with pytest.raises(ConnectorError) as caught:
        read_document(target)
    assert caught.value.category is ErrorCategory.ENCRYPTED


@pytest.mark.parametrize(
    ("name", "content", "category"),
    [
        ("garbage.xlsx", b"this is not a workbook at all", ErrorCategory.CORRUPT),
        ("garbage.xls", b"\x00\x01\x02 not a workbook", ErrorCategory.CORRUPT),
        ("truncated.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, ErrorCategory.CORRUPT),
        ("truncated.xlsx", b"PK\x03\x04" + b"\x00" * 100, ErrorCategory.CORRUPT),
    ],
)
def test_damaged_files_raise_a_typed_error(tmp_path, name, content, category) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ConnectorError) as caught:
        read_document(tmp_path / name)
    assert caught.value.category is category


@needs_gov
def test_a_truncated_real_xls_is_corrupt(tmp_path) -> None:
    data = (GOV / "xlrd_profiles.xls").read_bytes()
    (tmp_path / "cut.xls").write_bytes(data[: len(data) // 2])
    with pytest.raises(ConnectorError) as caught:
        read_document(tmp_path / "cut.xls")
    assert caught.value.category is ErrorCategory.CORRUPT


def test_an_xlsx_zip_bomb_is_refused(tmp_path) -> None:
    bomb = _water_workbook(tmp_path / "bomb.xlsx")
    with zipfile.ZipFile(bomb, "a", zipfile.ZIP_DEFLATED) as package:
        package.writestr("xl/media/zeros.bin", b"\0" * (20 * 1024 * 1024))
    with pytest.raises(ConnectorError) as caught:
        read_document(bomb)
    assert caught.value.category is ErrorCategory.TOO_LARGE and "zip bomb" in caught.value.message
