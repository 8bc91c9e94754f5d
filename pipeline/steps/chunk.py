"""Chunking: cleaned sections cut into chunks that fit the model whole.

Chunks are measured in the embedding model's own tokens, so no chunk is silently
truncated when it is embedded. Splitting prefers paragraph, then line, then sentence
boundaries (Chinese and Japanese sentence marks included), and only then words.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from connectors import Document, Section
from pipeline.config import ChunkingSettings
from pipeline.errors import ConfigError
from pipeline.language import CJK_RANGES, detect_language
from pipeline.paths import path_text
from pipeline.records import Chunk, document_id
from pipeline.steps.clean import valid_unicode

if TYPE_CHECKING:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

# Most to least preferred. Full-width marks are listed too, although NFKC turns
# ！？；，into ASCII, so text cleaned elsewhere still splits well.
SEPARATORS = [
    "\n\n", "\n", "。", "！", "？", "!", "?", ". ", "；", ";", "，", ",", "、", " ", "",
]
_SEPARATOR_ROW = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")
_WORD_CHAR = re.compile(rf"[0-9A-Za-z{CJK_RANGES}]|[^\W_]")


@dataclass(frozen=True)
class _Block:
    """Consecutive sections under the same headings, chunked as one text."""

    start: int
    text: str
    headings: tuple[str, ...]
    # (offset in the document's cleaned text, page, read by OCR) for each section in the block.
    pages: tuple[tuple[int, int | None, bool], ...]
    # One Markdown table: cut between rows, never inside one, its header row repeated.
    table: bool = False


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
        blocks.append(_Block(group_start, text, group[0].headings, tuple(pages), table=group[0].table))

    for section in sections:
        if group and (section.headings != group[0].headings or section.table or group[0].table):
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
        self.size = size
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

    def _table_pieces(self, text: str) -> list[tuple[int, str, int]]:
        """(offset, piece, length in the text) of a Markdown table: whole when it fits, else runs of rows that fit,
        each under the table's header row (and separator row), so every piece says what its
        columns are. A row too long for a chunk on its own is cut like prose."""
        if self.count_tokens(text) <= self.size:
            return [(0, text, len(text))]
        lines = text.split("\n")
        # The header: a title line or two before the table, if any, its first row and separator.
        first_row = next((i for i, line in enumerate(lines) if line.startswith("|")), 0)
        head = first_row + (2 if first_row + 1 < len(lines) and _SEPARATOR_ROW.match(lines[first_row + 1]) else 1)
        header = "\n".join(lines[:head])
        budget = self.size - self.count_tokens(header) - 1
        pieces: list[tuple[int, str]] = []
        rows: list[str] = []
        used, offset, start = 0, len(header) + 1, len(header) + 1
        for line in lines[head:]:
            tokens = self.count_tokens(line) + 1
            if rows and used + tokens > budget:
                pieces.append((start, "\n".join([header, *rows])))
                rows, used, start = [], 0, offset
            rows.append(line)
            used += tokens
            offset += len(line) + 1
        if rows:
            pieces.append((start, "\n".join([header, *rows])))
        fitted: list[tuple[int, str, int]] = []
        for start, piece in pieces:
            length = len(piece) - len(header) - 1  # the rows' own span; the header is repeated
            if self.count_tokens(piece) <= self.max_tokens:
                fitted.append((start, piece, length))
            else:  # one row longer than a chunk (a cell of prose): cut as text
                fitted.extend((start, part, length) for part in self._split(piece))
        return fitted

    def chunk(self, document: Document, sections: list[Section]) -> list[Chunk]:
        """Chunks in reading order; a text repeated within the document is kept once."""
        source = path_text(document.path)
        doc_id = document_id(source)
        chunks: list[Chunk] = []
        seen: set[str] = set()
        for block in _blocks(sections):
            if block.table:
                pieces = self._table_pieces(block.text)
            else:
                pieces = [(local, piece, len(piece)) for local, piece in self._located_pieces(block.text)]
            for local, piece, length in pieces:
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
                        end=block.start + local + length,
                        tokens=self.count_tokens(piece),
                        page=page,
                        headings=block.headings,
                        title=valid_unicode(document.title),
                        ocr=ocr,
                        language=detect_language(piece),
                        table=block.table,
                    )
                )
        return chunks
