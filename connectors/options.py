"""Settings a connector may need, passed in by the caller so connectors never read config files."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReadOptions:
    """``pdf_passwords`` are tried after the empty password; headers and footers of Word files are opt-in."""

    pdf_passwords: tuple[str, ...] = ()
    docx_headers_footers: bool = False
    # A Word file is a zip: refuse one that unpacks to more than this, or that is compressed
    # more than max_zip_ratio times (a zip bomb), before any XML is parsed.
    max_unpacked_mb: float = 1024.0
    max_zip_ratio: float = 200.0
