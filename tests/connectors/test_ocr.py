"""OCR's text layout, without the engine (the engine runs in tests/test_ocr_ingest.py,
in parse workers as in a real run)."""

from pathlib import Path

import pytest

from connectors import ConnectorError, ErrorCategory, ReadOptions, read_document
from connectors.ocr import TextBox, layout_text


def test_boxes_on_one_line_are_joined_without_spaces_between_chinese() -> None:
    boxes = [
        TextBox("供水设施", 300, 100, 500, 130),
        TextBox("关于加强城市", 100, 102, 290, 131),
        TextBox("Article 3", 510, 101, 640, 129),
    ]
    assert layout_text(boxes) == "关于加强城市供水设施 Article 3"


def test_lines_follow_each_other_and_a_large_gap_starts_a_paragraph() -> None:
    boxes = [
        TextBox("first line", 100, 100, 400, 130),
        TextBox("second line", 100, 140, 400, 170),
        TextBox("new paragraph", 100, 260, 400, 290),
    ]
    assert layout_text(boxes) == "first line\nsecond line\n\nnew paragraph"
    assert layout_text([]) == ""


def test_with_ocr_off_a_scan_is_no_text_and_the_message_says_so(fixtures: Path) -> None:
    with pytest.raises(ConnectorError) as caught:
        read_document(fixtures / "scanned-zh.pdf", ReadOptions(ocr=False))
    assert caught.value.category is ErrorCategory.NO_TEXT
    assert "OCR is off" in caught.value.message
