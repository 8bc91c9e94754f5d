"""Cleaning: a document's text normalised before it is chunked.

NFKC, no control characters, folded whitespace, PDF line wrapping undone, lines repeated on
most pages of a PDF (running headers and footers) removed, mojibake repaired.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import replace

from connectors import Document, Section
from pipeline.config import CleaningSettings
from pipeline.language import CJK_RANGES

_PAGE_BREAKS = re.compile(r"[\x0b\x0c\x85\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\ufeff\ufffe]")
_HYPHEN_BREAK = re.compile(r"(\w)-\n(?=[a-z])")
_CJK_BREAK = re.compile(rf"(?<=[{CJK_RANGES}])\n(?=[{CJK_RANGES}])")
# A single line break not after a sentence end: PDF layout, not a paragraph.
_SOFT_BREAK = re.compile(r"(?<![.!?:;。！？；:])\n(?!\n)")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_DIGITS = re.compile(r"\d+")


def normalize_text(text: str) -> str:
    """NFKC, no control characters, whitespace folded, at most one blank line in a row."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _PAGE_BREAKS.sub("\n", text)
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def unwrap_pdf_lines(text: str) -> str:
    """Undo PDF line wrapping: rejoin hyphenated words and join lines inside a paragraph."""
    text = _HYPHEN_BREAK.sub(r"\1", text)
    text = _CJK_BREAK.sub("", text)
    return _SOFT_BREAK.sub(" ", text)


def _edge_lines(text: str, count: int = 2) -> list[str]:
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    return lines[:count] + lines[-count:] if len(lines) > count * 2 else lines


def _line_key(line: str) -> str:
    # "Page 3 of 10" and "Page 4 of 10" are the same running footer.
    return _DIGITS.sub("#", " ".join(line.split())).lower()


def remove_repeated_lines(pages: list[str], min_share: float) -> list[str]:
    """Drop lines found at the top or bottom of most pages: running headers, footers, page numbers."""
    if len(pages) < 3:
        return pages
    seen = Counter(key for page in pages for key in {_line_key(line) for line in _edge_lines(page)})
    threshold = max(3, min_share * len(pages))
    repeated = {key for key, count in seen.items() if count >= threshold}
    if not repeated:
        return pages
    cleaned = []
    for page in pages:
        edges = set(_edge_lines(page))
        kept = [line for line in page.split("\n") if not (line.strip() in edges and _line_key(line) in repeated)]
        cleaned.append("\n".join(kept))
    return cleaned


# A parser may hand back a lone UTF-16 surrogate (a PDF string that ends mid-pair): SQLite,
# Chroma and JSON refuse it, and one such character would fail a whole batch of files.
_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_unicode(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD, so it can be stored anywhere."""
    return _SURROGATE.sub("\ufffd", text)


def clean_sections(document: Document, settings: CleaningSettings) -> list[Section]:
    """The document's sections with cleaned text; sections left empty are dropped.

    A table (``Section.table``, Markdown) keeps its lines: PDF line unwrapping would join its
    rows, and a header row repeated on every page of a long table is not a running header.
    """
    texts = [valid_unicode(section.text) for section in document.sections]
    if settings.fix_mojibake:
        # UTF-8 read as cp1252 and saved again ("â€™" for "’") is common in real files.
        import ftfy  # here, not at the top: a process that only queries never cleans text

        texts = [ftfy.fix_encoding(text) for text in texts]
    texts = [unicodedata.normalize("NFKC", text) for text in texts]
    if document.file_type == "pdf" and settings.remove_repeated_lines:
        prose = [i for i, section in enumerate(document.sections) if not section.table]
        for i, text in zip(prose, remove_repeated_lines([texts[i] for i in prose], settings.repeated_line_min_share)):
            texts[i] = text
    cleaned = []
    for section, text in zip(document.sections, texts):
        text = normalize_text(text)
        if document.file_type == "pdf" and not section.table:
            text = unwrap_pdf_lines(text)
        if text:
            headings = tuple(valid_unicode(heading) for heading in section.headings)
            cleaned.append(replace(section, text=text, headings=headings))
    return cleaned


def cleaned_text(sections: list[Section]) -> str:
    """The document's cleaned text, which chunk offsets point into."""
    return "\n\n".join(section.text for section in sections)


def import_text_libraries() -> None:
    """Import ftfy and LangChain's splitter now; they are imported on first use otherwise."""
    import ftfy  # noqa: F401
    import langchain_text_splitters  # noqa: F401
