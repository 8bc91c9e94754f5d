"""Garbled text layers: a page whose text layer decodes to the wrong characters, told apart
from a page that reads well, so that the PDF connector can read it again (PDFium's text layer,
else OCR as for a scan).

A PDF can draw the right glyphs and still map them to the wrong characters: a font without a
ToUnicode map, a CID font whose map is wrong, GBK bytes under a Latin encoding. The page looks
right on screen and extracts as nonsense, and nonsense indexed is worse than nothing: it matches
no query and fills the chunks. Each signal below is one way such a layer shows, measured on the
page's extracted text alone (no rendering), so checking every page costs about a millisecond:

- **bad characters**: private-use code points (a symbol font's glyphs), U+FFFD, control
  characters, and pdfminer's ``(cid:123)`` placeholders for glyphs it could not map;
- **mojibake**: a run of Latin-1 letters that are really the bytes of Chinese text in GBK, Big5
  or UTF-8 (``È«ÊÀ½ç`` is 全世界 in GBK);
- **script soup**: letters that jump between writing systems at almost every character (Oriya,
  Hangul jamo, Tai Tham, Tamil in one word), which no language does;
- **rare Chinese characters**: Chinese characters of which few are among the everyday ones, as
  when CIDs are looked up in the wrong character collection.

Thresholds are set from the shared corpus (``bench/garbled_pages.py`` prints the figures): a false
alarm costs seconds of OCR per page, so each signal has to be strong before a page is flagged.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from fontTools import unicodedata as font_unicodedata

# pdfminer (and so pdfplumber) writes an unmapped glyph as "(cid:123)".
_CID = re.compile(r"\(cid:\d+\)")
# A page with fewer judged characters than this is not judged: a page number or a stamp says
# too little, and the PDF connector already OCRs pages with almost no text.
_MIN_CHARS = 8
# Flag a page when at least this share of its non-space characters is private-use, U+FFFD,
# control or a cid placeholder. The clean pages of the shared corpus hold at most 5.4% (the NULs
# pypdf writes for TeX's bracket pieces), the partly garbled ones from 10.7% up.
_BAD_SHARE = 0.1
# Symbol fonts (Wingdings, Symbol) map their bullets, check boxes and bracket pieces here by
# design (U+F000-F0FF and Adobe's U+F8E0-F8FF): private use, but not a sign of a broken layer.
_SYMBOL_FONT_PUA = ((0xF000, 0xF0FF), (0xF8E0, 0xF8FF))
# Flag when at least this share of neighbouring letters outside the Latin script switch writing
# system, over at least _MIN_SOUP_LETTERS letters. Latin is left out because real text mixes it
# with every script (GDP增长), which no other pair of scripts does at that rate.
_SOUP_SHARE = 0.4
_MIN_SOUP_LETTERS = 8
# With at least this many Chinese characters, flag when fewer than _COMMON_HAN_SHARE of them
# are everyday characters (see _COMMON_HAN_RANGES): real text has over 99%, random ones a third.
_MIN_HAN = 12
_COMMON_HAN_SHARE = 0.5
# Mojibake: at least this share of the letters are Latin-1 letters above ASCII.
_LATIN1_SHARE = 0.3

# Scripts that do not decide what language a run is in (digits, punctuation, combining marks).
_NEUTRAL_SCRIPTS = frozenset({"Zyyy", "Zinh", "Zzzz"})
# Japanese writes Han, Hiragana and Katakana in one word; Korean mixes Hangul and Han.
_SCRIPT_FAMILY = {"Hira": "Hani", "Kana": "Hani", "Hang": "Hani", "Bopo": "Hani"}


@dataclass(frozen=True)
class GarbledSignals:
    """What the detector measured on one page's text, and which signal (if any) fired."""

    chars: int  # non-space characters
    bad_share: float  # private-use, U+FFFD, control characters and cid placeholders
    soup_share: float  # neighbouring non-Latin letters that switch writing system
    han: int  # Chinese characters
    common_han_share: float  # of those, the everyday ones
    mojibake: str  # the codec whose bytes the text really is ("" when none)

    @property
    def signal(self) -> str:
        """The first signal that fired: "unmapped", "mojibake", "script_soup", "rare_han";
        "" when the page is not garbled (or has too little text to judge)."""
        if self.chars < _MIN_CHARS:
            return ""
        if self.bad_share >= _BAD_SHARE:
            return "unmapped"
        if self.mojibake:
            return "mojibake"
        if self.soup_share >= _SOUP_SHARE:
            return "script_soup"
        if self.han >= _MIN_HAN and self.common_han_share < _COMMON_HAN_SHARE:
            return "rare_han"
        return ""

    @property
    def reason(self) -> str:
        """Why the page is garbled, in a few words; "" when it is not."""
        return {
            "": "",
            "unmapped": f"{self.bad_share:.0%} unmapped, private-use or control characters",
            "mojibake": f"Latin-1 mojibake of {self.mojibake} text",
            "script_soup": f"{self.soup_share:.0%} of non-Latin letters switch writing system",
            "rare_han": f"only {self.common_han_share:.0%} of {self.han} Chinese characters are common ones",
        }[self.signal]

    @property
    def garbled(self) -> bool:
        return bool(self.signal)


