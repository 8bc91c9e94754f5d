"""Files and folder shapes that real archives (and hostile users) produce, built on demand.

Each builder writes one case into a folder and returns its path; ``hostile_folder`` puts them
all side by side with a few ordinary texts, for the whole-run tests.
"""

from __future__ import annotations

import os
import shutil
import sys
import zipfile
import zlib
from pathlib import Path

from fpdf import FPDF

FIXTURES = Path(__file__).parent / "fixtures"

# "文件" in GBK: not UTF-8, as names from Chinese archives unpacked on Linux often are.
GBK_NAME = "文件".encode("gbk")
ORDINARY_TEXT = "The committee approved the annual water budget after a long debate about pumps.\n"


def fs_path(folder: Path, name: bytes) -> Path:
    """A path whose last part is the raw bytes ``name``, as Python represents it (surrogateescape)."""
    return folder / os.fsdecode(name)


def non_utf8_texts(folder: Path) -> list[Path]:
    """A Latin-1 name and a GBK name, both ordinary text."""
    paths = [fs_path(folder, b"bad\xff.txt"), fs_path(folder, GBK_NAME + b".txt")]
    for number, path in enumerate(paths):
        path.write_text(f"{ORDINARY_TEXT}Note number {number} about reservoirs.\n", encoding="utf-8")
    return paths


def text_pdf(path: Path, pages: int, words_per_page: int = 400) -> Path:
    """A real PDF of ``pages`` pages of text (fpdf2), uncompressed so it is large."""
    pdf = FPDF()
    pdf.set_compression(False)
    pdf.set_font("helvetica", size=9)
    for page in range(pages):
        pdf.add_page()
        words = " ".join(f"word{(page * 7 + n) % 997}" for n in range(words_per_page))
        pdf.multi_cell(0, 4, f"Page {page + 1}. {words}")
    pdf.output(str(path))
    return path


def overflowing_startxref_pdf(path: Path) -> Path:
    """A PDF over 200 KB whose ``startxref`` is a number no integer type holds."""
    text_pdf(path, pages=60)
    head, _, _ = path.read_bytes().rpartition(b"startxref")
    path.write_bytes(head + b"startxref\n99999999999999999999\n%%EOF\n")
    assert path.stat().st_size > 200 * 1024
    return path


