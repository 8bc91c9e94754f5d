"""How many PDF pages the garbled-text-layer detector flags on a corpus, why, and how many of
them a second, independent reading confirms (connectors/garbled.py).

Every page of every PDF under the folder is read with pypdf, as the PDF connector does, and its
text measured. For each flagged page the script then asks PDFium for its own reading of the
text layer: when that reads well and shares few letters with pypdf's, the page decodes two ways
and pypdf's was the wrong one. With ``--ocr`` the flagged pages PDFium does not settle are read
by OCR and compared the same way; with ``--render DIR`` they are drawn as PNG files to look at.

    .venv/bin/python bench/garbled_pages.py                     # ../shared/data/docs
    .venv/bin/python bench/garbled_pages.py --ocr --render /tmp/garbled

Speed figures come with the CPU model, its flags and the load average, since other work on the
machine changes them.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pypdf import PdfReader  # noqa: E402

from connectors import ReadOptions, garbled  # noqa: E402
from connectors.pdf import read_pdf  # noqa: E402
from connectors.pdf_render import PageImages  # noqa: E402

DOCS = REPO.parent / "shared" / "data" / "docs"
# The flags that make a speed figure comparable across machines.
SHOWN_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def machine() -> str:
    """The CPU model, its flags that matter for speed, the core count and the load average."""
    model, flags = "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "unknown CPU":
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    shown = " ".join(flag for flag in SHOWN_FLAGS if flag in flags) or "none of the listed"
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"{model}; {os.cpu_count()} cores; flags: {shown}; load average {load}"


@dataclass
class FlaggedPage:
    path: Path
    page: int  # 1-based
    signal: str
    reason: str
    text: str
    confirmed_by: str = ""  # "pdfium" or "ocr" when an independent reading reads well


def pdf_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.suffix.lower() == ".pdf" and path.is_file())


def page_texts(path: Path) -> list[str] | None:
    """pypdf's text of every page (a page it cannot read is ""); None for a file it cannot open."""
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            reader.decrypt("")
        pages = list(reader.pages)
    except Exception:  # noqa: BLE001 - a benchmark counts what it cannot open and goes on
        return None
    texts = []
    for page in pages:
        try:
            texts.append(page.extract_text() or "")
        except Exception:  # noqa: BLE001
            texts.append("")
    return texts


def independent(text: str, second: str) -> bool:
    """Whether a second reading confirms the first was garbled: it reads well and is no copy."""
    return garbled.reads_well(second) and not garbled.same_reading(text, second)


def confirm(flagged: list[FlaggedPage], use_ocr: bool, render: Path | None) -> None:
    """Set ``confirmed_by`` on the pages a second reading settles; draw them when asked."""
    for page in flagged:
        images = PageImages(page.path)
        try:
            if independent(page.text, images.text(page.page - 1)):
                page.confirmed_by = "pdfium"
            elif use_ocr:
                # The connector's own path: OCR at 200 dpi, a second look at 100 dpi if need be.
                document = read_pdf(page.path, ReadOptions(), pages=range(page.page - 1, page.page))
                section = document.sections[0] if document.sections else None
                if section is not None and section.ocr and garbled.reads_well(section.text):
                    page.confirmed_by = "ocr"
            if render is not None:
                render.mkdir(parents=True, exist_ok=True)
                image = images.render(page.page - 1, 100, 4_000_000)
                if image is not None:
                    image.save(render / f"{page.path.stem}-p{page.page}.png")
        except Exception as error:  # noqa: BLE001
            print(f"  cannot check {page.path.name} p{page.page}: {error}")
        finally:
            images.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", nargs="?", type=Path, default=DOCS, help="folder searched for PDFs (default: %(default)s)")
    parser.add_argument("--ocr", action="store_true", help="OCR the flagged pages PDFium does not confirm")
    parser.add_argument("--render", type=Path, help="draw the flagged pages as PNG files into this folder")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # pypdf's warnings on the corpus's broken files

    print(f"machine: {machine()}")
    files = pdf_files(args.root)
    pages = unopened = 0
    read_seconds = measure_seconds = 0.0
    flagged: list[FlaggedPage] = []
    chinese_pages = 0
    for path in files:
        started = time.perf_counter()
        texts = page_texts(path)
        read_seconds += time.perf_counter() - started
        if texts is None:
            unopened += 1
            continue
        for number, text in enumerate(texts, start=1):
            started = time.perf_counter()
            signals = garbled.measure(text)
            measure_seconds += time.perf_counter() - started
            pages += 1
            chinese_pages += signals.han >= 20 and not signals.garbled
            if signals.garbled:
                flagged.append(FlaggedPage(path, number, signals.signal, signals.reason, text))
    confirm(flagged, args.ocr, args.render)

    print(f"{len(files)} PDF files ({unopened} pypdf cannot open), {pages} pages")
    print(f"pypdf text: {1000 * read_seconds / max(pages, 1):.1f} ms/page; "
          f"detector: {1000 * measure_seconds / max(pages, 1):.2f} ms/page")
    print(f"clean pages with 20 or more Chinese characters: {chinese_pages}")
    confirmed = sum(bool(page.confirmed_by) for page in flagged)
    print(f"flagged: {len(flagged)} pages in {len({page.path for page in flagged})} files; "
          f"confirmed by an independent reading: {confirmed} "
          f"({Counter(page.confirmed_by or 'not confirmed' for page in flagged)})")
    print("signals:", dict(Counter(page.signal for page in flagged)))
    for page in flagged:
        print(f"  {page.path.relative_to(args.root)} p{page.page}: {page.reason}; "
              f"{page.confirmed_by or 'not confirmed'}; {page.text[:40]!r}")
    clean_texts(args.root.parent / "ir")
    print(f"machine after: {machine()}")


def clean_texts(ir: Path) -> None:
    """False alarms on clean text: the passages of the retrieval collections beside the corpus
    (Chinese: CMRC 2018, QBQTC; English: Cranfield, CISI), each measured as if it were a page."""
    import json

    for corpus in sorted(ir.glob("*/corpus.jsonl")):
        texts = [json.loads(line).get("text", "") for line in corpus.read_text(encoding="utf-8").splitlines()]
        flagged = [text for text in texts if garbled.is_garbled(text)]
        judged = sum(garbled.measure(text).chars >= 8 for text in texts)
        print(f"clean text {corpus.parent.name}: {len(flagged)} of {judged} passages flagged"
              + "".join(f"\n  {garbled.measure(t).reason}: {t[:60]!r}" for t in flagged[:5]))


if __name__ == "__main__":
    main()
