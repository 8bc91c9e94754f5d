"""How a file's path is written wherever it leaves the process: manifest, store, reports.

On Linux a file name is bytes. Names from archives unpacked with another code page (GBK
names from Chinese archives, Latin-1 from old Windows shares) are not UTF-8; Python carries
their undecodable bytes as lone surrogates, which SQLite, Chroma and JSON all refuse. So a
path is recorded as :func:`path_text`: the UTF-8 text of the name, with each byte that is not
UTF-8 written as ``\\xNN`` (and a backslash as two). The same file always gets the same
text and no two files share one, so sync works as for any other name. :func:`readable_path`
is for people: a name that is GBK is shown in Chinese.
"""

from __future__ import annotations

import os
import re

_ESCAPE = re.compile(r"\\\\|\\x([0-9a-f]{2})")


def path_text(path: str | os.PathLike[str]) -> str:
    """The path as valid UTF-8 text, one text per path: a byte that is not UTF-8 is written
    ``\\xNN`` and a backslash ``\\\\``, so no two names ever share a text."""
    raw = os.fsencode(path).replace(b"\\", b"\\\\")
    return raw.decode("utf-8", errors="backslashreplace")


def readable_path(text: str) -> str:
    """A recorded path (from :func:`path_text`) as a person should see it: backslashes single
    again, and a name whose escaped bytes read as GBK shown in those characters; other
    escaped bytes stay escaped."""
    if "\\" not in text:
        return text
    return "/".join(_readable_name(name) for name in text.split("/"))


def _readable_name(name: str) -> str:
    raw, escaped, cursor = bytearray(), False, 0
    for match in _ESCAPE.finditer(name):
        raw += name[cursor : match.start()].encode("utf-8")
        if match.group(1) is None:
            raw += b"\\"
        else:
            raw.append(int(match.group(1), 16))
            escaped = True
        cursor = match.end()
    raw += name[cursor:].encode("utf-8")
    if not escaped:
        return raw.decode("utf-8")
    try:
        return raw.decode("gbk")
    except UnicodeDecodeError:
        return name
