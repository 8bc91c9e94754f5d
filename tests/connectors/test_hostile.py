"""Hostile input: zip bombs, XML entity expansion, and fuzzed bytes of every format."""

import shutil
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors import ConnectorError, ReadOptions, read_document
from connectors.pdf import pdf_page_count
from tests import hostile_files


def _rewrite_docx(source: Path, target: Path, change) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            new.writestr(item, change(item.filename, old.read(item)))


def test_a_zip_bomb_is_refused_before_parsing(fixtures, tmp_path) -> None:
    bomb = tmp_path / "bomb.docx"
    shutil.copy(fixtures / "category-level.docx", bomb)
    with zipfile.ZipFile(bomb, "a", zipfile.ZIP_DEFLATED) as package:
        package.writestr("word/media/zeros.bin", b"\0" * (40 * 1024 * 1024))
    with pytest.raises(ConnectorError) as refused:
        read_document(bomb, ReadOptions(max_unpacked_mb=30))
    assert refused.value.category.value == "too_large"
    assert "zip bomb" in refused.value.message
    # Within limits, the same packaging is fine: the ratio test alone catches it.
    with pytest.raises(ConnectorError, match="ratio"):
        read_document(bomb, ReadOptions())


def test_xml_entity_expansion_is_refused(fixtures, tmp_path) -> None:
    laughs = b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'

    def add_dtd(name: str, data: bytes) -> bytes:
        if name != "word/document.xml":
            return data
        declaration_end = data.index(b"?>") + 2
        return data[:declaration_end] + laughs + data[declaration_end:]

    target = tmp_path / "laughs.docx"
    _rewrite_docx(fixtures / "category-level.docx", target, add_dtd)
    with pytest.raises(ConnectorError) as refused:
        read_document(target)
    assert refused.value.category.value == "corrupt"
    assert "XML entities" in refused.value.message


@pytest.mark.parametrize("name", ["pdflatex-outline.pdf", "category-level.docx", "water-zh.doc", "fake-html-cp1252.html"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_files_raise_only_the_typed_error(fixtures, tmp_path, name, data) -> None:
    original = (fixtures / name).read_bytes()
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 20), label="mutations")):
        position = data.draw(st.integers(0, len(mutated) - 1), label="position")
        mutated[position] = data.draw(st.integers(0, 255), label="byte")
    cut = data.draw(st.integers(len(mutated) // 2, len(mutated)), label="truncate at")
    target = tmp_path / f"fuzzed{Path(name).suffix}"
    target.write_bytes(bytes(mutated[:cut]))
    try:
        document = read_document(target, ReadOptions())
    except ConnectorError as error:
        assert error.message
    else:
        assert document.has_text


# --- cases found by hostile folders (see tests/hostile_files.py) ---------------------------


@pytest.mark.parametrize("build", [hostile_files.docx_doctype_after_comment, hostile_files.docx_doctype_utf16])
def test_entity_declarations_are_refused_wherever_the_prolog_hides_them(tmp_path, build) -> None:
    with pytest.raises(ConnectorError) as refused:
        read_document(build(tmp_path / "hidden-dtd.docx"))
    assert refused.value.category.value == "corrupt" and "XML entities" in refused.value.message


def test_an_xml_part_too_large_to_parse_is_too_large_not_corrupt(tmp_path) -> None:
    huge = hostile_files.docx_huge_xml(tmp_path / "register.docx", unpacked_mb=6)
    with pytest.raises(ConnectorError) as refused:
        read_document(huge, ReadOptions(max_xml_part_mb=5))
    assert refused.value.category.value == "too_large"
    assert "word/document.xml" in refused.value.message and "max_xml_part_mb" in refused.value.message


def test_a_program_under_a_text_name_is_unsupported(tmp_path) -> None:
    with pytest.raises(ConnectorError) as refused:
        read_document(hostile_files.elf_as_text(tmp_path / "program.txt"))
    assert refused.value.category.value == "unsupported" and "binary" in refused.value.message


def test_utf16_text_is_not_mistaken_for_binary(fixtures) -> None:
    assert "test document" in read_document(fixtures / "fake-text-utf-16-be.txt").sections[0].text


def test_html_nested_a_thousand_deep_keeps_its_text(tmp_path) -> None:
    document = read_document(hostile_files.deep_html(tmp_path / "deep.html", depth=1000))
    assert "pump schedule" in " ".join(section.text for section in document.sections)


def test_an_overflowing_startxref_is_corrupt_and_counting_its_pages_never_raises(tmp_path) -> None:
    broken = hostile_files.overflowing_startxref_pdf(tmp_path / "overflow.pdf")
    assert pdf_page_count(broken, ReadOptions()) == 0
    with pytest.raises(ConnectorError) as refused:
        read_document(broken)
    assert refused.value.category.value == "corrupt"


def test_a_page_tree_over_the_page_limit_is_too_large_before_any_page_is_read(tmp_path) -> None:
    repeated = hostile_files.repeated_page_pdf(tmp_path / "repeated.pdf", repeats=99_999)
    started = time.monotonic()
    with pytest.raises(ConnectorError) as refused:
        read_document(repeated, ReadOptions(max_pages=5000))
    assert refused.value.category.value == "too_large" and "walk.max_pages" in refused.value.message
    assert time.monotonic() - started < 30


def test_a_decompression_bomb_page_is_skipped_unrendered_and_the_next_page_kept(tmp_path) -> None:
    bomb = hostile_files.flate_bomb_pdf(tmp_path / "bomb.pdf", inflated_mb=160)
    document = read_document(bomb, ReadOptions(ocr=True))
    assert [section.page for section in document.sections] == [2]
    assert "Reservoir levels" in document.sections[0].text
    # The renderer would inflate the whole stream: the page is not handed to OCR.
    assert "ocr" not in document.extra and document.extra["pages_unreadable"] == 1
