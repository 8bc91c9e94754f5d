from pathlib import Path

from connectors import read_document


def test_utf16_text_without_declaration_is_decoded(fixtures: Path) -> None:
    document = read_document(fixtures / "fake-text-utf-16-be.txt")
    text = document.sections[0].text
    assert "\x00" not in text
    assert "This is a test document" in text


def test_markdown_headings_give_a_heading_path(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# Guide\nIntro.\n## Install\nRun make.\n```\n# not a heading\n```\n# Usage\nCall it.\n", encoding="utf-8")
    document = read_document(path)
    by_heading = {section.headings: section.text for section in document.sections}
    assert "Run make." in by_heading[("Guide", "Install")]
    assert "# not a heading" in by_heading[("Guide", "Install")]
    assert "Call it." in by_heading[("Usage",)]
    assert document.title == "Guide"


def test_whitespace_only_file_is_empty(tmp_path: Path) -> None:
    import pytest

    from connectors import ConnectorError, ErrorCategory

    path = tmp_path / "blank.txt"
    path.write_text("  \n\t\n", encoding="utf-8")
    with pytest.raises(ConnectorError) as caught:
        read_document(path)
    assert caught.value.category is ErrorCategory.EMPTY
