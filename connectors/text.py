"""Plain text and Markdown files."""

from __future__ import annotations

import re
from pathlib import Path

from connectors.base import ConnectorError, Document, ErrorCategory, Section, SectionBuilder
from connectors.encoding import decode_bytes, looks_binary
from connectors.options import ReadOptions

# An ATX heading: one to six '#' then the heading text (CommonMark).
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def _decode_text(path: Path) -> str:
    text = decode_bytes(path.read_bytes(), is_html=False)
    if looks_binary(text):
        raise ConnectorError(path, ErrorCategory.UNSUPPORTED, "binary content, not text (a program or image under a text name?)")
    return text


def read_text(path: Path, options: ReadOptions) -> Document:
    """A plain-text file becomes one section."""
    text = _decode_text(path)
    return Document(path=path, file_type="text", sections=[Section(text=text)])


def read_markdown(path: Path, options: ReadOptions) -> Document:
    """Markdown is split at ATX headings so every chunk knows the headings above it."""
    text = _decode_text(path)
    builder = SectionBuilder()
    in_fence = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else _MD_HEADING.match(line)
        if match is None:
            builder.add_line(line)
        else:
            builder.heading(len(match.group(1)), match.group(2))
    sections = builder.finish()
    return Document(path=path, file_type="markdown", sections=sections, title=builder.first_heading())
