"""Excel workbooks (.xlsx), one section per sheet, each sheet a Markdown table.

openpyxl reads in read-only mode, which streams a sheet's rows instead of building every cell
object (a large sheet in normal mode needs about 50 times its file size in memory), and with
``data_only`` so a formula cell gives the value Excel last computed, not the formula. A file
saved by a program that never computes formulas has no such value: those cells read empty.

Read-only mode does not read merged cells, so their ranges are taken from the sheet's XML here
(its ``<mergeCell ref="A1:C1"/>`` elements) and the merged value repeated into every cell of
the range (see connectors/tables.py). Rows past ``ReadOptions.max_sheet_rows`` and columns past
``max_sheet_columns`` are not read; the document's ``extra`` says how many sheets were cut.
"""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from typing import Any

from lxml import etree
from openpyxl import load_workbook
from openpyxl.utils.cell import range_boundaries
from openpyxl.utils.exceptions import InvalidFileException

from connectors.base import ConnectorError, Document, ErrorCategory, Section
from connectors.containers import check_zip_package
from connectors.options import ReadOptions
from connectors.tables import cell_text, fill_merged, has_table, markdown_table, note_truncated_sheets

_RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_DOC_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
# Our own parser for the few parts read here: no entities, no network, no huge text nodes.
_PARSER_OPTIONS: dict[str, Any] = {"resolve_entities": False, "no_network": True, "huge_tree": False}


def _relationships(package: zipfile.ZipFile, part: str) -> list[tuple[str, str, str]]:
    """(id, type, target part) of each relationship in the part's .rels; none when it has none."""
    folder, name = posixpath.split(part)
    try:
        data = package.read(posixpath.join(folder, "_rels", name + ".rels"))
    except KeyError:
        return []
    found = []
    for rel in etree.fromstring(data, etree.XMLParser(**_PARSER_OPTIONS)).iter(f"{_RELS_NS}Relationship"):
        target = rel.get("Target", "")
        # Targets are relative to the part's folder, or absolute from the package root.
        resolved = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        found.append((rel.get("Id", ""), rel.get("Type", ""), resolved))
    return found


def _sheet_parts(package: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> the zip member holding that sheet's XML."""
    workbook = next(
        (target for _, kind, target in _relationships(package, "") if kind.endswith("/officeDocument")),
        "xl/workbook.xml",
    )
    targets = {rid: target for rid, _, target in _relationships(package, workbook)}
    root = etree.fromstring(package.read(workbook), etree.XMLParser(**_PARSER_OPTIONS))
    parts = {}
    for sheet in root.iter(f"{_MAIN_NS}sheet"):
        target = targets.get(sheet.get(f"{_DOC_REL_NS}id", ""))
        if target:
            parts[sheet.get("name", "")] = target
    return parts


def _merged_ranges(package: zipfile.ZipFile, part: str) -> list[tuple[int, int, int, int]]:
    """0-based inclusive (row, column, row, column) of every merged range of one sheet.

    The elements sit after all the rows, so the part is streamed through once more; lxml
    does that at tens of MB a second, a small share of what openpyxl spends on the rows.
    """
    ranges = []
    with package.open(part) as source:
        for _, element in etree.iterparse(source, tag=f"{_MAIN_NS}mergeCell", **_PARSER_OPTIONS):
            try:
                min_col, min_row, max_col, max_row = range_boundaries(element.get("ref", ""))
            except (ValueError, TypeError):
                continue
            if None not in (min_col, min_row, max_col, max_row):
                ranges.append((min_row - 1, min_col - 1, max_row - 1, max_col - 1))
            element.clear()
    return ranges


def _sheet_grid(sheet: Any, options: ReadOptions) -> tuple[list[list[str]], bool]:
    """The sheet's cells as text, bounded by the options; and whether rows were left unread."""
    declared_rows = sheet.max_row or 0  # from the sheet's <dimension>, which writers get wrong
    # A wrong <dimension> would cut every row short: read each row as long as it really is.
    sheet.reset_dimensions()
    limit = options.max_sheet_rows
    grid: list[list[str]] = []
    truncated = declared_rows > limit
    for index, values in enumerate(sheet.iter_rows(min_row=1, max_row=limit + 1, values_only=True)):
        if index == limit:
            truncated = truncated or any(value is not None for value in values)
            break
        grid.append([cell_text(value) for value in values[: options.max_sheet_columns]])
    return grid, truncated


def read_xlsx(path: Path, options: ReadOptions) -> Document:
    """Every worksheet with text becomes one table section headed by the sheet's name."""
    check_zip_package(path, options, "Excel workbook")
    sections: list[Section] = []
    cut: list[str] = []
    # openpyxl refuses a path whose suffix is not an Excel one (a WPS .et zip); a file it takes.
    with path.open("rb") as handle:
        try:
            workbook = load_workbook(handle, read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, etree.XMLSyntaxError) as error:
            raise ConnectorError(path, ErrorCategory.CORRUPT, f"unreadable Excel workbook: {error}") from error
        try:
            with zipfile.ZipFile(handle) as package:
                parts = _sheet_parts(package)
                for sheet in workbook.worksheets:
                    grid, truncated = _sheet_grid(sheet, options)
                    part = parts.get(sheet.title)
                    if part is not None:
                        fill_merged(grid, _merged_ranges(package, part))
                    if truncated:
                        cut.append(sheet.title)
                    text = markdown_table(grid)
                    if text:
                        sections.append(Section(text=text, headings=(sheet.title,), table=has_table(text)))
            title = (workbook.properties.title or "").strip()
            author = (workbook.properties.creator or "").strip()
        except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError) as error:
            raise ConnectorError(path, ErrorCategory.CORRUPT, f"unreadable Excel workbook: {error}") from error
        finally:
            workbook.close()
    document = Document(path=path, file_type="xlsx", sections=sections, title=title, author=author)
    note_truncated_sheets(document, cut, options)
    return document

