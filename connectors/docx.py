"""Word files (.docx): paragraphs and tables in reading order, split at headings."""

from __future__ import annotations

import codecs
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

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
_DTD = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_START_TAG = re.compile(r"<[^?!]")
# A prolog (what comes before the root element) longer than this is refused, not searched further.
_PROLOG_LIMIT = 1 << 20


def _part_encoding(head: bytes) -> str:
    """UTF-16 by its byte-order mark or its first '<', else UTF-8 (XML 1.0, appendix F)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(b"<\x00"):
        return "utf-16-le"
    if head.startswith(b"\x00<"):
        return "utf-16-be"
    return "utf-8"


def _declares_entities(part: IO[bytes]) -> bool:
    """Whether an XML part has a DTD before its root element, wherever in the prolog it hides
    (behind a long comment) and whatever the part's encoding (UTF-16 hides it from a byte search)."""
    head = part.read(4)
    decoder = codecs.getincrementaldecoder(_part_encoding(head))(errors="replace")
    text, read = decoder.decode(head), len(head)
    while True:
        prolog = _COMMENT.sub("", text)
        if _DTD.search(prolog):
            return True
        if "<!--" not in prolog and _START_TAG.search(prolog):
            return False  # the root element began with no DTD before it
        if read > _PROLOG_LIMIT:
            return True
        block = part.read(1 << 16)
        if not block:
            return False
        read += len(block)
        text += decoder.decode(block)


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
                    if member.file_size > options.max_xml_part_mb * 1024 * 1024:
                        raise ConnectorError(
                            path, ErrorCategory.TOO_LARGE,
                            f"refused: {member.filename} unpacks to {member.file_size / 1024 / 1024:.0f} MB, over the "
                            f"{options.max_xml_part_mb:g} MB limit for one XML part (connectors.max_xml_part_mb)",
                        )
                    with package.open(member) as part:
                        if _declares_entities(part):
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
