"""Tables in PDF pages: found by pdfplumber's ruling-line finder, written as Markdown tables, and
taken out of the page's running text (pypdf's) so that their cells are not indexed twice.

pypdf reads a table as loose lines, one cell after another, and the link between a number and
its column header is lost. pdfplumber (on pdfminer.six) finds the ruled grid of a page, the
cells in it and the characters in each cell. It was chosen by measurement on the shared corpus
(``bench/pdf_tables.py``; figures in docs/formats.md): pypdf and PDFium have no table finder.

A page is only handed to pdfplumber when PDFium sees enough vector paths on it to draw a table
(ruling lines are paths): pdfminer interprets a page in Python, which costs several times what
pypdf does, and many text pages have no lines or a rule or two. A page with too many lines is
skipped, since joining edges into a grid grows with their square (a map or a chart would take
minutes).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors import garbled
from connectors.base import Section
from connectors.ocr import join_words
from connectors.tables import markdown_table

# More rects, lines and curves than this on one page and its tables are not looked for.
_MAX_EDGE_OBJECTS = 3000
# The fewest path segments that can draw a table of two rows and two columns: a rectangle
# (four or five segments) crossed by one line each way (two segments each). A page with fewer,
# a rule under a header or none at all, is not handed to pdfplumber; on the shared corpus that
# spares a third of the pages with paths and loses none of the tables kept.
MIN_TABLE_SEGMENTS = 8
BBox = tuple[float, float, float, float]  # x0, top, x1, bottom in points from the top left


@dataclass(frozen=True)
class FoundTable:
    """One table pdfplumber found on a page: its box, and its Markdown ("" when it is too
    small to be a table once empty rows and columns are dropped: a frame around a paragraph,
    a boxed page number)."""

    bbox: BBox
    markdown: str


class PdfTables:
    """Finds the tables of one PDF's pages; the file is opened by pdfplumber on first use."""

    def __init__(self, path: Path, password: str | None = None) -> None:
        self.path, self.password = path, password
        self._pdf: Any = None

    def _open(self) -> Any:
        if self._pdf is None:
            import pdfplumber

            self._pdf = pdfplumber.open(self.path, password=self.password or "")
        return self._pdf

    def find(self, index: int) -> tuple[list[FoundTable], Any]:
        """The tables of page ``index`` (0-based), kept or not, and the pdfplumber page (the
        caller closes it); no tables on a page with too many lines to join."""
        page = self._open().pages[index]
        try:
            if len(page.rects) + len(page.lines) + len(page.curves) > _MAX_EDGE_OBJECTS:
                return [], page
            return [FoundTable(tuple(table.bbox), _table_markdown(page, table)) for table in page.find_tables()], page
        except BaseException:
            page.close()
            raise

    def page_sections(self, index: int, text_page: Any) -> list[Section] | None:
        """Page ``index`` as sections in reading order: the page's text up to the first table,
        the table, the text after it, and so on. ``text_page`` is pypdf's page: the running
        text stays pypdf's (the same as on a page without tables, in its column order), less
        the pieces drawn inside a table. None when the page holds no table worth keeping, or
        when pdfminer could not map some of the table's glyphs (the caller keeps its text)."""
        found, page = self.find(index)
        try:
            tables = [table for table in found if table.markdown]
            to_page = _user_to_page(page)
        finally:
            page.close()
        # pdfminer writes a glyph it cannot map as "(cid:12)", where pypdf may have done better.
        if not tables or any("(cid:" in table.markdown or garbled.is_garbled(table.markdown) for table in tables):
            return None
        return _interleave(_text_pieces(text_page), tables, to_page, index + 1)

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()
            self._pdf = None


Piece = tuple[str, float, float]  # a run of pypdf's text and where it starts, in user space
Point = tuple[float, float]


def _text_pieces(text_page: Any) -> list[Piece]:
    """pypdf's text of a page as the runs it writes, each with its starting point: the runs
    joined are exactly what ``extract_text`` returns."""
    pieces: list[Piece] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        x, y = tm[4], tm[5]
        pieces.append((text, x * cm[0] + y * cm[2] + cm[4], x * cm[1] + y * cm[3] + cm[5]))

    text_page.extract_text(visitor_text=visit)
    return pieces


