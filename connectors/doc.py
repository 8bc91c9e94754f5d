"""Legacy Word files (.doc, Word 97 to 2003), read from the binary format without Word,
Java or LibreOffice.

A .doc is an OLE compound file (read with ``olefile``). Its ``WordDocument`` stream starts
with the File Information Block (FIB); the text is found through the piece table (the
``Clx`` in the ``0Table`` or ``1Table`` stream), which maps character positions to byte
runs that are either 8-bit (cp1252) or UTF-16. Paragraph properties (style, table cell and
row marks) come from the PAPX pages that the FIB's ``PlcBtePapx`` points to. Offsets and
names follow Microsoft's [MS-DOC] specification.

What is kept: the main text (not headers, footers, footnotes or comments), tables as one
line per row with cells joined by `` | ``, and headings (the built-in "Heading 1-9" styles)
as a heading path. Field codes are dropped and their results kept. A .doc holds no page
boundaries (Word lays pages out when it opens the file), so sections have no page number.

The format is decided by the first bytes, not the suffix: a ".doc" that is really a .docx
(a zip, ``PK``) goes to the Word connector.
"""

from __future__ import annotations

import logging
import struct
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

import olefile

from connectors.base import ConnectorError, Document, ErrorCategory, SectionBuilder
from connectors.containers import summary_metadata
from connectors.options import ReadOptions

log = logging.getLogger(__name__)

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_WORD97_IDENT = 0xA5EC
_WORD6_IDENT = 0xA5DC
# nFib of Word 97 is 0x00C1; some writers put 0x00C0 or 0x00C2. Word 6 is 101, Word 95 104.
_MIN_WORD97_NFIB = 0xC0
# FibBase flags (offset 0x0A).
_F_ENCRYPTED = 0x0100
_F_WHICH_TABLE = 0x0200
_F_OBFUSCATED = 0x8000
# Positions in FibRgFcLcb97 (pairs of fc, lcb).
_FC_PLCF_BTE_PAPX = 13
_FC_CLX = 33
# Sprms (paragraph property modifiers) read here.
_SPRM_IN_TABLE = 0x2416       # sprmPFInTable
_SPRM_TABLE_ROW_END = 0x2417  # sprmPFTtp
_SPRM_INNER_ROW_END = 0x244C  # sprmPFInnerTtp (nested tables)
_SPRM_TABLE_DEPTH = 0x6649    # sprmPItap
# Built-in style indexes 1-9 are "heading 1" to "heading 9" ([MS-DOC] 2.9.271 STSH).
_HEADING_ISTDS = range(1, 10)
# Special characters of the text stream.
_PARAGRAPH_END, _CELL_END, _LINE_BREAK, _PAGE_BREAK = "\r", "\x07", "\x0b", "\x0c"
_FIELD_BEGIN, _FIELD_SEPARATOR, _FIELD_END = "\x13", "\x14", "\x15"
# Anchors of pictures, drawings, footnote and comment marks, and hyphen controls: no text.
_DROPPED = dict.fromkeys(map(ord, "\x01\x02\x03\x04\x05\x08\x1f"), None) | {0x1E: "-", 0xA0: " "}


class _Unreadable(Exception):
    """The structures of the file contradict themselves."""


@dataclass(frozen=True)
class _Piece:
    cp_start: int
    cp_end: int
    fc: int          # byte offset of the piece in the WordDocument stream
    compressed: bool  # 8-bit cp1252 text instead of UTF-16


@dataclass(frozen=True)
class _ParagraphStyle:
    istd: int = 0
    in_table: bool = False
    row_end: bool = False


def _fib_pairs(word: bytes) -> tuple[int, int]:
    """Offset of FibRgFcLcb in the stream, and how many (fc, lcb) pairs it has."""
    csw = struct.unpack_from("<H", word, 32)[0]
    cslw_at = 34 + csw * 2
    cslw = struct.unpack_from("<H", word, cslw_at)[0]
    rgfclcb_at = cslw_at + 2 + cslw * 4
    count = struct.unpack_from("<H", word, rgfclcb_at)[0]
    return rgfclcb_at + 2, count


