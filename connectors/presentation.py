"""Presentations by what they are, not by their name: .pptx, .ppt and WPS .dps files.

WPS Office saves .dps files either as the PowerPoint 97-2003 binary (an OLE compound file) or
as a .pptx zip package, and users rename one to the other; the first bytes decide the reader.
"""

from __future__ import annotations

from pathlib import Path

from connectors.base import ConnectorError, Document, ErrorCategory
from connectors.containers import Container, container_of, ole_streams, refuse_encrypted_package
from connectors.options import ReadOptions
from connectors.ppt import read_ppt
from connectors.pptx import read_pptx

# WPS suffixes keep their own file type, so a search can tell a WPS file from an Office one.
_WPS_TYPES = {".dps": "dps"}


def read_presentation(path: Path, options: ReadOptions) -> Document:
    """Read a presentation with the reader its container calls for."""
    container = container_of(path)
    if container is Container.ZIP:
        document = read_pptx(path, options)
    elif container is Container.OLE:
        refuse_encrypted_package(path, ole_streams(path), "PowerPoint presentation")
        document = read_ppt(path, options)
    else:
        raise ConnectorError(
            path, ErrorCategory.CORRUPT,
            "not a presentation: neither a zip package (.pptx) nor an OLE compound file (.ppt, .dps)",
        )
    document.file_type = _WPS_TYPES.get(path.suffix.lower(), document.file_type)
    return document
