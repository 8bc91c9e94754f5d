"""Connectors: one reader per file format, chosen by file suffix.

``read_document(path, options)`` is the single entry point; it either returns a
:class:`Document` or raises :class:`ConnectorError` with a category.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from connectors.base import ConnectorError, Document, ErrorCategory, Section
from connectors.options import ReadOptions

Reader = Callable[[Path, ReadOptions], Document]

# Suffix -> "module:function". A reader's module (and its parser: pypdf, python-docx, bs4) is
# imported on the first file of its kind, so a process that reads no files (a query) pays for none.
CONNECTORS: dict[str, str] = {
    ".pdf": "connectors.pdf:read_pdf",
    ".doc": "connectors.doc:read_doc",
    ".docx": "connectors.docx:read_docx",
    ".html": "connectors.html:read_html",
    ".htm": "connectors.html:read_html",
    ".txt": "connectors.text:read_text",
    ".md": "connectors.text:read_markdown",
    ".markdown": "connectors.text:read_markdown",
    # Spreadsheets, presentations and WPS Writer files go to a module that looks at the first
    # bytes (OLE binary or zip package) and hands the file to the reader of what it really is.
    ".xlsx": "connectors.spreadsheet:read_spreadsheet",
    ".xls": "connectors.spreadsheet:read_spreadsheet",
    ".et": "connectors.spreadsheet:read_spreadsheet",
    ".pptx": "connectors.presentation:read_presentation",
    ".ppt": "connectors.presentation:read_presentation",
    ".dps": "connectors.presentation:read_presentation",
    ".wps": "connectors.wps:read_wps",
    ".ofd": "connectors.ofd:read_ofd",
    # Pictures of text, read by OCR.
    ".png": "connectors.images:read_image",
    ".jpg": "connectors.images:read_image",
    ".jpeg": "connectors.images:read_image",
    ".tif": "connectors.images:read_image",
    ".tiff": "connectors.images:read_image",
}

# Formats users often drop in the same folders, with what to do about them.
_UNSUPPORTED_HINTS = {
    ".rtf": "RTF is not supported; save it as .docx",
    ".odt": "OpenDocument text is not supported; save it as .docx",
    ".odp": "OpenDocument presentations are not supported; save it as .pptx",
    ".ods": "OpenDocument spreadsheets are not supported; save it as .xlsx",
    ".epub": "EPUB is not supported",
}

__all__ = [
    "CONNECTORS", "ConnectorError", "Document", "ErrorCategory", "ReadOptions", "Section",
    "import_readers", "read_document", "reader_for", "supported_suffixes",
]


def supported_suffixes() -> list[str]:
    return sorted(CONNECTORS)


def reader_for(suffix: str) -> Reader | None:
    """The reader of files with this (lower-case) suffix, or None when none is registered."""
    name = CONNECTORS.get(suffix)
    if name is None:
        return None
    module, function = name.split(":")
    return getattr(importlib.import_module(module), function)


def import_readers() -> None:
    """Import every reader now (a parse worker does, so no file's time limit pays for it)."""
    for suffix in CONNECTORS:
        reader_for(suffix)


def read_document(path: Path, options: ReadOptions | None = None) -> Document:
    """Read one file with the connector for its suffix."""
    suffix = path.suffix.lower()
    reader = reader_for(suffix)
    if reader is None:
        hint = _UNSUPPORTED_HINTS.get(suffix, f"no connector for '{suffix or '(no suffix)'}' files")
        supported = ", ".join(supported_suffixes())
        raise ConnectorError(path, ErrorCategory.UNSUPPORTED, f"{hint} (supported: {supported})")
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"cannot read file: {error}") from error
    if size == 0:
        raise ConnectorError(path, ErrorCategory.EMPTY, "the file is empty (0 bytes)")
    try:
        document = reader(path, options or ReadOptions())
    except ConnectorError:
        raise
    except OSError as error:
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"cannot read file: {error}") from error
    except (MemoryError, RecursionError) as error:
        raise ConnectorError(path, ErrorCategory.TOO_LARGE, f"too large or too deeply nested to parse: {error!r}") from error
    except Exception as error:  # noqa: BLE001 - parsers raise anything on hostile bytes
        # Whatever a parser raises on a damaged file, the caller sees one typed error.
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"parser failed: {type(error).__name__}: {error}") from error
    if not document.has_text:
        raise ConnectorError(path, ErrorCategory.EMPTY, "the file holds no text")
    return document
