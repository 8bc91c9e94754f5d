"""Every file of the shared real-world corpus (../shared/data/docs): no crash, every file either
ingested or reported with its category, no file parsing for more than 60 s, and encrypted files
with known passwords opened. Marked `corpus` (a few minutes): run with `pytest -m corpus`."""

import json
from pathlib import Path

import pytest

from pipeline import Ingestor, ingest
from pipeline.records import FileError
from pipeline.steps.walk import walk_files
from tests.helpers import fake_settings

pytestmark = pytest.mark.corpus

DOCS = Path(__file__).resolve().parents[3] / "shared" / "data" / "docs"
CATEGORIES = {"encrypted", "no_text", "corrupt", "unsupported", "empty", "too_large", "timeout", "embedding_failed"}
# The passwords the corpus's README gives; these files must open with them.
PASSWORDS = ["openpassword", "foo", "password"]
OPENED_WITH_PASSWORD = [
    "py-pdf-sample-files/005-libreoffice-writer-password/libreoffice-writer-password.pdf",
    "unstructured-example-docs/example-docs/pdf/password.pdf",
    "pdfminer-samples/samples/encryption/aes-128.pdf",
    "pdfminer-samples/samples/encryption/aes-256.pdf",
    "pdfminer-samples/samples/encryption/rc4-40.pdf",
]

EXAMPLES = "unstructured-example-docs/example-docs/"
DOC_FILES = [EXAMPLES + name for name in (
    "fake.doc", "simple.doc", "duplicate-paragraphs.doc", "fake-doc-emphasized-text.doc", "language-docs/eng_spa_mult.doc",
)]
# Image-only pages with legible text (the other image-only pages of the corpus are pictures).
SCANS_WITH_TEXT = [
    "pdfminer-samples/samples/nonfree/175.pdf",
    "pdfminer-samples/samples/encryption/encrypted_doc_no_id.pdf",
    EXAMPLES + "pdf/loremipsum-flat.pdf",
    EXAMPLES + "pdf/single_table.pdf",
    EXAMPLES + "pdf/table-multi-row-column-cells.pdf",
    "pdfminer-samples/samples/contrib/pdf-with-jbig2.pdf",  # found on a second look, at half resolution
]


@pytest.mark.skipif(not DOCS.is_dir(), reason=f"the shared corpus is not at {DOCS}")
def test_every_real_file_is_ingested_or_reported_with_a_category(tmp_path) -> None:
    settings = fake_settings(
        tmp_path / "store",
        connectors={"pdf_passwords": PASSWORDS},
        # The limit is the whole file's, summed over the parts workers share: the 619-page PDF
        # spends about 28 s in pypdf in all, so 30 s would stop it on a busy machine.
        walk={"file_timeout_s": 60.0},
        models={"fake": {"kind": "hashing", "dimension": 64, "max_seq_length": 256}},
    )
    report = ingest(DOCS, config=settings)

    walked = [entry for entry in walk_files([DOCS], settings.walk) if not isinstance(entry, FileError)]
    assert report.files_seen == len(walked) >= 229
    errors = [json.loads(line) for line in Path(report.errors_file).read_text().splitlines()]
    assert report.files_ingested + len(errors) == report.files_seen
    assert {error["category"] for error in errors} <= CATEGORIES
    # No file took more than 60 s to parse: none was stopped by the time limit.
    assert not [error for error in errors if error["category"] == "timeout"]
    failed = {Path(error["path"]).relative_to(DOCS).as_posix() for error in errors}
    assert not failed & set(OPENED_WITH_PASSWORD)
    assert report.truncated_chunks == 0
    assert report.files_ingested >= 235
    # Legacy Word files are read (one of them is really a .docx), and scans with text on them are OCR'd.
    assert not failed & set(DOC_FILES) and not failed & set(SCANS_WITH_TEXT)
    assert report.pages_ocr >= len(SCANS_WITH_TEXT) and report.ocr_seconds > 0
    # The archives' formats: every OFD, spreadsheet, slide deck, table PDF, garbled PDF and scanned
    # image of gov-formats/ is read; garbled text layers are found and tables kept as tables.
    assert not {path for path in failed if path.startswith("gov-formats/")}
    assert report.pages_garbled >= 30
    tables = Ingestor(settings=settings).store.collection.get(where={"table": True}, include=["metadatas"])
    table_files = {meta["source"] for meta in tables["metadatas"]}
    assert len(table_files) >= 10
    # The figures docs/formats.md gives for the corpus.
    print(json.dumps({
        "files_seen": report.files_seen, "files_ingested": report.files_ingested, **report.error_counts(),
        "pages_ocr": report.pages_ocr, "pages_garbled": report.pages_garbled, "table_chunks": len(tables["ids"]),
        "files_with_tables": len(table_files), "seconds": round(report.seconds),
    }))
