"""Hostile input: zip bombs, XML entity expansion, and fuzzed bytes of every format."""

import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors import ConnectorError, ReadOptions, read_document


def _rewrite_docx(source: Path, target: Path, change) -> None:  # noqa: ANN001
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
