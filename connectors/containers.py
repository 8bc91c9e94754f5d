"""What a file really is, from its first bytes, and the checks a zip package gets before parsing.

Office files come in two containers: OLE compound files (the binary formats of Office 97-2003
and of WPS Office: .doc .xls .ppt .wps .et .dps) and zip packages (.docx .xlsx .pptx, OFD).
Suffixes lie often enough (WPS names its zip files .et or .dps, users rename .xls to .xlsx)
that the readers decide by these bytes, not by the name. A password-protected .xlsx or .pptx
is not a zip at all but an OLE file holding an ``EncryptedPackage`` stream.
"""

from __future__ import annotations

import codecs
import zipfile
from enum import Enum
from pathlib import Path
from typing import IO, Any

from connectors.base import ConnectorError, ErrorCategory
from connectors.options import ReadOptions

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"


class Container(str, Enum):
    OLE = "ole"
    ZIP = "zip"
    OTHER = "other"


def container_of(path: Path) -> Container:
    """Which container the file's first bytes announce."""
    with path.open("rb") as handle:
        head = handle.read(8)
    if head == OLE_MAGIC:
        return Container.OLE
    if head.startswith(ZIP_MAGIC):
        return Container.ZIP
    return Container.OTHER


def ole_streams(path: Path) -> set[str]:
    """The stream names of an OLE file, lower-cased and joined by '/' ('workbook', 'encryptedpackage')."""
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as ole:
            return {"/".join(entry).lower() for entry in ole.listdir(streams=True, storages=False)}
    except OSError as error:  # olefile raises OSError for a damaged compound file
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"damaged OLE compound file: {error}") from error


def refuse_encrypted_package(path: Path, streams: set[str], kind: str) -> None:
    """An OLE file with an EncryptedPackage stream is an Office Open XML file under a password."""
    if "encryptedpackage" in streams or "encryptioninfo" in streams:
        raise ConnectorError(
            path, ErrorCategory.ENCRYPTED, f"password-protected {kind}; save it without a password",
        )


# An Office or OFD part never declares a DTD; one that does is an entity-expansion attack
# ("billion laughs"). A parser meets it in the prolog, among comments and processing
# instructions, before the root element. No real part has a prolog as long as this.
_PROLOG_BYTES = 1 << 16


def _declares_dtd(part: IO[bytes]) -> bool:
    """Whether an XML part has a DTD before its root element (behind comments, in UTF-16 too);
    a prolog longer than ``_PROLOG_BYTES`` counts as one."""
    head = part.read(_PROLOG_BYTES)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif head.startswith(b"<\x00"):
        encoding = "utf-16-le"
    elif head.startswith(b"\x00<"):
        encoding = "utf-16-be"
    else:
        encoding = "utf-8"
    text = head.decode(encoding, errors="replace")
    at = text.find("<")
    while at >= 0:
        for opening, closing in (("<!--", "-->"), ("<?", "?>")):
            if text.startswith(opening, at):
                end = text.find(closing, at + len(opening))
                if end < 0:
                    return True  # a comment or instruction running past the bytes read
                at = text.find("<", end + len(closing))
                break
        else:
            return text.startswith("<!", at)  # a DTD, or else the root element: the prolog is over
    return len(head) == _PROLOG_BYTES


def check_zip_package(path: Path, options: ReadOptions, kind: str) -> None:
    """Refuse zip bombs, oversized XML parts and XML entity declarations before a parser starts.

    The limits are the Word reader's (``max_unpacked_mb``, ``max_zip_ratio``, ``max_xml_part_mb``):
    openpyxl and python-pptx inflate whole parts, so a small file could otherwise claim gigabytes.
    """
    try:
        with zipfile.ZipFile(path) as package:
            members = package.infolist()
            unpacked = sum(member.file_size for member in members)
            packed = sum(member.compress_size for member in members) or 1
            if unpacked > options.max_unpacked_mb * 1024 * 1024 or (
                unpacked > 10 * 1024 * 1024 and unpacked / packed > options.max_zip_ratio
            ):
                raise ConnectorError(
                    path, ErrorCategory.TOO_LARGE,
                    f"refused: unpacks to {unpacked / 1024 / 1024:.0f} MB from {packed / 1024 / 1024:.1f} MB "
                    f"(limits: {options.max_unpacked_mb:g} MB, ratio {options.max_zip_ratio:g}); a zip bomb?",
                )
            for member in members:
                # One member inflated far beyond the rest (a bomb added to a real file) is refused
                # on its own ratio, which a large archive's total would hide.
                if member.file_size > 10 * 1024 * 1024 and member.file_size / max(1, member.compress_size) > options.max_zip_ratio:
                    raise ConnectorError(
                        path, ErrorCategory.TOO_LARGE,
                        f"refused: {member.filename} unpacks to {member.file_size / 1024 / 1024:.0f} MB from "
                        f"{member.compress_size / 1024:.0f} KB (ratio over {options.max_zip_ratio:g}); a zip bomb?",
                    )
                if not member.filename.lower().endswith((".xml", ".rels")):
                    continue
                if member.file_size > options.max_xml_part_mb * 1024 * 1024:
                    raise ConnectorError(
                        path, ErrorCategory.TOO_LARGE,
                        f"refused: {member.filename} unpacks to {member.file_size / 1024 / 1024:.0f} MB, over the "
                        f"{options.max_xml_part_mb:g} MB limit for one XML part (connectors.max_xml_part_mb)",
                    )
                with package.open(member) as part:
                    if _declares_dtd(part):
                        raise ConnectorError(
                            path, ErrorCategory.CORRUPT,
                            f"refused: {member.filename} declares XML entities in a DTD (an entity-expansion attack?)",
                        )
    except zipfile.BadZipFile as error:
        raise ConnectorError(path, ErrorCategory.CORRUPT, f"unreadable {kind}: {error}") from error


def ole_metadata(path: Path) -> tuple[str, str]:
    """Title and author from an OLE file's SummaryInformation stream ("", "" when absent or damaged)."""
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as ole:
            return summary_metadata(ole)
    except Exception:  # noqa: BLE001 - the summary stream is optional and often damaged
        return "", ""


def summary_metadata(ole: Any) -> tuple[str, str]:
    """Title and author of an open ``olefile.OleFileIO`` ("", "" when absent or damaged)."""
    try:
        meta = ole.get_metadata()
    except Exception:  # noqa: BLE001 - the summary stream is optional and often damaged
        return "", ""
    # The code page is a signed 16-bit number: UTF-8 (65001) is stored as -535.
    codepage = meta.codepage & 0xFFFF if isinstance(meta.codepage, int) and meta.codepage else 1252
    encoding = "utf-8" if codepage == 65001 else f"cp{codepage}"

    def text(value: object) -> str:
        if isinstance(value, bytes):
            try:
                value = value.decode(encoding, errors="replace")
            except LookupError:  # a code page Python does not know
                value = value.decode("cp1252", errors="replace")
        return str(value or "").strip("\x00 ").strip()

    return text(meta.title), text(meta.author)
