"""Scripts and languages: the CJK character ranges, and telling a text's language from its script.

One place for these, shared by cleaning (joining lines without spaces), chunking, the
lexical tokenizer, the query path's language-aware fusion and the evaluation.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# Hiragana and katakana, CJK unified ideographs (with extension A), compatibility ideographs, Hangul.
CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

# Every code detect_language returns.
LANGUAGES = ("en", "zh", "ja", "ko")

_HAN = re.compile(f"[{HAN_RANGES}]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_LETTER = re.compile(r"[^\W\d_]")


def detect_language(texts: Iterable[str] | str, sample_chars: int = 200_000) -> str:
    """The script of a text (or of a corpus, from a sample) as a language code: "zh", "ja",
    "ko", or "en" for Latin and any other script.

    Counted over letters; a text is CJK when CJK characters are at least 30% of its letters
    (Chinese text routinely mixes in Latin names and numbers).
    """
    if isinstance(texts, str):
        texts = [texts]
    counts: Counter[str] = Counter()
    seen = 0
    for text in texts:
        text = text[:5000]
        counts["letters"] += len(_LETTER.findall(text))
        counts["han"] += len(_HAN.findall(text))
        counts["kana"] += len(_KANA.findall(text))
        counts["hangul"] += len(_HANGUL.findall(text))
        seen += len(text)
        if seen >= sample_chars:
            break
    letters = max(counts["letters"], 1)
    if counts["kana"] / letters > 0.05:
        return "ja"
    if counts["hangul"] / letters > 0.3:
        return "ko"
    if counts["han"] / letters > 0.3:
        return "zh"
    return "en"