def _fc_lcb(word: bytes, index: int) -> tuple[int, int]:
    start, count = _fib_pairs(word)
    if index >= count:
        raise _Unreadable(f"the FIB has {count} offsets, fewer than Word 97's")
    return struct.unpack_from("<II", word, start + index * 8)


def _ccp_text(word: bytes) -> int:
    """Characters in the main document (FibRgLw97.ccpText)."""
    csw = struct.unpack_from("<H", word, 32)[0]
    return struct.unpack_from("<i", word, 34 + csw * 2 + 2 + 3 * 4)[0]


def _pieces(table: bytes, fc_clx: int, lcb_clx: int) -> list[_Piece]:
    """The piece table: the Clx is a run of Prc records (skipped) and one Pcdt with the PlcPcd."""
    clx = table[fc_clx : fc_clx + lcb_clx]
    at = 0
    while at < len(clx) and clx[at] == 0x01:  # Prc: property modifiers of pieces, not needed
        at += 3 + struct.unpack_from("<H", clx, at + 1)[0]
    if at >= len(clx) or clx[at] != 0x02:
        raise _Unreadable("no piece table in the Clx")
    size = struct.unpack_from("<I", clx, at + 1)[0]
    plc = clx[at + 5 : at + 5 + size]
    count = (len(plc) - 4) // 12
    if count <= 0:
        raise _Unreadable("empty piece table")
    cps = struct.unpack_from(f"<{count + 1}I", plc, 0)
    pieces = []
    for i in range(count):
        fc_compressed = struct.unpack_from("<I", plc, 4 * (count + 1) + 8 * i + 2)[0]
        compressed = bool(fc_compressed & 0x40000000)
        fc = fc_compressed & 0x3FFFFFFF
        pieces.append(_Piece(cps[i], cps[i + 1], fc // 2 if compressed else fc, compressed))
    return pieces


# 8-bit pieces are cp1252. Decoded as Latin-1 and then mapped, so that the five bytes cp1252
# leaves unassigned keep their Latin-1 meaning instead of failing the file.
_CP1252_FROM_LATIN1 = {
    byte: bytes([byte]).decode("cp1252") for byte in range(0x80, 0xA0) if byte not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}


def _decode(raw: bytes, compressed: bool) -> str:
    if not compressed:
        return raw.decode("utf-16-le", errors="replace")
    return raw.decode("latin-1").translate(_CP1252_FROM_LATIN1)


def _text_and_offsets(word: bytes, pieces: list[_Piece], limit: int) -> tuple[str, list[int]]:
    """The first ``limit`` characters, and for each the byte offset it was read from."""
    parts, offsets = [], []
    for piece in pieces:
        if piece.cp_start >= limit:
            break
        count = min(piece.cp_end, limit) - piece.cp_start
        width = 1 if piece.compressed else 2
        raw = word[piece.fc : piece.fc + count * width]
        parts.append(_decode(raw, piece.compressed))
        offsets.extend(range(piece.fc, piece.fc + count * width, width))
    return "".join(parts), offsets


def _sprm_operand_size(sprm: int, grpprl: bytes, at: int) -> int:
    spra = sprm >> 13
    if spra == 6:  # variable: a length byte, except two sprms with their own layout
        if sprm == 0xD608:  # sprmTDefTable: a 2-byte length, counting one byte more
            return 2 + struct.unpack_from("<H", grpprl, at)[0] - 1
        if sprm == 0xC615 and grpprl[at] == 255:  # sprmPChgTabs in its long form
            raise _Unreadable("long sprmPChgTabs")
        return 1 + grpprl[at]
    return (1, 1, 2, 4, 2, 2, 0, 3)[spra]


def _paragraph_style(grpprl_and_istd: bytes) -> _ParagraphStyle:
    istd = struct.unpack_from("<H", grpprl_and_istd, 0)[0] if len(grpprl_and_istd) >= 2 else 0
    in_table = row_end = False
    at = 2
    try:
        while at + 2 <= len(grpprl_and_istd):
            sprm = struct.unpack_from("<H", grpprl_and_istd, at)[0]
            at += 2
            size = _sprm_operand_size(sprm, grpprl_and_istd, at)
            operand = grpprl_and_istd[at : at + size]
            if sprm == _SPRM_IN_TABLE and operand[:1] == b"\x01":
                in_table = True
            elif sprm in (_SPRM_TABLE_ROW_END, _SPRM_INNER_ROW_END) and operand[:1] == b"\x01":
                row_end = True
            elif sprm == _SPRM_TABLE_DEPTH and len(operand) == 4 and struct.unpack("<i", operand)[0] > 0:
                in_table = True
            at += size
    except (_Unreadable, struct.error, IndexError):
        pass  # the style index is known; the table marks are guessed from the text
    return _ParagraphStyle(istd, in_table, row_end)


class _ParagraphStyles:
    """Paragraph properties by byte offset: the PlcBtePapx points to 512-byte PapxFkp pages,
    each mapping byte ranges of the text to a PAPX (style index and property modifiers)."""

    def __init__(self, word: bytes, table: bytes) -> None:
        self.starts: list[int] = []
        self.styles: list[_ParagraphStyle] = []
        fc, lcb = _fc_lcb(word, _FC_PLCF_BTE_PAPX)
        plc = table[fc : fc + lcb]
        count = (len(plc) - 4) // 8
        runs = []
        for i in range(max(count, 0)):
            page = struct.unpack_from("<I", plc, 4 * (count + 1) + 4 * i)[0] & 0x3FFFFF
            runs.extend(self._page(word[page * 512 : page * 512 + 512]))
        runs.sort(key=lambda run: run[0])
        for start, style in runs:
            self.starts.append(start)
            self.styles.append(style)

    @staticmethod
    def _page(fkp: bytes) -> list[tuple[int, _ParagraphStyle]]:
        if len(fkp) < 512:
            return []
        crun = fkp[511]
        fcs = struct.unpack_from(f"<{crun + 1}I", fkp, 0)
        runs = []
        for i in range(crun):
            offset = fkp[4 * (crun + 1) + 13 * i] * 2  # BxPap: a word offset, then 12 bytes of PHE
            style = _ParagraphStyle()
            if offset:
                cb = fkp[offset]
                if cb:
                    data = fkp[offset + 1 : offset + 1 + 2 * cb - 1]
                else:
                    cb = fkp[offset + 1]
                    data = fkp[offset + 2 : offset + 2 + 2 * cb]
                style = _paragraph_style(data)
            runs.append((fcs[i], style))
        return runs

    def at(self, fc: int) -> _ParagraphStyle:
        index = bisect_right(self.starts, fc) - 1
        return self.styles[index] if index >= 0 else _ParagraphStyle()


def _drop_field_codes(text: str) -> str:
    """Keep what a field shows (between separator and end), drop its code (begin to separator)."""
    out, depth_in_code = [], []
    for char in text:
        if char == _FIELD_BEGIN:
            depth_in_code.append(True)
        elif char == _FIELD_SEPARATOR and depth_in_code:
            depth_in_code[-1] = False
        elif char == _FIELD_END and depth_in_code:
            depth_in_code.pop()
        elif not any(depth_in_code):
            out.append(char)
    return "".join(out)


def _paragraphs(text: str, offsets: list[int], styles: _ParagraphStyles | None):
    """(text, style, is a table cell) for each paragraph or cell, in order."""
    start = 0
    for index, char in enumerate(text):
        if char not in (_PARAGRAPH_END, _CELL_END):
            continue
        style = styles.at(offsets[index]) if styles is not None else _ParagraphStyle()
        yield text[start:index], style, char == _CELL_END
        start = index + 1
    if start < len(text):
        yield text[start:], _ParagraphStyle(), False


def _build(text: str, offsets: list[int], styles: _ParagraphStyles | None) -> SectionBuilder:
    builder = SectionBuilder()
    row: list[str] = []
    previous_was_cell = False
    for raw, style, is_cell in _paragraphs(text, offsets, styles):
        clean = " ".join(_drop_field_codes(raw).translate(_DROPPED).replace(_LINE_BREAK, " ").replace(_PAGE_BREAK, " ").split())
        if is_cell:
            # A cell ends with a cell mark; the row ends with one more mark of its own, marked
            # as a row end in its properties. Some writers (LibreOffice) leave that mark without
            # table properties at all, which no cell mark lacks; without properties, a mark
            # right after a cell's is taken as the row end.
            if styles is not None:
                ends_row = style.row_end or not style.in_table
            else:
                ends_row = previous_was_cell and not raw
            if ends_row:
                if row:
                    builder.add_line(" | ".join(row))
                row, previous_was_cell = [], False
                continue
            if clean:
                row.append(clean)
            previous_was_cell = True
            continue
        previous_was_cell = False
        if row:  # a table whose row mark was not recognised
            builder.add_line(" | ".join(row))
            row = []
        if not clean:
            continue
        if style.istd in _HEADING_ISTDS and not style.in_table:
            builder.heading(style.istd, clean)
        else:
            builder.add_line(clean)
    if row:
        builder.add_line(" | ".join(row))
    return builder


def _check_fib(path: Path, word: bytes) -> bool:
    """Raise for formats this reader does not take; return the table stream's number."""
    if len(word) < 0x200:
        raise ConnectorError(path, ErrorCategory.CORRUPT, "the WordDocument stream is too short for a FIB")
    ident, nfib = struct.unpack_from("<HH", word, 0)
    flags = struct.unpack_from("<H", word, 0x0A)[0]
    if ident == _WORD6_IDENT or (ident == _WORD97_IDENT and nfib < _MIN_WORD97_NFIB):
        raise ConnectorError(
            path, ErrorCategory.UNSUPPORTED,
            f"a Word 6 or Word 95 file (nFib {nfib}); only Word 97 and later .doc files are read: save it as .docx",
        )
    if ident != _WORD97_IDENT:
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"not a Word document (FIB identifier {ident:#06x})")
    if flags & (_F_ENCRYPTED | _F_OBFUSCATED):
        raise ConnectorError(path, ErrorCategory.ENCRYPTED, "password-protected Word document (.doc); save it without a password")
    return bool(flags & _F_WHICH_TABLE)


def read_doc(path: Path, options: ReadOptions) -> Document:
    """A Word 97-2003 file; a .docx under a .doc name is handed to the Word connector."""
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(ZIP_MAGIC):
        from connectors.docx import read_docx

        return read_docx(path, options)
    if head.startswith(b"{\\rtf"):
        raise ConnectorError(path, ErrorCategory.UNSUPPORTED, "an RTF file named .doc; RTF is not supported, save it as .docx")
    if head != OLE_MAGIC:
        raise ConnectorError(path, ErrorCategory.CORRUPT, "not a Word document: neither an OLE compound file nor a zip")
    try:
        with olefile.OleFileIO(str(path)) as ole:
            if not ole.exists("WordDocument"):
                raise ConnectorError(path, ErrorCategory.UNSUPPORTED, "an OLE file without a WordDocument stream (not a Word file)")
            word = ole.openstream("WordDocument").read()
            table_name = "1Table" if _check_fib(path, word) else "0Table"
            if not ole.exists(table_name):
                raise ConnectorError(path, ErrorCategory.CORRUPT, f"the {table_name} stream is missing")
            table = ole.openstream(table_name).read()
            title, author = summary_metadata(ole)
    except OSError as error:  # olefile raises OSError for a damaged compound file
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"damaged OLE file: {error}") from error
    try:
        pieces = _pieces(table, *_fc_lcb(word, _FC_CLX))
        text, offsets = _text_and_offsets(word, pieces, _ccp_text(word))
    except (_Unreadable, struct.error) as error:
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"unreadable Word document: {error}") from error
    try:
        styles: _ParagraphStyles | None = _ParagraphStyles(word, table)
    except (_Unreadable, struct.error, IndexError) as error:
        log.info("%s: paragraph styles unreadable (%s); no headings, tables guessed", path, error)
        styles = None
    builder = _build(text, offsets, styles)
    sections = builder.finish()
    return Document(path=path, file_type="doc", sections=sections, title=title or builder.first_heading(), author=author)
