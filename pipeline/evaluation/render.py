"""Render a BEIR corpus into real files, so `files` mode measures what parsing and chunking do.

Each document becomes a PDF, a Word file or an HTML page, chosen from a hash of its id (a
deterministic, even mix). The PDF writer (fpdf2's built-in Helvetica) covers Latin-1 only,
so a document outside it (Chinese, for one) is written as Word instead; the report counts
the formats.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from pipeline.evaluation.datasets import CorpusDoc, Dataset

FORMATS = ("pdf", "docx", "html")
# Bump when the rendering changes, so cached folders are rebuilt.
RENDER_VERSION = "1"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_FIXED_DATE = datetime(2000, 1, 1, tzinfo=timezone.utc)


def file_format(doc_id: str, doc: CorpusDoc) -> str:
    chosen = FORMATS[hashlib.sha256(doc_id.encode()).digest()[0] % len(FORMATS)]
    if chosen == "pdf":
        try:
            doc.full_text.encode("latin-1")
        except UnicodeEncodeError:
            return "docx"
    return chosen


def file_stem(doc_id: str) -> str:
    """A safe file name for an id; ids that needed changing get a hash so two never collide."""
    safe = _UNSAFE.sub("_", doc_id)[:100]
    if safe != doc_id:
        safe += "-" + hashlib.sha256(doc_id.encode()).hexdigest()[:8]
    return safe


def _write_pdf(path: Path, doc: CorpusDoc) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(_FIXED_DATE)
    pdf.set_title(doc.title)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    if doc.title:
        pdf.set_font("Helvetica", "B", 14)
        pdf.multi_cell(0, 7, doc.title)
        pdf.ln(3)
    pdf.set_font("Helvetica", size=11)
    for paragraph in doc.text.split("\n"):
        if paragraph.strip():
            pdf.multi_cell(0, 5.5, paragraph.strip())
            pdf.ln(2)
    pdf.output(str(path))


def _write_docx(path: Path, doc: CorpusDoc) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = doc.title
    if doc.title:
        document.add_heading(doc.title, level=1)
    for paragraph in doc.text.split("\n"):
        if paragraph.strip():
            document.add_paragraph(paragraph.strip())
    document.save(str(path))


def _write_html(path: Path, doc: CorpusDoc) -> None:
    title = html.escape(doc.title)
    paragraphs = "\n".join(f"<p>{html.escape(p.strip())}</p>" for p in doc.text.split("\n") if p.strip())
    heading = f"<h1>{title}</h1>\n" if title else ""
    path.write_text(
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title></head>\n'
        f"<body>\n<nav><a href='#'>Home</a></nav>\n<main>\n{heading}{paragraphs}\n</main>\n</body></html>\n",
        encoding="utf-8",
    )


_WRITERS = {"pdf": _write_pdf, "docx": _write_docx, "html": _write_html}


def render_corpus(dataset: Dataset, folder: Path) -> dict[str, str]:
    """Write every non-empty document under ``folder``; returns {file name: doc id}.

    A folder finished before (marked by ``.complete``) is reused as it is.
    """
    marker = folder / ".complete"
    files: dict[str, str] = {}
    for doc_id, doc in dataset.corpus.items():
        if doc.full_text:
            files[f"{file_stem(doc_id)}.{file_format(doc_id, doc)}"] = doc_id
    if marker.is_file() and marker.read_text() == RENDER_VERSION:
        return files
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc_id in files.items():
        _WRITERS[name.rsplit(".", 1)[1]](folder / name, dataset.corpus[doc_id])
    marker.write_text(RENDER_VERSION)
    return files


def format_counts(files: dict[str, str]) -> dict[str, int]:
    return dict(sorted(Counter(name.rsplit(".", 1)[1] for name in files).items()))