def _user_to_page(page: Any) -> Callable[[float, float], Point]:
    """The map from a page's user space (where pypdf places text) to pdfplumber's coordinates
    (origin at the top left of the page as displayed): pdfminer's rotation of the page, then
    pdfplumber's flip."""
    x0, y0, x1, y1 = page.page_obj.mediabox
    rotation, height = page.rotation, page.height
    transforms = {
        90: lambda x, y: (y - y0, x1 - x),
        180: lambda x, y: (x1 - x, y1 - y),
        270: lambda x, y: (y1 - y, x - x0),
    }
    turn = transforms.get(rotation, lambda x, y: (x - x0, y - y0))

    def to_page(x: float, y: float) -> Point:
        u, v = turn(x, y)
        return u, height - v

    return to_page


def _interleave(pieces: list[Piece], tables: list[FoundTable], to_page: Callable[[float, float], Point], number: int) -> list[Section]:
    """Text sections and table sections in pypdf's order: a table takes the place of the first
    of its pieces, and its other pieces are dropped (their text is in the table). A table none
    of whose text pypdf saw comes last."""
    sections: list[Section] = []
    run: list[str] = []
    placed: set[int] = set()

    def flush() -> None:
        # The line breaks pypdf wrote between the dropped cells are left over: one blank line.
        text = _BLANK_LINES.sub("\n\n", "".join(run)).strip("\n")
        if text.strip():
            sections.append(Section(text=text, page=number))
        run.clear()

    for text, x, y in pieces:
        point = to_page(x, y)
        owner = next((k for k, table in enumerate(tables) if _holds(table.bbox, point)), None)
        if owner is None:
            run.append(text)
        elif owner not in placed and text.strip():
            flush()
            sections.append(Section(text=tables[owner].markdown, page=number, table=True))
            placed.add(owner)
    flush()
    sections.extend(Section(text=t.markdown, page=number, table=True) for k, t in enumerate(tables) if k not in placed)
    return sections


_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")
# A piece starts on its baseline, which may sit on a cell's bottom rule.
_EDGE_TOLERANCE = 1.0


def _holds(box: BBox, point: Point) -> bool:
    x, y = point
    return box[0] - _EDGE_TOLERANCE <= x <= box[2] + _EDGE_TOLERANCE and box[1] - _EDGE_TOLERANCE <= y <= box[3] + _EDGE_TOLERANCE


def _middle(char: dict[str, Any]) -> tuple[float, float]:
    return (char["x0"] + char["x1"]) / 2, (char["top"] + char["bottom"]) / 2


def _inside(char: dict[str, Any], box: BBox) -> bool:
    """Whether the character's middle lies in the box (the rule pdfplumber uses for cells)."""
    x, y = _middle(char)
    return box[0] <= x < box[2] and box[1] <= y < box[3]


def _table_markdown(page: Any, table: Any) -> str:
    """The table as Markdown, or "" when it is no table: fewer than two rows and two columns
    hold text, or no row holds two values (Markdown would make every row a title line)."""
    grid = _grid(page, table)
    filled = [row for row in grid if any(row)]
    columns = {index for row in filled for index, cell in enumerate(row) if cell}
    if len(filled) < 2 or len(columns) < 2:
        return ""
    markdown = markdown_table(grid)
    return markdown if has_pipe_table(markdown) else ""


def has_pipe_table(markdown: str) -> bool:
    """Whether rendered text holds a pipe table (a header row and its separator), not only the
    title lines that tables.markdown_table writes for rows of one value."""
    return "\n| ---" in markdown


Word = dict[str, Any]  # pdfplumber's word: text, x0, x1, top, bottom, upright


