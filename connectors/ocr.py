"""OCR for PDF pages that have no text layer (scans), called by the PDF connector page by page.

The engine is rapidocr: PaddleOCR's PP-OCR detection and recognition models run by ONNX
Runtime. Its wheel ships the model files, and they are named here by path, so rapidocr never
reaches for its download code: nothing is fetched at run time. It was chosen by measurement
(``bench/ocr_engines.py``; figures in the README): it reads Chinese far better than Tesseract
and English scans about as well.

One engine is loaded per process, lazily, on the first page that needs it: a worker that only
meets text PDFs never pays the seconds and the memory of loading it.
"""

from __future__ import annotations

import logging
import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

# The models rapidocr 3.10 puts in its wheel (its default det and rec models); the angle
# classifier is not used: it costs about a fifth more time and scanned pages are upright.
_DET_MODEL = "PP-OCRv6_det_small.onnx"
_REC_MODEL = "PP-OCRv6_rec_small.onnx"
_CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"

# Characters written without spaces between them (Chinese, Japanese, full-width punctuation).
# The same script ranges as pipeline/language.py, repeated because connectors import nothing from
# pipeline.
_NO_SPACE = re.compile("[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


class OcrUnavailable(RuntimeError):
    """The OCR engine cannot be loaded (not installed, or its wheel lacks the expected models)."""


class OcrListener(Protocol):
    """Told when a page's recognition starts and ends, so a supervisor can tell slow from stuck."""

    def page_started(self) -> None: ...

    def page_done(self, seconds: float) -> None: ...


_listener: OcrListener | None = None


def set_listener(listener: OcrListener | None) -> None:
    """Install the listener for this process (the parse worker installs one per task)."""
    global _listener
    _listener = listener


@dataclass(frozen=True)
class TextBox:
    """One recognised run of text and its box in pixels."""

    text: str
    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        return max(self.bottom - self.top, 1.0)

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


def join_words(left: str, right: str) -> str:
    """Two runs of text joined by a space, or without one between two Chinese or Japanese
    characters (which are written without spaces)."""
    if not left or not right:
        return left + right
    if _NO_SPACE.match(left[-1]) and _NO_SPACE.match(right[0]):
        return left + right
    return f"{left} {right}"


def layout_text(boxes: Sequence[TextBox]) -> str:
    """The boxes as text in reading order: boxes on one line joined (without a space between
    Chinese characters), lines by newlines, and a blank line where the gap between two lines
    is larger than a line, so paragraphs stay apart for the chunker."""
    rows: list[list[TextBox]] = []
    for box in sorted(boxes, key=lambda b: (b.middle, b.left)):
        row = rows[-1] if rows else None
        # Same line: this box's middle lies within the vertical span of the line so far.
        if row is not None and min(b.top for b in row) <= box.middle <= max(b.bottom for b in row):
            row.append(box)
        else:
            rows.append([box])
    if not rows:
        return ""
    line_height = statistics.median(box.height for box in boxes)
    parts: list[str] = []
    previous_bottom: float | None = None
    for row in rows:
        line = ""
        for box in sorted(row, key=lambda b: b.left):
            line = join_words(line, box.text.strip())
        top = min(b.top for b in row)
        if previous_bottom is not None:
            parts.append("\n\n" if top - previous_bottom > line_height else "\n")
        parts.append(line)
        previous_bottom = max(b.bottom for b in row)
    return "".join(parts).strip()


class OcrEngine:
    """rapidocr with the models from its wheel, on ``threads`` ONNX Runtime threads."""

    def __init__(self, threads: int = 1) -> None:
        try:
            import rapidocr
            from rapidocr import RapidOCR
        except ImportError as error:
            raise OcrUnavailable(f"rapidocr is not installed ({error}); run `make install`") from error
        models = Path(rapidocr.__file__).parent / "models"
        paths = {name: models / name for name in (_DET_MODEL, _REC_MODEL, _CLS_MODEL)}
        missing = [name for name, path in paths.items() if not path.is_file()]
        if missing:
            raise OcrUnavailable(
                f"rapidocr's wheel has no {', '.join(missing)} in {models}; install rapidocr 3.10 (`make install`)"
            )
        started = time.perf_counter()
        self._engine = RapidOCR(
            params={
                "Global.use_cls": False,
                "Global.log_level": "error",
                "Det.model_path": str(paths[_DET_MODEL]),
                "Rec.model_path": str(paths[_REC_MODEL]),
                "Cls.model_path": str(paths[_CLS_MODEL]),
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )
        log.info("OCR engine loaded in %.1f s (%d thread(s))", time.perf_counter() - started, threads)

    def boxes(self, image: Any) -> list[TextBox]:
        """The text boxes found in an image (a PIL image or an RGB array)."""
        result = self._engine(image, use_cls=False)
        if result.boxes is None or result.txts is None:
            return []
        found = []
        for points, text in zip(result.boxes, result.txts):
            xs = [float(point[0]) for point in points]
            ys = [float(point[1]) for point in points]
            if text.strip():
                found.append(TextBox(text, min(xs), min(ys), max(xs), max(ys)))
        return found

    def read(self, image: Any) -> str:
        return layout_text(self.boxes(image))


_engines: dict[int, OcrEngine] = {}


def engine(threads: int = 1) -> OcrEngine:
    """This process's engine, loaded on first use."""
    if threads not in _engines:
        _engines[threads] = OcrEngine(threads)
    return _engines[threads]


@dataclass
class OcrStats:
    """What OCR did for one document."""

    pages: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def recognise_page(image: Any, threads: int, stats: OcrStats, *, second_look: bool = False) -> str:
    """One page image to text, timed, with the listener told before and after (a second look at
    a page already counted adds its seconds, not another page)."""
    listener = _listener
    if listener is not None:
        listener.page_started()
    started = time.perf_counter()
    try:
        return engine(threads).read(image)
    finally:
        seconds = time.perf_counter() - started
        stats.pages += not second_look
        stats.seconds += seconds
        if listener is not None:
            listener.page_done(seconds)
