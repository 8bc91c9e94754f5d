"""Word files (.docx): paragraphs and tables in reading order, split at headings; each table is a
Markdown table in a section of its own (``Section.table``); scanned pages pasted in as pictures
are read by OCR (connectors/docx_images.py)."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docx
from docx.document import Document as DocxDocument
from docx.exceptions import InvalidXmlError
from docx.opc.exceptions import OpcError
from docx.oxml.ns import qn
from docx.oxml.table import CT_Tbl
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.text.paragraph import Paragraph
from lxml.etree import XMLSyntaxError

from connectors.base import ConnectorError, Document, ErrorCategory, Section, SectionBuilder
from connectors.containers import check_zip_package
from connectors.docx_images import scanned_pages
from connectors.options import ReadOptions
from connectors.tables import markdown_table

# Built-in heading styles are "Heading 1".."Heading 9"; "Title" sits above them all.
_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)


def _heading_level(paragraph: Paragraph) -> int | None:
    try:
        name = (paragraph.style.name or "") if paragraph.style is not None else ""
    except (KeyError, AttributeError):
        return None
    if name.lower() == "title":
        return 0
    match = _HEADING_STYLE.match(name)
    return int(match.group(1)) if match else None


def _cell_text(cell: BaseOxmlElement) -> str:
    """All text of a cell on one line, nested tables and content controls included."""
    paragraphs = ("".join(t.text or "" for t in p.iter(qn("w:t"))) for p in cell.iter(qn("w:p")))
    return " ".join(" ".join(paragraphs).split())


# Word allows 63 columns; a larger span or offset in the XML is hostile or broken.
_MAX_GRID_COLUMNS = 63


def _table_grid(table: CT_Tbl) -> list[list[str]]:
    """The table as rows of cell texts on its layout grid. A cell merged down several rows is
    repeated in each of them, so every row of the Markdown table reads on its own (a chunk may
    hold only some rows); a cell merged across columns is written once, in its first column,
    the others left empty: forms merge labels across many columns for layout, and repeating
    them would fill every row with copies.

    Rows are read from the XML rather than through ``Table.rows``, whose grid logic raises on
    tables with inconsistent column spans that Word itself opens fine; only direct rows are read,
    so a nested table stays inside its cell's text instead of adding rows to this one.
    """
    grid: list[list[str]] = []
    above: dict[int, str] = {}  # grid column -> the text of the cell last seen there
    for tr in table.tr_lst:
        row = [""] * min(tr.grid_before, _MAX_GRID_COLUMNS)
        for tc in tr.tc_lst:
            column = len(row)
            # A cell that continues a vertical merge holds no text of its own.
            text = above.get(column, "") if tc.vMerge == "continue" else _cell_text(tc)
            span = max(1, min(tc.grid_span, _MAX_GRID_COLUMNS - column))
            cells = [text] + [""] * (span - 1)
            above.update(zip(range(column, column + span), cells))
            row.extend(cells)
        grid.append(row)
    return grid


def _table_rows(table: CT_Tbl) -> list[str]:
    """One line per row, cells joined by ' | ': the fallback for a table whose grid attributes
    cannot be read, or that is too small to be a table (a one-cell text box)."""
    rows = []
    for tr in table.tr_lst:
        cells = [text for tc in tr.tc_lst if (text := _cell_text(tc))]
        if cells:
            rows.append(" | ".join(cells))
    return rows


@dataclass(frozen=True)
class _Table:
    """A table block: its Markdown, or the lines of one that is not a real table."""

    markdown: str
    lines: list[str]


def _table_block(table: CT_Tbl) -> _Table:
    """A Word table as a Markdown table, or as plain lines when it is not really one."""
    try:
        grid = _table_grid(table)
    except (ValueError, TypeError, InvalidXmlError):
        return _Table(markdown="", lines=_table_rows(table))
    filled = [row for row in grid if any(cell.strip() for cell in row)]
    columns = {index for row in filled for index, cell in enumerate(row) if cell.strip()}
    if len(filled) < 2 or len(columns) < 2:
        # A one-row or one-column table is a frame around text (a boxed note, a letterhead).
        return _Table(markdown="", lines=_table_rows(table))
    markdown = markdown_table(grid)
    if "\n| ---" not in markdown:
        # No row holds two values: Markdown would make every row a title line.
        return _Table(markdown="", lines=_table_rows(table))
    return _Table(markdown=markdown, lines=[])


def _blocks(container: BaseOxmlElement, document: DocxDocument) -> Iterator[Paragraph | _Table]:
    """Paragraphs and tables in reading order, including those inside content controls.

    The parent of each paragraph is the document itself (python-docx's public object that
    provides the part, so paragraph styles resolve)."""
    for child in container.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, document)
        elif child.tag == qn("w:tbl"):
            yield _table_block(child)
        elif child.tag == qn("w:sdt"):
            for content in child.iterchildren(qn("w:sdtContent")):
                yield from _blocks(content, document)


def _header_footer_text(document: DocxDocument) -> list[str]:
    seen: list[str] = []
    for section in document.sections:
        for part in (section.header, section.footer):
            for paragraph in part.paragraphs:
                text = paragraph.text.strip()
                if text and text not in seen:
                    seen.append(text)
    return seen


def read_docx(path: Path, options: ReadOptions) -> Document:
    check_zip_package(path, options, "Word file")
    try:
        document = docx.Document(str(path))
        sections = _sections(document)
        if options.docx_headers_footers:
            extra = _header_footer_text(document)
            if extra:
                sections.append(Section(text="\n".join(extra), headings=("Headers and footers",)))
        props = document.core_properties
        title, author = (props.title or "").strip(), (props.author or "").strip()
        scans, stats = scanned_pages(document, sum(len(s.text.strip()) for s in sections), options)
    except (OpcError, zipfile.BadZipFile, XMLSyntaxError, KeyError) as error:
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"unreadable Word file: {error}") from error
    if not title:
        title = next((s.headings[0] for s in sections if s.headings), "")
    return Document(
        path=path, file_type="docx", sections=sections + scans, title=title, author=author,
        pages_ocr=stats.pages, ocr_seconds=stats.seconds,
    )


def _sections(document: DocxDocument) -> list[Section]:
    builder = SectionBuilder()
    for block in _blocks(document.element.body, document):
        if isinstance(block, _Table):
            if block.markdown:
                builder.add_table(block.markdown)
            for line in block.lines:
                builder.add_line(line)
            continue
        level = _heading_level(block)
        title = " ".join(block.text.split())
        if level is None or not title:
            builder.add_line(block.text)
        else:
            builder.heading(level, title)
    return builder.finish()