def is_garbled(text: str) -> bool:
    """Whether a page's extracted text is garbled (see :func:`measure`)."""
    return measure(text).garbled


def measure(text: str) -> GarbledSignals:
    """The signals of one page's extracted text."""
    # A placeholder stands for one glyph that could not be mapped, like U+FFFD.
    text = _CID.sub("\ufffd", text)
    visible = [ch for ch in text if not ch.isspace()]
    letters = [ch for ch in visible if _is_letter(ch)]
    han = [ch for ch in letters if _is_han(ch)]
    bad = sum(_is_bad(ch) for ch in visible)
    return GarbledSignals(
        chars=len(visible),
        bad_share=(bad / len(visible)) if visible else 0.0,
        soup_share=_soup_share(letters),
        han=len(han),
        common_han_share=(sum(_is_common_han(ch) for ch in han) / len(han)) if han else 1.0,
        mojibake=_mojibake(text, letters),
    )


def _is_bad(ch: str) -> bool:
    category = unicodedata.category(ch)
    if category == "Co":
        return not any(low <= ord(ch) <= high for low, high in _SYMBOL_FONT_PUA)
    return category == "Cs" or ch == "\ufffd" or (category == "Cc" and ch not in "\t\n\r")


def _is_letter(ch: str) -> bool:
    """A character that belongs to a writing system: letters, marks and non-ASCII numerals
    (garbled layers are full of other scripts' digits and signs, like Tamil's)."""
    if ch.isascii():
        return ch.isalpha()
    category = unicodedata.category(ch)
    return category[0] in "LMN" or category == "So" and _script(ch) not in _NEUTRAL_SCRIPTS


@lru_cache(maxsize=4096)
def _script(ch: str) -> str:
    """The ISO 15924 code of the character's script (``Latn``, ``Hani``, ``Zyyy`` for common)."""
    return font_unicodedata.script(ch)


def _is_han(ch: str) -> bool:
    return _script(ch) == "Hani" and unicodedata.category(ch) == "Lo"


def _soup_share(letters: list[str]) -> float:
    """The share of neighbouring letter pairs whose writing systems differ, with Latin, digits
    and marks (common and inherited script) left out and the scripts that Japanese and Korean
    write together counted as one."""
    scripts = [
        _SCRIPT_FAMILY.get(script, script)
        for ch in letters
        if (script := _script(ch)) not in _NEUTRAL_SCRIPTS and script != "Latn"
    ]
    if len(scripts) < _MIN_SOUP_LETTERS:
        return 0.0
    switches = sum(a != b for a, b in zip(scripts, scripts[1:]))
    return switches / (len(scripts) - 1)


# Everyday Han characters by the national standards' first levels, as byte ranges of their
# codecs: GB2312 level 1 (3,755, simplified), Big5's frequent set (5,401, traditional) and
# JIS X 0208 level 1 (2,965, Japanese: 単 is neither simplified 单 nor traditional 單).
_COMMON_HAN_RANGES = (("gb2312", 0xB0A1, 0xD7FE), ("big5", 0xA440, 0xC67E), ("euc_jp", 0xB0A1, 0xCFD3))


