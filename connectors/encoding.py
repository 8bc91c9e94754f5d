"""Turn the bytes of a text or HTML file into str, whatever encoding it was saved in."""

from __future__ import annotations

import charset_normalizer
from bs4.dammit import EncodingDetector

# Single-byte Latin code pages are hard to tell apart by statistics (cp1250 and cp1252
# share most letters). Like browsers, treat an undeclared page of this family as
# cp1252, the web's default, instead of trusting a coin-flip guess.
_LATIN_SINGLE_BYTE = {
    "cp1250", "cp1252", "cp1254", "cp1257", "cp1258", "latin_1", "iso8859_2", "iso8859_3",
    "iso8859_4", "iso8859_9", "iso8859_10", "iso8859_13", "iso8859_14", "iso8859_15",
    "iso8859_16", "mac_latin2", "mac_roman", "mac_iceland", "mac_turkish", "cp437", "cp850",
}


def _guess(data: bytes) -> str:
    best = charset_normalizer.from_bytes(data[:200_000]).best()
    if best is None or best.encoding in _LATIN_SINGLE_BYTE:
        return "cp1252"
    return best.encoding


def decode_bytes(data: bytes, *, is_html: bool) -> str:
    """Decode by byte-order mark, then (HTML) the declared charset, then strict UTF-8, then detection.

    Never fails: as a last resort cp1252 decodes with U+FFFD for the few bytes it leaves undefined.
    """
    data, bom_encoding = EncodingDetector.strip_byte_order_mark(data)
    candidates = [bom_encoding]
    if is_html:
        candidates.append(EncodingDetector.find_declared_encoding(data, is_html=True))
    # NUL bytes are valid UTF-8 but never appear in real text: they mean UTF-16/32 without a BOM.
    if b"\x00" not in data[:4096]:
        candidates.append("utf-8")
    for encoding in filter(None, candidates):
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    try:
        return data.decode(_guess(data))
    except (UnicodeDecodeError, LookupError):
        return data.decode("cp1252", errors="replace")


# Control characters never found in text, apart from tab, newline, carriage return and form feed.
_CONTROL = frozenset(chr(code) for code in [*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F]) | {"\ufffd"}
_BINARY_SHARE = 0.05


def looks_binary(text: str) -> bool:
    """Whether decoded "text" is really a binary file (a program, an image) under a text name:
    more than 5% of its first 64 K characters are control characters or undecodable bytes.
    Real text, in any encoding that was decoded correctly, has almost none."""
    sample = text[:65536]
    if not sample:
        return False
    controls = sum(1 for char in sample if char in _CONTROL)
    return controls > _BINARY_SHARE * len(sample)