def _grid(page: Any, table: Any) -> list[list[str]]:
    """The table's cell texts on its grid: one row per distinct cell top, one column per
    distinct cell left.

    A cell that spans several grid positions is one of two things. Often a rule was just not
    drawn (a block of rows with no lines between them): its words then fall apart into the rows
    and columns they sit in, and each position gets its own. Otherwise it is a merged label: it
    is written in its first column and repeated in each row it covers, so every row reads on its
    own, and a label merged across columns is not copied into each of them (the rule the Word
    reader follows, for the same reasons).
    """
    tops = sorted({cell[1] for cell in table.cells})
    lefts = sorted({cell[0] for cell in table.cells})
    # Grid position -> the runs of words placed there (overlapping cells may share a position).
    parts: dict[tuple[int, int], list[list[Word]]] = {}
    own = [False for _ in tops]  # whether a row holds text of its own, not only repeats
    for cell, cell_words in _words_by_cell(page, table, tops, lefts).items():
        rows = _span(tops, cell[1], cell[3])
        columns = _span(lefts, cell[0], cell[2])
        placed = _place(cell_words, rows, columns, tops, lefts)
        if len(placed) == 1:
            run = next(iter(placed.values()))
            for row in rows:
                parts.setdefault((row, columns.start), []).append(run)
            own[rows.start] = True
        else:
            for (row, column), run in placed.items():
                parts.setdefault((row, column), []).append(run)
                own[row] = True
    grid: list[list[str]] = []
    for row in range(len(tops)):
        # A row made of repeats only is a sliver between rules drawn at slightly different
        # heights in different columns, not a row of the table.
        if own[row]:
            cells = [_ordered(parts.get((row, column), [])) for column in range(len(lefts))]
            grid.extend(_stacked_rows(cells))
    return grid


def _ordered(runs: list[list[Word]]) -> list[Word]:
    """The runs of one grid position as one list of words, top run first."""
    return [word for run in sorted(runs, key=lambda run: (run[0]["top"], run[0]["x0"])) for word in run]


def _text(words: list[Word]) -> str:
    text = ""
    for word in words:
        text = join_words(text, word["text"])
    return text


# Lines of text whose tops differ by less than this (in points) are one line.
_LINE_TOLERANCE = 2.0
# A value in a statistics table: a number, a percentage, a dash or "NA".
_VALUE = re.compile(r"^(?:[-+±]?[\d,.]+%?|[-–—]|N/?A|n/?a)$")


def _stacked_rows(cells: list[list[Word]]) -> list[list[str]]:
    """One grid row as one table row, or as k rows when it is k table rows that share one ruled
    band: statistics tables often rule only every few rows, or none between the rows of a
    block. The band is cut only when every cell that holds text has the same k >= 2 lines at
    the same heights and every cell but the first holds one value per line (a row label with
    its figures); a row whose cells merely wrap onto two lines stays one row."""
    lines = [_lines(words) for words in cells]
    filled = [cell_lines for cell_lines in lines if cell_lines]
    counts = {len(cell_lines) for cell_lines in filled}
    if len(filled) < 2 or len(counts) != 1 or counts == {1}:
        return [[_text(words) for words in cells]]
    heights = [[line[0]["top"] for line in cell_lines] for cell_lines in filled]
    aligned = all(abs(h[i] - heights[0][i]) < _LINE_TOLERANCE for h in heights for i in range(len(h)))
    values = all(_VALUE.match(_text(line)) for cell_lines in filled[1:] for line in cell_lines)
    if not (aligned and values):
        return [[_text(words) for words in cells]]
    count = counts.pop()
    return [[_text(cell_lines[i]) if cell_lines else "" for cell_lines in lines] for i in range(count)]


def _lines(words: list[Word]) -> list[list[Word]]:
    """Upright words grouped into lines by their tops; [] for a cell with rotated text, whose
    lines run the other way (it is then never cut)."""
    if any(not word["upright"] for word in words):
        return [words] if words else []
    lines: list[list[Word]] = []
    for word in sorted(words, key=lambda w: (w["top"], w["x0"])):
        if lines and abs(word["top"] - lines[-1][0]["top"]) < _LINE_TOLERANCE:
            lines[-1].append(word)
        else:
            lines.append([word])
    # A superscript sits a little higher than its line; it still comes after the words before it.
    return [sorted(line, key=lambda w: w["x0"]) for line in lines]


# Cell edges come from the same intersections, so equal coordinates are equal to rounding.
_EPSILON = 0.01


