"""Turn the bytes of a text or HTML file into str, whatever encoding it was saved in."""

from __future__ import annotations

from bs4 import UnicodeDammit


def decode_bytes(data: bytes, *, is_html: bool) -> str:
    """Decode by byte-order mark, then (HTML) the declared meta charset, then detection.

    ``UnicodeDammit`` tries, in order: a BOM (UTF-8/16/32), the document's own
    declaration, charset-normalizer's guess, UTF-8 and finally cp1252, which accepts
    any byte, so decoding never fails; undecodable bytes become U+FFFD at worst.
    """
    dammit = UnicodeDammit(data, is_html=is_html)
    if dammit.unicode_markup is not None:
        return dammit.unicode_markup
    return data.decode("cp1252", errors="replace")
