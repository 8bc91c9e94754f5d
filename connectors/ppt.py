"""PowerPoint 97-2003 presentations (.ppt) and WPS Office presentations (.dps) in the binary format.

Both are OLE compound files whose ``PowerPoint Document`` stream holds the slides as records.
The records are read by ppt2pptx (pure Python, no dependencies, MIT): it follows the persist
directory of the last save, so a file saved incrementally ("fast save") gives each slide once,
in order, and not every older copy of it that a plain scan of the stream's text atoms would
find; it also finds the outline text that slides keep outside their shapes, speaker notes, and
tables drawn as grids of cells. Its public entry point converts to a .pptx file; this reader
calls its record-level ``extract_presentation`` instead and writes nothing.

What comes out: one section per slide (page = slide number) with the text boxes in reading
order and the notes, and one Markdown section per table, as the .pptx reader does. The records
do not say which text box is the title as ppt2pptx returns them, so the heading is the
topmost placeholder's text when that is one short line; a slide without one has no heading.
Pictures are not read (no OCR of slides). Password-protected files are refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import olefile
from ppt2pptx.errors import Ppt2PptxError
from ppt2pptx.ppt import extract_presentation

from connectors.base import ConnectorError, Document, ErrorCategory, Section
from connectors.containers import ole_metadata
from connectors.options import ReadOptions
from connectors.tables import has_table, markdown_table

# CurrentUserAtom ([MS-PPT] 2.3.2): record type 0x0FF6 at offset 2; its header token says
# whether the document stream is encrypted.
_CURRENT_USER_TYPE = b"\xf6\x0f"
_ENCRYPTED_TOKEN = b"\xdf\xc4\xd1\xf3"
# A title is one line; a longer topmost placeholder is body text.
_MAX_TITLE_CHARS = 200


def _clean(text: str) -> str:
    """PowerPoint ends paragraphs with a carriage return and breaks lines with a vertical tab."""
    lines = (" ".join(line.split()) for line in text.replace("\v", "\n").replace("\r", "\n").split("\n"))
    return "\n".join(line for line in lines if line)


def _title(slide: Any) -> str:
    placeholders = [box for box in slide.text_boxes if box.is_placeholder and _clean(box.text)]
    if not placeholders:
        return ""
    top = min(placeholders, key=lambda box: (box.top, box.left))
    text = _clean(top.text)
    return text if "\n" not in text and len(text) <= _MAX_TITLE_CHARS else ""


def _table_grid(table: Any) -> list[list[str]]:
    grid = [["" for _ in range(table.cols)] for _ in range(table.rows)]
    for cell in table.cells:
        if 0 <= cell.row < table.rows and 0 <= cell.col < table.cols:
            grid[cell.row][cell.col] = _clean(cell.text).replace("\n", " ")
    return grid


def _slide_sections(slide: Any, number: int) -> list[Section]:
    title = _title(slide)
    headings = (title,) if title else ()
    boxes = sorted(slide.text_boxes, key=lambda box: (box.top, box.left))
    lines = [text for box in boxes if (text := _clean(box.text))]
    notes = "\n".join(text for note in slide.notes if (text := _clean(note)))
    if notes:
        lines.append(f"Notes:\n{notes}")
    sections = [Section(text="\n".join(lines) + "\n", page=number, headings=headings)] if lines else []
    for table in slide.tables:
        text = markdown_table(_table_grid(table))
        if text:
            sections.append(Section(text=text, page=number, headings=headings, table=has_table(text)))
    return sections


def _streams(path: Path) -> tuple[bytes, bytes]:
    """The PowerPoint Document and Current User streams, after the checks that refuse a file."""
    try:
        with olefile.OleFileIO(str(path)) as ole:
            if ole.exists("EncryptedPackage"):
                raise ConnectorError(
                    path, ErrorCategory.ENCRYPTED, "password-protected PowerPoint file; save it without a password",
                )
            if not ole.exists("PowerPoint Document"):
                raise ConnectorError(
                    path, ErrorCategory.UNSUPPORTED,
                    "an OLE compound file without a PowerPoint Document stream (not a PowerPoint or WPS presentation)",
                )
            document = ole.openstream("PowerPoint Document").read()
            current_user = ole.openstream("Current User").read() if ole.exists("Current User") else b""
    except OSError as error:  # olefile raises OSError for a damaged compound file
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"damaged OLE file: {error}") from error
    if len(current_user) >= 16 and current_user[12:16] == _ENCRYPTED_TOKEN:
        raise ConnectorError(path, ErrorCategory.ENCRYPTED, "password-protected PowerPoint file; save it without a password")
    if current_user and current_user[2:4] != _CURRENT_USER_TYPE:
        raise ConnectorError(
            path, ErrorCategory.UNSUPPORTED, "a PowerPoint 95 or older file; only PowerPoint 97 and later are read",
        )
    return document, current_user


def read_ppt(path: Path, options: ReadOptions) -> Document:
    """Slides in order, their notes and tables; a slide with no text gives no section."""
    document_stream, current_user = _streams(path)
    try:
        presentation = extract_presentation(document_stream, None, current_user=current_user or None)
    except Ppt2PptxError as error:
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"unreadable PowerPoint file: {error}") from error
    slides = presentation.slides
    sections = [section for number, slide in enumerate(slides, 1) for section in _slide_sections(slide, number)]
    title, author = ole_metadata(path)
    if not title:
        title = next((section.headings[0] for section in sections if section.headings), "")
    return Document(path=path, file_type="ppt", sections=sections, title=title, author=author, pages=len(slides))
