"""Legacy Word (.doc) files: real ones from the shared corpus, a Chinese one made by LibreOffice,
and FIB flags changed on a copy to stand for encrypted and Word 95 files."""

import shutil
import struct
from pathlib import Path

import olefile
import pytest

from connectors import ConnectorError, ErrorCategory, read_document

DOCS = Path(__file__).resolve().parents[3] / "shared" / "data" / "docs" / "unstructured-example-docs" / "example-docs"


def _text(document) -> str:
    return "".join(section.text for section in document.sections)


def test_chinese_doc_keeps_text_headings_and_table_rows(fixtures: Path) -> None:
    document = read_document(fixtures / "water-zh.doc")
    assert document.file_type == "doc"
    assert (document.title, document.author) == ("城市供水管理办法", "示例")
    text = _text(document)
    assert "第一条 为了加强城市供水管理，保障城市生活、生产用水和其他各项建设用水，制定本办法。" in text
    assert "项目 | 指标 | 单位\n浑浊度 | 1 | NTU\n余氯 | 0.3 | 毫克/升\n" in text
    assert "Water supply rules, article 3." in text
    assert ("城市供水管理办法", "第二章 水源与水质") in [section.headings for section in document.sections]
    assert all(section.page is None for section in document.sections)


def test_fake_doc_fixture_is_read(fixtures: Path) -> None:
    assert _text(read_document(fixtures / "fake.doc")).strip() == "Lorem ipsum dolor sit amet."


@pytest.mark.skipif(not DOCS.is_dir(), reason=f"the shared corpus is not at {DOCS}")
def test_real_doc_files_of_the_shared_corpus() -> None:
    table = _text(read_document(DOCS / "fake-doc-emphasized-text.doc"))
    assert "Header Col 1 | Header Col 2\nA bold italic bold-italic example | A Link example\n" in table
    assert "I am a normal text." in table
    simple = read_document(DOCS / "simple.doc")
    assert simple.sections[0].headings == ("These are a few of my favorite things:",)
    assert "This is my first thought. This is my second thought." in _text(simple)
    assert _text(read_document(DOCS / "duplicate-paragraphs.doc")).count("some text") == 6
    # Named .doc, but a zip: read by the Word (.docx) connector.
    docx = read_document(DOCS / "language-docs" / "eng_spa_mult.doc")
    assert docx.file_type == "docx" and "All human beings are born free" in _text(docx)


def _patched(fixtures: Path, tmp_path: Path, offset: int, value: int) -> Path:
    """A copy of the Chinese .doc with one 16-bit field of its FIB changed."""
    target = tmp_path / "patched.doc"
    shutil.copy(fixtures / "water-zh.doc", target)
    with olefile.OleFileIO(str(target), write_mode=True) as ole:
        word = bytearray(ole.openstream("WordDocument").read())
        struct.pack_into("<H", word, offset, value)
        ole.write_stream("WordDocument", bytes(word))
    return target


def test_encrypted_doc_is_reported_as_encrypted(fixtures: Path, tmp_path: Path) -> None:
    with olefile.OleFileIO(str(fixtures / "water-zh.doc")) as ole:
        flags = struct.unpack_from("<H", ole.openstream("WordDocument").read(), 0x0A)[0]
    path = _patched(fixtures, tmp_path, 0x0A, flags | 0x0100)  # fEncrypted
    with pytest.raises(ConnectorError) as caught:
        read_document(path)
    assert caught.value.category is ErrorCategory.ENCRYPTED


def test_word95_doc_is_unsupported_and_says_so(fixtures: Path, tmp_path: Path) -> None:
    path = _patched(fixtures, tmp_path, 2, 104)  # nFib of Word 95
    with pytest.raises(ConnectorError) as caught:
        read_document(path)
    assert caught.value.category is ErrorCategory.UNSUPPORTED
    assert "Word 95" in caught.value.message


@pytest.mark.parametrize(
    ("content", "category"),
    [
        (b"{\\rtf1\\ansi hello}", ErrorCategory.UNSUPPORTED),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, ErrorCategory.CORRUPT),
        (b"plain words, not Word", ErrorCategory.CORRUPT),
    ],
)
def test_what_is_not_a_word97_file_gets_a_category(tmp_path: Path, content: bytes, category: ErrorCategory) -> None:
    path = tmp_path / "odd.doc"
    path.write_bytes(content)
    with pytest.raises(ConnectorError) as caught:
        read_document(path)
    assert caught.value.category is category
