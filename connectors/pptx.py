"""PowerPoint presentations (.pptx) with python-pptx: one section per slide, tables apart.

A slide's section holds its title and the text of its shapes in reading order (top to bottom,
then left to right, into groups), then its speaker notes; its heading is the slide's title and
its page the slide's number, so a chunk can say "slide 7". Each table on a slide becomes a
section of its own, rendered as Markdown and marked ``table``, under the same heading and page.

Not read: text inside charts and SmartArt diagrams (python-pptx exposes neither as text), and
text in pictures.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lxml.etree import XMLSyntaxError
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.exc import PythonPptxError

from connectors.base import ConnectorError, Document, ErrorCategory, Section
from connectors.containers import check_zip_package
from connectors.options import ReadOptions
from connectors.tables import fill_merged, has_table, markdown_table

# Groups inside groups are followed this deep; deeper ones are a hostile file, not a slide.
_MAX_GROUP_DEPTH = 16


def _clean(text: str) -> str:
    """python-pptx writes a line break inside a paragraph as a vertical tab."""
    lines = (" ".join(line.split()) for line in text.replace("\v", "\n").splitlines())
    return "\n".join(line for line in lines if line)


def _reading_order(shapes: Any) -> list[Any]:
    return sorted(shapes, key=lambda shape: ((shape.top or 0), (shape.left or 0)))


def _shapes(shapes: Any, depth: int = 0) -> Iterator[Any]:
    """Every shape in reading order, the members of groups in place of the group."""
    for shape in _reading_order(shapes):
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            if depth < _MAX_GROUP_DEPTH:
                yield from _shapes(shape.shapes, depth + 1)
        else:
            yield shape


def table_grid(table: Any) -> list[list[str]]:
    """A python-pptx table's cells as text, a merged cell's text repeated over its span."""
    grid = [[_clean(cell.text).replace("\n", " ") for cell in row.cells] for row in table.rows]
    spans = []
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            if cell.is_merge_origin:
                spans.append((r, c, r + cell.span_height - 1, c + cell.span_width - 1))
    fill_merged(grid, spans)
    return grid


def _slide_sections(slide: Any, number: int) -> list[Section]:
    title_shape = slide.shapes.title
    title = _clean(title_shape.text_frame.text).replace("\n", " ") if title_shape is not None else ""
    headings = (title,) if title else ()
    lines = [title] if title else []
    tables: list[Section] = []
    for shape in _shapes(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        if shape.has_text_frame:
            text = _clean(shape.text_frame.text)
            if text:
                lines.append(text)
        elif shape.has_table:
            text = markdown_table(table_grid(shape.table))
            if text:
                tables.append(Section(text=text, page=number, headings=headings, table=has_table(text)))
    if slide.has_notes_slide:
        frame = slide.notes_slide.notes_text_frame
        notes = _clean(frame.text) if frame is not None else ""
        if notes:
            lines.append(f"Notes:\n{notes}")
    sections = [Section(text="\n".join(lines) + "\n", page=number, headings=headings)] if lines else []
    return sections + tables


def read_pptx(path: Path, options: ReadOptions) -> Document:
    """Slides in order; a slide with no text gives no section."""
    check_zip_package(path, options, "PowerPoint presentation")
    try:
        presentation = Presentation(str(path))
        slides = list(presentation.slides)
        sections = [section for number, slide in enumerate(slides, 1) for section in _slide_sections(slide, number)]
        properties = presentation.core_properties
        title, author = (properties.title or "").strip(), (properties.author or "").strip()
    except (PythonPptxError, zipfile.BadZipFile, XMLSyntaxError, KeyError) as error:
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"unreadable PowerPoint file: {error}") from error
    if not title:
        title = next((section.headings[0] for section in sections if section.headings), "")
    return Document(path=path, file_type="pptx", sections=sections, title=title, author=author, pages=len(slides))