def _span(edges: list[float], start: float, end: float) -> range:
    """The grid rows (or columns) whose top (or left) edge lies in [start, end)."""
    return range(bisect_left(edges, start - _EPSILON), max(bisect_left(edges, end - _EPSILON), 1))


def _words_by_cell(page: Any, table: Any, tops: list[float], lefts: list[float]) -> dict[BBox, list[Word]]:
    """The words of each cell that holds any, read from the characters whose middle is in it.

    pdfplumber's cells may overlap: a block drawn with an outer frame only becomes one large
    cell, and the rules drawn in some of its columns make small cells inside it. A character
    goes to the smallest cell around it."""
    owners: dict[tuple[int, int], list[BBox]] = {}
    for cell in sorted(table.cells, key=lambda c: (c[2] - c[0]) * (c[3] - c[1])):
        for row in _span(tops, cell[1], cell[3]):
            for column in _span(lefts, cell[0], cell[2]):
                owners.setdefault((row, column), []).append(cell)
    chars: dict[BBox, list[dict[str, Any]]] = {}
    for char in page.crop(table.bbox, strict=False).chars:
        x, y = _middle(char)
        position = (bisect_right(tops, y) - 1, bisect_right(lefts, x) - 1)
        cell = next((cell for cell in owners.get(position, ()) if _inside(char, cell)), None)
        if cell is not None:
            chars.setdefault(cell, []).append(char)
    return {cell: _words(cell_chars) for cell, cell_chars in chars.items()}


def _place(words: list[Word], rows: range, columns: range, tops: list[float], lefts: list[float]) -> dict[tuple[int, int], list[Word]]:
    """A cell's words grouped by the grid position they sit in, in reading order. The cell is
    cut at an inner row (or column) edge only when no word crosses one: a line of text that
    runs across a column edge belongs to one label, not to two columns."""
    inner_tops = [tops[row] for row in rows[1:]]
    inner_lefts = [lefts[column] for column in columns[1:]]
    by_row = not any(word["top"] < edge < word["bottom"] for word in words for edge in inner_tops)
    by_column = not any(word["x0"] < edge < word["x1"] for word in words for edge in inner_lefts)
    def column_of(word: Word) -> int:
        x = _middle(word)[0]
        return min(max(bisect_right(lefts, x) - 1, columns.start), columns.stop - 1) if by_column else columns.start

    # A cell across several columns whose words all sit in one of them is a label (a section
    # title, a footnote): its lines stay together even where rows were ruled beside it.
    if len(columns) > 1 and len({column_of(word) for word in words}) == 1:
        by_row = False
    placed: dict[tuple[int, int], list[Word]] = {}
    for word in words:
        y = _middle(word)[1]
        row = min(max(bisect_right(tops, y) - 1, rows.start), rows.stop - 1) if by_row else rows.start
        placed.setdefault((row, column_of(word)), []).append(word)
    return placed


def _words(chars: list[dict[str, Any]]) -> list[Word]:
    """The characters of one cell as words in reading order, rotated text (column headers
    written upwards) included: pdfplumber's own text of such a cell scrambles its lines."""
    from pdfplumber.utils import extract_words

    rotated = [char for char in chars if not char["upright"]]
    # Text turned a quarter to the left reads upwards, its lines left to right; to the right,
    # downwards and right to left.
    upwards = sum(char["matrix"][1] > 0 for char in rotated) * 2 >= len(rotated)
    words = extract_words(
        chars,
        # pdfplumber's default gap of 3 points joins the words of tightly set text
        # ("Sourcearticles" in a 9-point LaTeX table); letters within a word sit closer than 1.5.
        x_tolerance=1.5,
        line_dir_rotated="ltr" if upwards else "rtl",
        char_dir_rotated="btt" if upwards else "ttb",
    )
    # Dot leaders ("Children weighed at birth ........ 38.8") carry nothing; a word of them would
    # also cross a column edge and keep the cell from being cut into its columns.
    return [{**word, "text": _LEADER.sub(" ", word["text"]).strip()} for word in words if _LEADER.sub("", word["text"])]


_LEADER = re.compile(r"(?:\.\s?){4,}|…{2,}|·{4,}")
