from pathlib import Path

import pytest

from connectors import ConnectorError, ErrorCategory, ReadOptions, read_document


def test_pages_keep_their_numbers(fixtures: Path) -> None:
    document = read_document(fixtures / "pdflatex-outline.pdf")
    assert document.file_type == "pdf"
    assert document.pages == 4
    assert [section.page for section in document.sections] == [1, 2, 3, 4]
    assert all(section.text.strip() for section in document.sections)


def test_encrypted_pdf_opens_with_configured_password(fixtures: Path) -> None:
    options = ReadOptions(pdf_passwords=("wrong", "openpassword"))
    document = read_document(fixtures / "libreoffice-writer-password.pdf", options)
    assert document.has_text


def test_encrypted_pdf_without_password_is_categorised(fixtures: Path) -> None:
    with pytest.raises(ConnectorError) as caught:
        read_document(fixtures / "libreoffice-writer-password.pdf")
    assert caught.value.category is ErrorCategory.ENCRYPTED
    assert "pdf_passwords" in caught.value.message


def test_scanned_pdf_is_no_text_and_says_ocr(fixtures: Path) -> None:
    with pytest.raises(ConnectorError) as caught:
        read_document(fixtures / "patchelf.pdf")
    assert caught.value.category is ErrorCategory.NO_TEXT
    assert "OCR" in caught.value.message


def test_encrypted_pdf_without_text_does_not_blame_scanning(fixtures: Path) -> None:
    with pytest.raises(ConnectorError) as caught:
        read_document(fixtures / "encrypted_doc_no_id.pdf", ReadOptions(ocr=False))
    assert caught.value.category is ErrorCategory.NO_TEXT
    assert "encrypted" in caught.value.message and "OCR" not in caught.value.message


def test_korean_text_is_extracted(fixtures: Path) -> None:
    document = read_document(fixtures / "korean-text-with-tables.pdf")
    text = "".join(section.text for section in document.sections)
    assert sum("\uac00" <= ch <= "\ud7af" for ch in text) > 100


@pytest.mark.parametrize(
    ("content", "category"),
    [(b"", ErrorCategory.EMPTY), (b"%PDF-1.4\n garbage that is not a pdf", ErrorCategory.CORRUPT)],
)
def test_bad_bytes_raise_the_connector_error(tmp_path: Path, content: bytes, category: ErrorCategory) -> None:
    path = tmp_path / "bad.pdf"
    path.write_bytes(content)
    with pytest.raises(ConnectorError) as caught:
        read_document(path)
    assert caught.value.category is category
