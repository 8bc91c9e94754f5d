"""Word files (.docx): paragraphs and tables in reading order, split at headings."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import docx
from docx.blkcntnr import BlockItemContainer
from docx.document import Document as DocxDocument
from docx.opc.exceptions import OpcError
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.text.paragraph import Paragraph
from lxml.etree import XMLSyntaxError

from connectors.base import ConnectorError, Document, ErrorCategory, Section, SectionBuilder
from connectors.options import ReadOptions

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
    return " ".join("".join(t.text or "" for t in cell.iter(qn("w:t"))).split())


def _table_rows(table: BaseOxmlElement) -> list[str]:
    """One line per row, cells joined by ' | '.

    Rows are read from the XML rather than through ``Table.rows``, whose grid logic
    raises on tables with inconsistent column spans that Word itself opens fine.
    """
    rows = []
    for row in table.iter(qn("w:tr")):
        cells = [text for cell in row.iterchildren(qn("w:tc")) if (text := _cell_text(cell))]
        if cells:
            rows.append(" | ".join(cells))
    return rows


def _blocks(container: BaseOxmlElement, body: BlockItemContainer) -> Iterator[Paragraph | list[str]]:
    """Paragraphs and tables in reading order, including those inside content controls."""
    for child in container.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, body)
        elif child.tag == qn("w:tbl"):
            yield _table_rows(child)
        elif child.tag == qn("w:sdt"):
            for content in child.iterchildren(qn("w:sdtContent")):
                yield from _blocks(content, body)


def _header_footer_text(document: DocxDocument) -> list[str]:
    seen: list[str] = []
    for section in document.sections:
        for part in (section.header, section.footer):
            for paragraph in part.paragraphs:
                text = paragraph.text.strip()
                if text and text not in seen:
                    seen.append(text)
    return seen


# Word never writes a DTD; one that declares entities is an expansion attack ("billion laughs").
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def _check_package(path: Path, options: ReadOptions) -> None:
    """Refuse zip bombs and XML entity declarations before python-docx parses anything."""
    try:
        with zipfile.ZipFile(path) as package:
            members = package.infolist()
            unpacked = sum(member.file_size for member in members)
            packed = sum(member.compress_size for member in members) or 1
            if unpacked > options.max_unpacked_mb * 1024 * 1024 or (
                unpacked > 10 * 1024 * 1024 and unpacked / packed > options.max_zip_ratio
            ):
                raise ConnectorError(
                    path, ErrorCategory.TOO_LARGE,
                    f"refused: unpacks to {unpacked / 1024 / 1024:.0f} MB from {packed / 1024 / 1024:.1f} MB "
                    f"(limits: {options.max_unpacked_mb:g} MB, ratio {options.max_zip_ratio:g}); a zip bomb?",
                )
            for member in members:
                if member.filename.endswith((".xml", ".rels")):
                    with package.open(member) as part:
                        if _DTD.search(part.read(4096)):
                            raise ConnectorError(
                                path, ErrorCategory.CORRUPT,
                                f"refused: {member.filename} declares XML entities (an entity-expansion attack?)",
                            )
    except zipfile.BadZipFile as error:
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"unreadable Word file: {error}") from error


def read_docx(path: Path, options: ReadOptions) -> Document:
    _check_package(path, options)
    try:
        document = docx.Document(str(path))
        sections = _sections(document)
        if options.docx_headers_footers:
            extra = _header_footer_text(document)
            if extra:
                sections.append(Section(text="\n".join(extra), headings=("Headers and footers",)))
        props = document.core_properties
        title, author = (props.title or "").strip(), (props.author or "").strip()
    except (OpcError, zipfile.BadZipFile, XMLSyntaxError, KeyError) as error:
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"unreadable Word file: {error}") from error
    if not title:
        title = next((s.headings[0] for s in sections if s.headings), "")
    return Document(path=path, file_type="docx", sections=sections, title=title, author=author)


def _sections(document: DocxDocument) -> list[Section]:
    builder = SectionBuilder()
    for block in _blocks(document.element.body, document._body):
        if isinstance(block, list):
            for row in block:
                builder.add_line(row)
            continue
        level = _heading_level(block)
        title = " ".join(block.text.split())
        if level is None or not title:
            builder.add_line(block.text)
        else:
            builder.heading(level, title)
    return builder.finish()
