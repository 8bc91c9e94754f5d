"""Spreadsheets by what they are, not by their name: .xlsx, .xls and WPS .et files.

A .xls may be a zip package (a renamed .xlsx), an .xlsx may be a BIFF file, and WPS Office saves
.et files in either container. Web systems also export "Excel" files that are HTML tables under
a .xls name; those go to the HTML reader. The first bytes decide which reader gets the file.
"""

from __future__ import annotations

from pathlib import Path

from connectors.base import ConnectorError, Document, ErrorCategory
from connectors.containers import Container, container_of, ole_streams, refuse_encrypted_package
from connectors.html import read_html
from connectors.options import ReadOptions
from connectors.xls import read_xls
from connectors.xlsx import read_xlsx

# WPS suffixes keep their own file type, so a search can tell a WPS file from an Office one.
_WPS_TYPES = {".et": "et"}


def _looks_like_html(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(2048).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<html", b"<!doctype html", b"<table", b"<meta", b"<head")) or b"<table" in head


def read_spreadsheet(path: Path, options: ReadOptions) -> Document:
    """Read a workbook with the reader its container calls for."""
    container = container_of(path)
    if container is Container.ZIP:
        document = read_xlsx(path, options)
    elif container is Container.OLE:
        streams = ole_streams(path)
        refuse_encrypted_package(path, streams, "Excel workbook")
        if not {"workbook", "book"} & streams:
            raise ConnectorError(
                path, ErrorCategory.UNSUPPORTED,
                "an OLE compound file without an Excel workbook stream (another program's file, or an older WPS format)",
            )
        document = read_xls(path, options)
    elif _looks_like_html(path):
        document = read_html(path, options)
    else:
        raise ConnectorError(
            path, ErrorCategory.CORRUPT,
            "not a workbook: neither a zip package (.xlsx) nor an OLE compound file (.xls, .et) nor HTML",
        )
    document.file_type = _WPS_TYPES.get(path.suffix.lower(), document.file_type)
    return document