def _write_pdf(path: Path, objects: list[bytes]) -> Path:
    """A PDF from numbered object bodies (object 1 is the catalog), with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def _stream(content: bytes, *, deflate: bool = False) -> bytes:
    if deflate:
        return b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + b"\nendstream"
    return b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def _text_ops(text: str) -> bytes:
    return b"BT /F1 12 Tf 72 720 Td (" + text.encode("latin-1") + b") Tj ET"


def repeated_page_pdf(path: Path, repeats: int = 99_999) -> Path:
    """A page tree that lists one page ``repeats`` times (about 600 KB for 99,999)."""
    kids = b" ".join([b"3 0 R"] * repeats)
    return _write_pdf(path, [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % repeats,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        _stream(_text_ops("the same page again")),
        _FONT,
    ])


def flate_bomb_pdf(path: Path, inflated_mb: int = 3072) -> Path:
    """Page 1's content stream inflates to ``inflated_mb`` MB of spaces; page 2 holds real text."""
    compressor = zlib.compressobj(9)
    block = b" " * (16 << 20)
    parts = [compressor.compress(block) for _ in range(inflated_mb // 16)]
    bomb = b"".join(parts) + compressor.flush()
    resources = b"/Resources << /Font << /F1 7 0 R >> >>"
    return _write_pdf(path, [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R " + resources + b" >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 6 0 R " + resources + b" >>",
        _stream(bomb, deflate=True),
        _stream(_text_ops("Reservoir levels rose in the second quarter.")),
        _FONT,
    ])


def _rewrite_docx(target: Path, change) -> Path:
    with zipfile.ZipFile(FIXTURES / "category-level.docx") as old, \
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            new.writestr(item, change(item.filename, old.read(item)))
    return target


_LAUGHS = b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'


def docx_doctype_after_comment(path: Path) -> Path:
    """An entity declaration behind a 6 KB comment, past where a guard reading 4 KB looks."""

    def change(name: str, data: bytes) -> bytes:
        if name != "word/document.xml":
            return data
        end = data.index(b"?>") + 2
        return data[:end] + b"<!--" + b"x" * 6000 + b"-->" + _LAUGHS + data[end:]

    return _rewrite_docx(path, change)


def docx_doctype_utf16(path: Path) -> Path:
    """The same declaration in a part saved as UTF-16, where a byte search for ``<!DOCTYPE`` fails."""

    def change(name: str, data: bytes) -> bytes:
        if name != "word/document.xml":
            return data
        text = data.decode("utf-8")
        end = text.index("?>") + 2
        text = text[:end].replace('encoding="UTF-8"', 'encoding="UTF-16"') + _LAUGHS.decode() + text[end:]
        return text.encode("utf-16")

    return _rewrite_docx(path, change)


def docx_huge_xml(path: Path, unpacked_mb: int) -> Path:
    """A Word file whose document.xml unpacks to about ``unpacked_mb`` MB of varied paragraphs
    (compressed about 6 times, so no zip-bomb ratio catches it)."""
    paragraph = "".join(f"<w:p><w:r><w:t>entry {n} of the long register, item {n * 7919 % 100003}</w:t></w:r></w:p>"
                        for n in range(2000)).encode()
    with zipfile.ZipFile(FIXTURES / "category-level.docx") as old, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as new:
        for item in old.infolist():
            if item.filename != "word/document.xml":
                new.writestr(item, old.read(item))
                continue
            data = old.read(item)
            start = data.index(b"<w:body>") + len(b"<w:body>")
            with new.open("word/document.xml", "w", force_zip64=True) as part:
                part.write(data[:start])
                for _ in range(unpacked_mb * 1024 * 1024 // len(paragraph)):
                    part.write(paragraph)
                part.write(data[start:])
    return path


def elf_as_text(path: Path) -> Path:
    """A program binary saved under a .txt name."""
    shutil.copy(sys.executable if Path(sys.executable).stat().st_size > 4096 else "/bin/ls", path)
    return path


def deep_html(path: Path, depth: int = 1000) -> Path:
    path.write_text("<html><body>" + "<div>" * depth + "<p>Deep inside lies the pump schedule.</p>"
                    + "</div>" * depth + "</body></html>", encoding="utf-8")
    return path


def hostile_folder(base: Path, *, bomb_mb: int = 3072) -> tuple[Path, Path]:
    """Every hostile case above in ``base/docs``, with ordinary texts, and a folder outside it
    that links point to. Returns (the folder to ingest, the outside folder)."""
    docs, outside = base / "docs", base / "outside"
    for folder in (docs, outside, docs / "sub"):
        folder.mkdir(parents=True)
    (outside / "secret.txt").write_text("Outside text that must never be stored.\n", encoding="utf-8")
    (docs / "plain.txt").write_text(ORDINARY_TEXT, encoding="utf-8")
    (docs / "sub" / "inner.md").write_text("# Inner\n\nPumps and reservoirs, inside the folder.\n", encoding="utf-8")
    non_utf8_texts(docs)
    gbk_folder = fs_path(docs, GBK_NAME)
    gbk_folder.mkdir()
    (gbk_folder / "note.txt").write_text("A note inside a folder whose name is GBK.\n", encoding="utf-8")
    overflowing_startxref_pdf(docs / "overflow.pdf")
    repeated_page_pdf(docs / "repeated-page.pdf")
    flate_bomb_pdf(docs / "flate-bomb.pdf", inflated_mb=bomb_mb)
    docx_doctype_after_comment(docs / "dtd-after-comment.docx")
    docx_doctype_utf16(docs / "dtd-utf16.docx")
    elf_as_text(docs / "program.txt")
    deep_html(docs / "deep.html")
    os.mkfifo(docs / "pipe.txt")
    (docs / "zero.txt").symlink_to("/dev/zero")
    (docs / "outside-link").symlink_to(outside, target_is_directory=True)
    (docs / "secret-link.txt").symlink_to(outside / "secret.txt")
    (docs / "sub" / "loop").symlink_to("..", target_is_directory=True)
    (docs / "inner-link.md").symlink_to(docs / "sub" / "inner.md")
    return docs, outside
