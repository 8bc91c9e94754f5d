"""WPS Writer documents (.wps), read as the Word files they are.

WPS Office has saved its writer documents in Word's own formats since WPS 2005: a .wps is
usually a Word 97-2003 binary (an OLE compound file with a ``WordDocument`` stream), and newer
versions can save a .docx zip under the .wps name. Both go to the Word readers (connectors/doc.py
passes a zip on to the .docx reader). Two other kinds of .wps are refused with a reason: the
Kingsoft format from before WPS 2005, and Microsoft Works word processor files, which share the
suffix but are OLE files without a WordDocument stream.
"""

from __future__ import annotations

from pathlib import Path

from connectors.base import ConnectorError, Document, ErrorCategory
from connectors.containers import Container, container_of, ole_streams, refuse_encrypted_package
from connectors.doc import read_doc
from connectors.options import ReadOptions


def read_wps(path: Path, options: ReadOptions) -> Document:
    """A .wps by its container: OLE Word binary or docx zip; anything else is refused."""
    container = container_of(path)
    if container is Container.OLE:
        streams = ole_streams(path)
        refuse_encrypted_package(path, streams, "WPS document")
        if "worddocument" not in streams:
            kind = "a Microsoft Works document" if "matost" in streams else "not a Word-format document"
            raise ConnectorError(
                path, ErrorCategory.UNSUPPORTED,
                f"an OLE compound file without a WordDocument stream ({kind}); save it as .docx",
            )
    elif container is Container.OTHER:
        raise ConnectorError(
            path, ErrorCategory.UNSUPPORTED,
            "neither a Word binary (OLE) nor a .docx zip: an old Kingsoft WPS format (before WPS 2005)? save it as .docx",
        )
    document = read_doc(path, options)
    document.file_type = "wps"
    return document
