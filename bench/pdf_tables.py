"""Tables in PDF pages: how many pdfplumber's finder finds on a corpus, how many the PDF
connector keeps as Markdown tables, whether the known tables come out whole, and what finding
them costs per page against reading the text alone (connectors/pdf_tables.py).

    .venv/bin/python bench/pdf_tables.py                      # ../shared/data/docs
    .venv/bin/python bench/pdf_tables.py --max-pages 50       # the first 50 pages of each file
    .venv/bin/python bench/pdf_tables.py --make-fixture tests/fixtures/table-zh.pdf

Each file is read twice by the connector, OCR off, with ``pdf_tables`` off (pypdf's text, as
before tables) and on, in turn, so that the load on the machine weighs on both alike. pypdf and
PDFium have no table finder; camelot and tabula need Ghostscript or Java, so pdfplumber (on
pdfminer.six, which is pure Python) is the one measured. ``--make-fixture`` writes the small
Chinese PDF with a ruled table that the tests read (it needs Debian's fonts-wqy-microhei).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.garbled_pages import DOCS, machine, pdf_files  # noqa: E402
from connectors import ConnectorError, ReadOptions  # noqa: E402
from connectors.pdf import read_pdf  # noqa: E402
from connectors.pdf_render import PageImages  # noqa: E402
from connectors.pdf_tables import MIN_TABLE_SEGMENTS, PdfTables  # noqa: E402

# The tables of the shared corpus's table files, counted by eye on the rendered pages:
# (rows, columns) of each, in page order. A row is one row of the printed table, however many
# lines its label takes; a title row across the whole table counts as a row.
KNOWN_TABLES = {
    "camelot_agstat.pdf": [(33, 11)],
    "camelot_district_health.pdf": [(46, 5)],
    "tabula_china.pdf": [(9, 2), (13, 10)],
}
FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


@dataclass
class FileFigures:
    path: Path
    pages: int = 0
    seconds_off: float = 0.0
    seconds_on: float = 0.0
    pages_with_paths: int = 0
    found: int = 0
    kept: int = 0
    shapes: list[tuple[int, int]] = field(default_factory=list)  # (rows, columns) of each kept table


def shape(markdown: str) -> tuple[int, int]:
    """Rows and columns of a table section: its title lines (a row with one value, written
    above the table) and its table rows, header included and separator not."""
    lines = [line for line in markdown.splitlines() if line.strip() and not line.startswith("| ---")]
    rows = [line for line in lines if line.startswith("|")]
    return len(lines), (rows[0].count(" | ") + 1) if rows else 0


def measure_file(path: Path, max_pages: int | None) -> FileFigures | None:
    """Both timings and the table counts of one file; None when it cannot be read at all."""
    figures = FileFigures(path)
    try:
        figures.pages = read_pdf(path, ReadOptions(ocr=False, pdf_tables=False), pages=range(0)).pages or 0
    except ConnectorError:
        return None
    limit = range(min(figures.pages, max_pages or figures.pages))
    off = ReadOptions(ocr=False, pdf_tables=False)
    on = ReadOptions(ocr=False, pdf_tables=True)
    figures.seconds_off, _ = _read_pages(path, off, limit)
    figures.seconds_on, sections = _read_pages(path, on, limit)
    figures.pages = len(limit)
    figures.shapes = [shape(section.text) for section in sections if section.table]
    figures.kept = len(figures.shapes)
    figures.found, figures.pages_with_paths = _found(path, limit)
    return figures


def _read_pages(path: Path, options: ReadOptions, pages: range) -> tuple[float, list]:
    started = time.perf_counter()
    try:
        sections = read_pdf(path, options, pages=pages).sections
    except ConnectorError:
        sections = []
    return time.perf_counter() - started, sections


def _found(path: Path, pages: range) -> tuple[int, int]:
    """Tables pdfplumber's finder returns on the pages the connector hands it (those with
    enough vector paths to draw a table), kept or not, and how many pages those are."""
    images, tables = PageImages(path), PdfTables(path)
    found = with_paths = 0
    try:
        for index in pages:
            try:
                if images.path_segments(index, MIN_TABLE_SEGMENTS) < MIN_TABLE_SEGMENTS:
                    continue
                with_paths += 1
                page_tables, page = tables.find(index)
                page.close()
                found += len(page_tables)
            except Exception:  # noqa: BLE001 - the connector logs and skips such a page too
                continue
    finally:
        images.close()
        tables.close()
    return found, with_paths


def make_fixture(target: Path) -> None:
    """A one-page Chinese notice with a ruled table (a cell merged down two rows, one merged
    across three columns) between two paragraphs, drawn by fpdf2 with WenQuanYi Micro Hei."""
    from fpdf import FPDF, FontFace

    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.add_font("wqy", fname=str(FONT))
    pdf.set_font("wqy", size=16)
    pdf.cell(0, 12, "关于二〇二四年度城市供水设施改造项目预算的公示", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("wqy", size=11)
    pdf.multi_cell(0, 7, "根据政府采购有关规定，现将本年度城市供水设施改造项目的预算安排公示如下，"
                         "公示期为七个工作日。", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    rows = [
        ("序号", "项目名称", "实施单位", "预算金额（万元）"),
        ("1", "老旧供水管网改造", "市水务集团", "1,250.00"),
        ("2", "二次供水设施升级", None, "860.50"),
        ("3", "水质在线监测系统", "市疾控中心", "312.80"),
    ]
    # The first row is the header; fpdf2 would set it in bold, a style this font does not have.
    headings = FontFace(emphasis="")
    with pdf.table(col_widths=(15, 60, 45, 50), text_align="CENTER", headings_style=headings) as table:
        for values in rows:
            row = table.row()
            for value in values:
                if value == "市水务集团":
                    row.cell(value, rowspan=2)
                elif value is not None:
                    row.cell(value)
        total = table.row()
        total.cell("合计", colspan=3)
        total.cell("2,423.30")
    pdf.ln(4)
    pdf.multi_cell(0, 7, "如对上述项目有异议，请于公示期内向市财政局书面反映。Budget figures are in ten "
                         "thousand yuan.", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(target))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", nargs="?", type=Path, default=DOCS, help="folder searched for PDFs (default: %(default)s)")
    parser.add_argument("--max-pages", type=int, help="read at most this many pages of each file")
    parser.add_argument("--make-fixture", type=Path, metavar="PATH", help="write the test PDF and stop")
    args = parser.parse_args()
    if args.make_fixture:
        make_fixture(args.make_fixture)
        return
    logging.disable(logging.WARNING)  # the corpus's broken files warn a lot

    print(f"machine: {machine()}")
    results = [figures for path in pdf_files(args.root) if (figures := measure_file(path, args.max_pages))]
    pages = sum(f.pages for f in results)
    off, on = sum(f.seconds_off for f in results), sum(f.seconds_on for f in results)
    with_paths = sum(f.pages_with_paths for f in results)
    print(f"{len(results)} PDF files read, {pages} pages ({with_paths} with enough vector paths for a table, "
          "handed to pdfplumber)")
    print(f"tables: {sum(f.found for f in results)} found by pdfplumber, {sum(f.kept for f in results)} kept "
          f"as Markdown tables (at least 2 rows and 2 columns with text), "
          f"in {sum(bool(f.kept) for f in results)} files")
    print(f"parse time, OCR off: tables off {1000 * off / max(pages, 1):.1f} ms/page, "
          f"on {1000 * on / max(pages, 1):.1f} ms/page ({on / max(off, 1e-9):.2f}x)")
    if with_paths:
        extra = (on - off) / with_paths
        print(f"  extra per page handed to pdfplumber: {1000 * extra:.0f} ms")
    for figures in results:
        if figures.kept or figures.found:
            print(f"  {figures.path.relative_to(args.root)}: {figures.found} found, {figures.kept} kept "
                  f"{figures.shapes} over {figures.pages} pages; {1000 * figures.seconds_off / figures.pages:.0f} -> "
                  f"{1000 * figures.seconds_on / figures.pages:.0f} ms/page")
    for name, expected in KNOWN_TABLES.items():
        got = next((f.shapes for f in results if f.path.name == name), None)
        verdict = "whole" if got == expected else "NOT whole"
        print(f"known tables {name}: expected {expected}, got {got}: {verdict}")
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()
