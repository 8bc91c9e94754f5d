"""Grids of cells as Markdown tables, shared by the spreadsheet and slide readers.

A table is rendered the same way whatever format it came from, so a chunk of an Excel sheet and
a chunk of a PowerPoint table look alike to the chunker and to a reader: a pipe table whose
header is the first row that holds at least two different values. Rows above it that hold one
value only (a title merged across the sheet, a unit line) are kept as plain lines above the
table, since as a header they would repeat one title in every column.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable, Sequence

from connectors.base import Document
from connectors.options import ReadOptions

log = logging.getLogger(__name__)

# At most this many merged ranges are applied to one grid: a hostile file can list millions.
_MAX_MERGED_RANGES = 50_000


def cell_text(value: object) -> str:
    """A cell's value as one line of text: numbers without float noise (Excel keeps 15
    significant digits), dates in ISO form, booleans as Excel shows them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        # Arithmetic leaves noise in the last digits (0.2000099999999918): 12 significant digits
        # drop it, unless they would change the value by more than noise does.
        short = f"{value:.12g}"
        return short if abs(float(short) - value) <= abs(value) * 1e-12 else f"{value:.15g}"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return " ".join(str(value).split())


def fill_merged(grid: list[list[str]], ranges: Iterable[tuple[int, int, int, int]]) -> None:
    """Copy each merged range's top-left value into every cell it covers, in place.

    ``ranges`` are 0-based and inclusive: (first row, first column, last row, last column).
    Spreadsheets keep a merged value in the top-left cell only; repeated, a category merged
    down ten rows stays with each of them, so every row of the table reads on its own. Cells
    outside the grid (rows or columns not read) are left out.
    """
    for count, (row0, col0, row1, col1) in enumerate(ranges):
        if count >= _MAX_MERGED_RANGES:
            break
        if row0 >= len(grid) or row0 < 0 or col0 < 0:
            continue
        origin = grid[row0]
        value = origin[col0] if col0 < len(origin) else ""
        if not value:
            continue
        for row in grid[row0 : min(row1, len(grid) - 1) + 1]:
            for col in range(col0, min(col1 + 1, len(row))):
                row[col] = value


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|")


def markdown_table(grid: Sequence[Sequence[str]]) -> str:
    """The grid as text: single-value rows at the top as lines, then a Markdown pipe table.

    Empty rows and columns that are empty in every row are dropped (spacer columns are common
    in forms laid out in a spreadsheet); a grid of one column is returned as lines. Returns ""
    for a grid with no text.
    """
    rows = [[" ".join(cell.split()) for cell in row] for row in grid]
    rows = [row for row in rows if any(row)]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    kept = [col for col in range(width) if any(row[col] for row in rows)]
    rows = [[row[col] for col in kept] for row in rows]
    if len(kept) == 1:  # one column: a list, which a table would only wrap in pipes
        return "\n".join(row[0] for row in rows)
    lines: list[str] = []
    while rows and len({cell for cell in rows[0] if cell}) == 1:
        line = next(cell for cell in rows[0] if cell)
        if not lines or lines[-1] != line:  # a title merged down several rows is said once
            lines.append(line)
        rows.pop(0)
    if not rows:
        return "\n".join(lines)
    header, body = rows[0], rows[1:]
    table = ["| " + " | ".join(_escape(cell) for cell in header) + " |", "|" + " --- |" * len(header)]
    table.extend("| " + " | ".join(_escape(cell) for cell in row) + " |" for row in body)
    if lines:
        lines.append("")
    return "\n".join(lines + table)


def note_truncated_sheets(document: Document, sheets: list[str], options: ReadOptions) -> None:
    """Say in the log and in ``document.extra`` that rows of these sheets were left unread."""
    if not sheets:
        return
    log.warning(
        "%s: read the first %d rows of sheet(s) %s only (connectors.max_sheet_rows)",
        document.path, options.max_sheet_rows, ", ".join(sheets),
    )
    document.extra["sheets_truncated"] = len(sheets)
    document.extra["sheet_rows_limit"] = options.max_sheet_rows


def has_table(text: str) -> bool:
    """Whether :func:`markdown_table` made a table of the grid, not lines of single values only."""
    return text.startswith("|") or "\n|" in text
