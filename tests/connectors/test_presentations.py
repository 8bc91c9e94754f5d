"""Presentations (.pptx, .ppt, WPS .dps): real files from the shared corpus, and slides made here
with python-pptx (a Chinese title, a group, a table with a merged cell, speaker notes)."""

import shutil
from pathlib import Path

import olefile
import pytest
from pptx import Presentation
from pptx.util import Inches

from connectors import ConnectorError, ErrorCategory, read_document

GOV = Path(__file__).resolve().parents[3] / "shared" / "data" / "docs" / "gov-formats"
needs_gov = pytest.mark.skipif(not GOV.is_dir(), reason=f"the shared corpus is not at {GOV}")


def _text(document) -> str:
    return "\n".join(section.text for section in document.sections)


def _deck(path: Path) -> Path:
    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])  # title and content
    first.shapes.title.text = "城市供水工作汇报"
    first.placeholders[1].text_frame.text = "一、总体情况"
    first.placeholders[1].text_frame.add_paragraph().text = "二、下一步工作"
    group = first.shapes.add_group_shape()
    group.shapes.add_textbox(Inches(1), Inches(6), Inches(3), Inches(1)).text_frame.text = "组内文字"
    first.notes_slide.notes_text_frame.text = "讲稿：先说水质。"
    second = deck.slides.add_slide(deck.slide_layouts[5])  # title only
    second.shapes.title.text = "水质指标"
    table = second.shapes.add_table(3, 3, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for row, values in enumerate([["项目", "指标", ""], ["浑浊度", "1", "NTU"], ["余氯", "0.3", "毫克/升"]]):
        for col, value in enumerate(values):
            table.cell(row, col).text = value
    table.cell(0, 1).merge(table.cell(0, 2))
    deck.slides.add_slide(deck.slide_layouts[6])  # blank: no section
    deck.core_properties.author = "示例"
    deck.save(path)
    return path


def test_slides_titles_groups_notes_and_tables(tmp_path) -> None:
    document = read_document(_deck(tmp_path / "water.pptx"))
    assert (document.file_type, document.pages, document.author) == ("pptx", 3, "示例")
    assert document.title == "城市供水工作汇报"
    first, second_table = document.sections[0], document.sections[-1]
    assert (first.page, first.headings, first.table) == (1, ("城市供水工作汇报",), False)
    assert first.text == "城市供水工作汇报\n一、总体情况\n二、下一步工作\n组内文字\nNotes:\n讲稿：先说水质。\n"
    assert [(s.page, s.headings, s.table) for s in document.sections[1:]] == [(2, ("水质指标",), False), (2, ("水质指标",), True)]
    # The merged header cell is repeated over the columns it spans.
    assert second_table.text == (
        "| 项目 | 指标 | 指标 |\n| --- | --- | --- |\n| 浑浊度 | 1 | NTU |\n| 余氯 | 0.3 | 毫克/升 |"
    )


@needs_gov
def test_real_pptx_and_ppt_files() -> None:
    chinese = read_document(GOV / "poi_bug64693_chinese.pptx")
    assert chinese.sections[0].page == 1 and "嘿嘿" in _text(chinese)
    legacy = read_document(GOV / "poi_bug55902-mixedFontChineseCharacters.ppt")
    assert (legacy.file_type, legacy.pages, legacy.author) == ("ppt", 1, "mkawachi")
    text = _text(legacy)
    assert "複数の文字" in text and "表Mixパﾋﾟ𠮟" in text and legacy.sections[0].page == 1


@needs_gov
def test_the_first_bytes_choose_the_reader_whatever_the_suffix(tmp_path) -> None:
    # No WPS presentation was found to test with: WPS writes .dps as the PowerPoint binary or as
    # a .pptx zip, which is what these renamed files are.
    shutil.copy(GOV / "poi_bug55902-mixedFontChineseCharacters.ppt", tmp_path / "slides.dps")
    assert read_document(tmp_path / "slides.dps").file_type == "dps"
    _deck(tmp_path / "zip.dps")
    assert "水质指标" in _text(read_document(tmp_path / "zip.dps"))
    _deck(tmp_path / "renamed.ppt")
    assert read_document(tmp_path / "renamed.ppt").file_type == "pptx"


@needs_gov
def test_an_encrypted_ppt_is_refused(tmp_path) -> None:
    target = tmp_path / "locked.ppt"
    shutil.copy(GOV / "poi_bug55902-mixedFontChineseCharacters.ppt", target)
    with olefile.OleFileIO(str(target), write_mode=True) as ole:
        current_user = bytearray(ole.openstream("Current User").read())
        current_user[12:16] = b"\xdf\xc4\xd1\xf3"  # the header token of an encrypted document
        ole.write_stream("Current User", bytes(current_user))
    with pytest.raises(ConnectorError) as caught:
        read_document(target)
    assert caught.value.category is ErrorCategory.ENCRYPTED


@needs_gov
def test_an_ole_file_of_another_kind_is_unsupported(tmp_path) -> None:
    shutil.copy(GOV / "xlrd_profiles.xls", tmp_path / "sheet.ppt")
    with pytest.raises(ConnectorError) as caught:
        read_document(tmp_path / "sheet.ppt")
    assert caught.value.category is ErrorCategory.UNSUPPORTED and "PowerPoint Document" in caught.value.message


@needs_gov
def test_a_truncated_ppt_is_corrupt(tmp_path) -> None:
    data = (GOV / "poi_bug55902-mixedFontChineseCharacters.ppt").read_bytes()
    (tmp_path / "cut.ppt").write_bytes(data[: len(data) // 3])
    with pytest.raises(ConnectorError) as caught:
        read_document(tmp_path / "cut.ppt")
    assert caught.value.category is ErrorCategory.CORRUPT


@pytest.mark.parametrize("name", ["garbage.pptx", "garbage.ppt", "garbage.dps"])
def test_garbage_is_corrupt(tmp_path, name) -> None:
    (tmp_path / name).write_bytes(b"no slides here, only bytes")
    with pytest.raises(ConnectorError) as caught:
        read_document(tmp_path / name)
    assert caught.value.category is ErrorCategory.CORRUPT


def test_a_pptx_declaring_entities_is_refused(tmp_path) -> None:
    import zipfile

    source = _deck(tmp_path / "deck.pptx")
    target = tmp_path / "laughs.pptx"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename == "ppt/slides/slide1.xml":
                end = data.index(b"?>") + 2
                data = data[:end] + b'<!-- a comment first --><!DOCTYPE x [<!ENTITY a "b">]>' + data[end:]
            new.writestr(item, data)
    with pytest.raises(ConnectorError) as caught:
        read_document(target)
    assert caught.value.category is ErrorCategory.CORRUPT and "DTD" in caught.value.message
