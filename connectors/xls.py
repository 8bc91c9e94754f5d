"""Excel 97-2003 workbooks (.xls) and WPS Office spreadsheets (.et) in the binary BIFF format.

xlrd reads BIFF5 to BIFF8 (Excel 95 to 2003) and nothing else since its 2.0 release, which is
what this reader asks of it. WPS Office writes its own .et files as the same BIFF8 workbook in
an OLE compound file, so xlrd reads those too; an .et saved as a zip package is sent to the
.xlsx reader by connectors/spreadsheet.py before it reaches here.

``formatting_info`` is on because xlrd lists merged cells and tells dates from numbers only
with it. One section per sheet, as for .xlsx; rows past ``ReadOptions.max_sheet_rows`` are left
out and the document says so. xlrd reads the whole workbook into memory, so the time limit of
the caller and the pipeline's file size limit are what bound a huge one.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import xlrd
from xlrd.biffh import XLRDError

from connectors.base import ConnectorError, Document, ErrorCategory, Section
from connectors.containers import ole_metadata
from connectors.options import ReadOptions
from connectors.tables import cell_text, fill_merged, has_table, markdown_table, note_truncated_sheets


def _value(book: xlrd.book.Book, cell: xlrd.sheet.Cell) -> object:
    """A cell's value as Python gives it: dates as datetimes, booleans as bools, errors blank."""
    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            if 0 <= cell.value < 1:  # a time of day alone, not a moment of 31 December 1899
                return dt.time(*xlrd.xldate_as_tuple(cell.value, book.datemode)[3:])
            return xlrd.xldate_as_datetime(cell.value, book.datemode)
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return cell.value
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    if cell.ctype == xlrd.XL_CELL_ERROR:
        return None  # #DIV/0! and the like: no text worth indexing
    return cell.value


def _sheet_grid(book: xlrd.book.Book, sheet: xlrd.sheet.Sheet, options: ReadOptions) -> list[list[str]]:
    rows = min(sheet.nrows, options.max_sheet_rows)
    columns = min(sheet.ncols, options.max_sheet_columns)
    grid = []
    for row in range(rows):
        cells = sheet.row_slice(row, 0, columns)
        grid.append([cell_text(_value(book, cell)) for cell in cells])
    # xlrd gives merged ranges as (first row, row after the last, first column, column after).
    fill_merged(grid, ((r0, c0, r1 - 1, c1 - 1) for r0, r1, c0, c1 in sheet.merged_cells))
    return grid


def _open(path: Path) -> xlrd.book.Book:
    try:
        return xlrd.open_workbook(str(path), formatting_info=True, on_demand=True)
    except XLRDError as error:
        message = str(error)
        if "encrypted" in message.lower():
            raise ConnectorError(
                path, ErrorCategory.ENCRYPTED, "password-protected Excel workbook; save it without a password",
            ) from error
        if "Can't find workbook in OLE2" in message:
            raise ConnectorError(
                path, ErrorCategory.UNSUPPORTED,
                "an OLE file with no Excel workbook stream (not a BIFF spreadsheet; an older WPS .et?)",
            ) from error
        if "BIFF version" in message or "Excel 2007" in message:
            raise ConnectorError(path, ErrorCategory.UNSUPPORTED, f"unsupported Excel version: {message}") from error
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"unreadable Excel workbook: {message}") from error
    except (AssertionError, IndexError, KeyError, ValueError, UnicodeDecodeError) as error:
        # xlrd checks the BIFF records with asserts and indexes straight into them.
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"unreadable Excel workbook: {error!r}") from error


def read_xls(path: Path, options: ReadOptions) -> Document:
    """Every sheet with text becomes one table section headed by the sheet's name."""
    book = _open(path)
    sections: list[Section] = []
    cut: list[str] = []
    try:
        for index in range(book.nsheets):
            try:
                sheet = book.sheet_by_index(index)
            except (XLRDError, AssertionError, IndexError, KeyError, ValueError) as error:
                raise ConnectorError(path, ErrorCategory.CORRUPT, f"unreadable sheet {index + 1}: {error!r}") from error
            if sheet.nrows > options.max_sheet_rows:
                cut.append(sheet.name)
            text = markdown_table(_sheet_grid(book, sheet, options))
            if text:
                sections.append(Section(text=text, headings=(sheet.name,), table=has_table(text)))
            book.unload_sheet(index)
    finally:
        book.release_resources()
    title, author = ole_metadata(path)
    document = Document(path=path, file_type="xls", sections=sections, title=title, author=author)
    note_truncated_sheets(document, cut, options)
    return document
