"""Which OCR engine to use: rapidocr (the one connectors/ocr.py runs) against Tesseract.

Measured on (1) a generated Chinese scan with known text (bench/scanned_page.py), as
1 - character error rate after NFKC with whitespace removed; (2) two English scans of the
shared corpus, as the number of known phrases found; (3) every image-only page of the shared
corpus (text layer under 10 characters, images over half the page), as pages that yield
text. Seconds per page are wall-clock, the engine already loaded, pages rendered at 200 dpi.

    apt-get install -y tesseract-ocr tesseract-ocr-chi-sim fonts-wqy-microhei   # Tesseract is optional
    .venv/bin/python bench/ocr_engines.py [--docs ../shared/data/docs]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from pypdf import PdfReader  # noqa: E402
from scanned_page import TEXT_ZH, scanned_page  # noqa: E402

from connectors.ocr import OcrEngine  # noqa: E402
from connectors.pdf_render import PageImages  # noqa: E402

PASSWORDS = ("", "openpassword", "foo", "password")
# Phrases read by eye off the page images.
PHRASES = {
    "pdfminer-samples/samples/nonfree/175.pdf": [
        "ACCESSORY KIT NO. AK-120A", "December 20, 1974", "Oversize Tire Accessory Kit", "WEIGHT INCREASE",
        "Fork Assembly", "Cotter Pin", "Installation of 6.00X6 main gear tires and extended nose gear fork",
        "must be installed in conjunction", "Spring Plunger Elimination Kit No. SK-107",
        "Estimated time to accomplish this installation is two (2) man hours",
        "The weight must be removed from the landing gear for this installation", "Description of Installation",
    ],
    "unstructured-example-docs/example-docs/pdf/loremipsum-flat.pdf": [
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit", "Morbi efficitur, ipsum maximus tristique lobortis",
        "Sed posuere sit amet lacus sed pharetra", "Nunc elementum lacus posuere enim molestie finibus",
        "Donec ut luctus nisi", "Duis quis lacinia lacus", "Phasellus ornare quis diam at vestibulum",
    ],
}


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def accuracy(truth: str, got: str) -> float:
    truth, got = _norm(truth), _norm(got)
    previous = list(range(len(got) + 1))
    for i, a in enumerate(truth, 1):
        current = [i]
        for j, b in enumerate(got, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return 1 - previous[-1] / len(truth)


def phrases_found(phrases: list[str], got: str) -> int:
    text = _norm(got).lower()
    return sum(_norm(phrase).lower() in text for phrase in phrases)


class Rapid:
    def __init__(self, threads: int) -> None:
        self.name = f"rapidocr, {threads} thread(s)"
        started = time.perf_counter()
        self.engine = OcrEngine(threads)
        self.load_s = time.perf_counter() - started

    def read(self, image, lang: str) -> str:
        return self.engine.read(image)


class Tesseract:
    def __init__(self, threads: int) -> None:
        self.name = f"tesseract {self.version()}, {threads} thread(s)"
        self.env = {**os.environ, "OMP_THREAD_LIMIT": str(threads)}
        self.load_s = 0.0

    @staticmethod
    def version() -> str:
        return subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.split()[1]

    def read(self, image, lang: str) -> str:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "page.png"
            image.save(path)
            languages = "chi_sim+eng" if lang == "zh" else "eng"
            return subprocess.run(["tesseract", str(path), "-", "-l", languages], capture_output=True, text=True,
                                  env=self.env, check=True).stdout


def image_only_pages(docs: Path) -> list[tuple[str, int]]:
    """(file, page index) of every page whose text layer is under 10 characters and whose
    images cover at least half of it."""
    found = []
    for path in sorted(docs.rglob("*.pdf")):
        try:
            reader = PdfReader(path)
            password = None
            if reader.is_encrypted:
                password = next(p for p in PASSWORDS if reader.decrypt(p))
            images = PageImages(path, password)
            for index, page in enumerate(reader.pages):
                if len(_norm(page.extract_text() or "")) < 10 and images.image_share(index) >= 0.5:
                    found.append((str(path.relative_to(docs)), index))
            images.close()
        except Exception:  # noqa: BLE001 - damaged and encrypted samples: not pages a user can OCR
            continue
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description="Compare OCR engines on Chinese and on the corpus's scans.")
    parser.add_argument("--docs", type=Path, default=REPO.parent / "shared" / "data" / "docs")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    pages = image_only_pages(args.docs)
    print(f"{len(pages)} image-only pages in {args.docs}")
    rendered = {}
    for name, index in pages:
        password = next((p for p in PASSWORDS if not PdfReader(args.docs / name).is_encrypted
                         or PdfReader(args.docs / name).decrypt(p)), None)
        image = PageImages(args.docs / name, password or None).render(index, 200, 8_000_000)
        if image is not None:
            rendered[(name, index)] = image
    chinese = scanned_page(TEXT_ZH)
    engines = [Rapid(1), Rapid(2)]
    if shutil.which("tesseract"):
        engines += [Tesseract(1), Tesseract(2)]
    print("| engine | load s | Chinese page accuracy | s/page Chinese | 175.pdf phrases | loremipsum phrases "
          "| image-only pages with text | s/page (all) |")
    print("|---|---|---|---|---|---|---|---|")
    for engine in engines:
        started = time.perf_counter()
        got = engine.read(chinese, "zh")
        zh_s = time.perf_counter() - started
        times, with_text, found = [], 0, {}
        for (name, index), image in rendered.items():
            started = time.perf_counter()
            text = engine.read(image, "en")
            times.append(time.perf_counter() - started)
            with_text += bool(_norm(text))
            if name in PHRASES and index == 0:
                found[name] = phrases_found(PHRASES[name], text)
        lorem = "unstructured-example-docs/example-docs/pdf/loremipsum-flat.pdf"
        scan = "pdfminer-samples/samples/nonfree/175.pdf"
        print(f"| {engine.name} | {engine.load_s:.1f} | {accuracy(''.join(TEXT_ZH), got):.2%} | {zh_s:.1f} "
              f"| {found.get(scan, 0)}/{len(PHRASES[scan])} | {found.get(lorem, 0)}/{len(PHRASES[lorem])} "
              f"| {with_text}/{len(rendered)} | {statistics.mean(times):.2f} |", flush=True)


if __name__ == "__main__":
    main()
