"""Preparation: clean a document's text, then cut it into chunks that fit the model whole.

Chunks are measured in the embedding model's own tokens, so no chunk is silently
truncated when it is embedded. Splitting prefers paragraph, then line, then sentence
boundaries (Chinese and Japanese sentence marks included), and only then words.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from typing import TYPE_CHECKING

from connectors import Document, Section
from pipeline.config import ChunkingSettings, CleaningSettings
from pipeline.errors import ConfigError
from pipeline.language import CJK_RANGES, detect_language
from pipeline.paths import path_text
from pipeline.records import Chunk, document_id

if TYPE_CHECKING:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

# Most to least preferred. Full-width marks are listed too, although NFKC turns
# ！？；，into ASCII, so text cleaned elsewhere still splits well.
SEPARATORS = [
    "\n\n", "\n", "。", "！", "？", "!", "?", ". ", "；", ";", "，", ",", "、", " ", "",
]
_PAGE_BREAKS = re.compile(r"[\x0b\x0c\x85\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\ufeff\ufffe]")
_HYPHEN_BREAK = re.compile(r"(\w)-\n(?=[a-z])")
_CJK_BREAK = re.compile(rf"(?<=[{CJK_RANGES}])\n(?=[{CJK_RANGES}])")
# A single line break not after a sentence end: PDF layout, not a paragraph.
_SOFT_BREAK = re.compile(r"(?<![.!?:;。！？；:])\n(?!\n)")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_WORD_CHAR = re.compile(rf"[0-9A-Za-z{CJK_RANGES}]|[^\W_]")
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
    """The document's sections with cleaned text; sections left empty are dropped."""
    texts = [valid_unicode(section.text) for section in document.sections]
    if settings.fix_mojibake:
        # UTF-8 read as cp1252 and saved again ("â€™" for "’") is common in real files.
        import ftfy  # here, not at the top: a process that only queries never cleans text

        texts = [ftfy.fix_encoding(text) for text in texts]
    texts = [unicodedata.normalize("NFKC", text) for text in texts]
    if document.file_type == "pdf" and settings.remove_repeated_lines:
        texts = remove_repeated_lines(texts, settings.repeated_line_min_share)
    cleaned = []
    for section, text in zip(document.sections, texts):
        text = normalize_text(text)
        if document.file_type == "pdf":
            text = unwrap_pdf_lines(text)
        if text:
            headings = tuple(valid_unicode(heading) for heading in section.headings)
            cleaned.append(Section(text=text, page=section.page, headings=headings, ocr=section.ocr))
    return cleaned


@dataclass(frozen=True)
class _Block:
    """Consecutive sections under the same headings, chunked as one text."""

    start: int
    text: str
    headings: tuple[str, ...]
    # (offset in the document's cleaned text, page, read by OCR) for each section in the block.
    pages: tuple[tuple[int, int | None, bool], ...]


def _blocks(sections: list[Section]) -> list[_Block]:
    blocks: list[_Block] = []
    offset = 0
    group: list[Section] = []
    group_start = 0

    def close() -> None:
        pages, position = [], group_start
        for section in group:
            pages.append((position, section.page, section.ocr))
            position += len(section.text) + 2
        text = "\n\n".join(section.text for section in group)
        blocks.append(_Block(group_start, text, group[0].headings, tuple(pages)))

    for section in sections:
        if group and section.headings != group[0].headings:
            close()
            group, group_start = [], offset
        group.append(section)
        offset += len(section.text) + 2
    if group:
        close()
    return blocks


def _page_at(block: _Block, offset: int) -> tuple[int | None, bool]:
    """The page, and whether it was read by OCR, of the section holding ``offset``."""
    _, page, ocr = block.pages[0]
    for start, section_page, section_ocr in block.pages:
        if start > offset:
            break
        page, ocr = section_page, section_ocr
    return page, ocr