@lru_cache(maxsize=32768)
def _is_common_han(ch: str) -> bool:
    """One of the everyday Han characters (see _COMMON_HAN_RANGES). They cover over 99% of
    running Chinese or Japanese text; characters picked at random from the 20,000 of the main
    block fall in them about a third of the time."""
    for codec, low, high in _COMMON_HAN_RANGES:
        try:
            code = int.from_bytes(ch.encode(codec)[:2], "big")
        except UnicodeEncodeError:
            continue
        if low <= code <= high:
            return True
    return False


_LATIN1_HIGH = re.compile("[\u00a0-\u00ff]")
# Codecs whose bytes, read as Latin-1 (or Windows-1252), give the mojibake met in PDFs.
_MOJIBAKE_CODECS = ("utf-8", "gbk", "big5")


def _mojibake(text: str, letters: list[str]) -> str:
    """The codec that the page's Latin-1 letters are really bytes of, when they decode to
    everyday Chinese; "" otherwise. Spaces are left out: an extractor puts them between glyph
    runs, where Chinese text has none."""
    if not letters or sum(bool(_LATIN1_HIGH.match(ch)) for ch in letters) < _LATIN1_SHARE * len(letters):
        return ""
    raw = "".join(ch for ch in text if not ch.isspace())
    for codec in _MOJIBAKE_CODECS:
        decoded = _redecode(raw, codec)
        han = [ch for ch in decoded if _is_han(ch)]
        if len(han) >= 2 and sum(_is_common_han(ch) for ch in han) >= 0.8 * len(han):
            return codec
    return ""


def _redecode(text: str, codec: str) -> str:
    """The text's characters taken as Windows-1252 (or Latin-1) bytes and decoded with ``codec``;
    undecodable bytes are dropped."""
    data = bytearray()
    for ch in text:
        try:
            data += ch.encode("cp1252")
        except UnicodeEncodeError:
            if ord(ch) < 256:
                data.append(ord(ch))
    return data.decode(codec, errors="ignore")


def reads_well(text: str) -> bool:
    """Whether a second reading of a garbled page is good enough to replace it: stricter than
    not being garbled, since the replacement is trusted without OCR. It must have enough text to
    judge, no signal at all, and hardly any rare Chinese characters even when it has few (a
    wrong CID map can give a handful of real but rare characters: 嘆囈貭鍔 for 中國文件)."""
    signals = measure(text)
    if signals.chars < _MIN_CHARS or signals.garbled or signals.bad_share > _CLEAN_BAD_SHARE:
        return False
    return signals.han < _MIN_CLEAN_HAN or signals.common_han_share >= _CLEAN_COMMON_HAN_SHARE


# What reads_well asks of a replacement text: at most this share of bad characters, and at
# least this share of everyday characters when it holds _MIN_CLEAN_HAN Chinese characters or more.
_CLEAN_BAD_SHARE = 0.02
_MIN_CLEAN_HAN = 4
_CLEAN_COMMON_HAN_SHARE = 0.8


def same_reading(first: str, second: str) -> bool:
    """Whether two extractions of one page decoded its glyphs the same way (so the second is no
    independent check of the first): most of their characters are the same ones. PDFium drops
    the control characters that gave pypdf's garbled layer away and keeps the rest of the same
    wrong map, which then looks clean (``3HQČåQt`` for "Peněžní"). Letters are compared as
    bags, in linear time: two different decodings share almost none."""
    # Letters only: digits and punctuation read the same under any map (a chart's axis). And
    # the letters beyond ASCII when both have some: a slide's English words read the same in
    # both, while its Japanese title is the part one of them got wrong.
    first = "".join(ch for ch in first if _is_letter(ch))
    second = "".join(ch for ch in second if _is_letter(ch))
    wide_first = "".join(ch for ch in first if not ch.isascii())
    wide_second = "".join(ch for ch in second if not ch.isascii())
    if wide_first and wide_second:
        first, second = wide_first, wide_second
    if not first or not second:
        return False
    return SequenceMatcher(None, first, second, autojunk=False).quick_ratio() >= _SAME_READING_SHARE


# Two readings sharing at least this share of their characters decoded the page the same way.
_SAME_READING_SHARE = 0.5