class Chunker:
    """Cuts cleaned sections into chunks of at most ``max_tokens`` tokens of the model."""

    def __init__(
        self,
        *,
        count_tokens: Callable[[str], int],
        max_tokens: int,
        settings: ChunkingSettings,
    ) -> None:
        size = min(settings.chunk_tokens or max_tokens, max_tokens)
        if settings.overlap_tokens >= size:
            raise ConfigError(
                f"chunking.overlap_tokens ({settings.overlap_tokens}) must be below the chunk size ({size} tokens)"
            )
        # The splitter measures each piece more than once; remembering counts halves tokenizer calls.
        self.count_tokens = functools.lru_cache(maxsize=8192)(count_tokens)
        self.max_tokens = max_tokens
        # Pieces below a quarter of the chunk size are fragments (headings, captions, short lines).
        self.fragment_tokens = size // 4
        self.min_chunk_chars = settings.min_chunk_chars
        self._splitters = [self._splitter(size, settings.overlap_tokens)]
        # Token counts of pieces do not always add up to the count of the joined text,
        # so an oversized chunk is cut again with a smaller target until it fits.
        for shrink in (0.8, 0.6, 0.4):
            self._splitters.append(self._splitter(int(size * shrink), int(settings.overlap_tokens * shrink)))

    def _splitter(self, size: int, overlap: int) -> RecursiveCharacterTextSplitter:
        from langchain_text_splitters import RecursiveCharacterTextSplitter  # LangChain costs 0.3 s to import

        return RecursiveCharacterTextSplitter(
            chunk_size=size,
            chunk_overlap=overlap,
            length_function=self.count_tokens,
            separators=SEPARATORS,
            keep_separator="end",
            strip_whitespace=True,
        )

    def _split(self, text: str, level: int = 0) -> list[str]:
        pieces = self._splitters[level].split_text(text)
        if level + 1 >= len(self._splitters):
            return pieces
        fitted: list[str] = []
        for piece in pieces:
            if self.count_tokens(piece) <= self.max_tokens:
                fitted.append(piece)
            else:
                fitted.extend(self._split(piece, level + 1))
        return fitted

    def _is_content(self, text: str) -> bool:
        return len(_WORD_CHAR.findall(text)) >= self.min_chunk_chars

    def _located_pieces(self, text: str) -> list[tuple[int, str]]:
        """(offset, piece) for each piece of ``text``, with small fragments joined to the next.

        The recursive splitter emits the short pieces before an oversized paragraph on their
        own, so a heading followed by a long paragraph would become a chunk of a few words,
        cut off from the text it introduces. Such a fragment is joined with the next piece
        whenever the two fit in the model together.
        """
        located: list[tuple[int, str]] = []
        cursor = 0
        for piece in self._split(text):
            found = text.find(piece, cursor)
            local = found if found >= 0 else cursor
            cursor = local + 1
            located.append((local, piece))
        merged: list[tuple[int, str]] = []
        for local, piece in located:
            if merged:
                previous_start, previous = merged[-1]
                joined = text[previous_start : max(local + len(piece), previous_start + len(previous))]
                if (
                    self.count_tokens(previous) < self.fragment_tokens
                    and local >= previous_start
                    and self.count_tokens(joined) <= self.max_tokens
                ):
                    merged[-1] = (previous_start, joined)
                    continue
            merged.append((local, piece))
        return merged

    def chunk(self, document: Document, sections: list[Section]) -> list[Chunk]:
        """Chunks in reading order; a text repeated within the document is kept once."""
        source = path_text(document.path)
        doc_id = document_id(source)
        chunks: list[Chunk] = []
        seen: set[str] = set()
        for block in _blocks(sections):
            for local, piece in self._located_pieces(block.text):
                if piece in seen or not self._is_content(piece):
                    continue
                seen.add(piece)
                page, ocr = _page_at(block, local)
                chunks.append(
                    Chunk(
                        doc_id=doc_id,
                        source=source,
                        file_type=document.file_type,
                        text=piece,
                        chunk_index=len(chunks),
                        start=block.start + local,
                        end=block.start + local + len(piece),
                        tokens=self.count_tokens(piece),
                        page=page,
                        headings=block.headings,
                        title=valid_unicode(document.title),
                        ocr=ocr,
                        language=detect_language(piece),
                    )
                )
        return chunks


def import_text_libraries() -> None:
    """Import ftfy and LangChain's splitter now; they are imported on first use otherwise."""
    import ftfy  # noqa: F401
    import langchain_text_splitters  # noqa: F401


def cleaned_text(sections: list[Section]) -> str:
    """The document's cleaned text, which chunk offsets point into."""
    return "\n\n".join(section.text for section in sections)
