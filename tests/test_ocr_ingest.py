"""Scanned PDFs through the whole line: OCR runs in the parse workers, its text is chunked with
its page and an ``ocr`` mark, and the run report counts OCR pages and seconds. About 10 s."""

import sys
from pathlib import Path

from pipeline import ingest, query

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from ocr_engines import accuracy as character_accuracy  # noqa: E402 - 1 - CER, after NFKC, no whitespace
from scanned_page import TEXT_ZH  # noqa: E402


def test_scanned_pages_are_read_in_the_workers_and_not_cut_off_by_the_file_timeout(corpus, make_settings) -> None:
    folder = corpus("scanned-zh.pdf", "encrypted_doc_no_id.pdf", "pdflatex-outline.pdf")
    # OCR of one page takes several seconds here, longer than this file limit: OCR time has its own budget.
    # (PDF tables off: pdfplumber's reading of ruled pages is parse time, and this test is about OCR's.)
    settings = make_settings(walk={"prepare_workers": 2, "file_timeout_s": 2.0}, chunking={"overlap_tokens": 0},
                             connectors={"pdf_passwords": ["openpassword"], "pdf_tables": False},
                             models={"fake": {"kind": "hashing", "dimension": 64, "max_seq_length": 512}})
    report = ingest(folder, config=settings)

    assert report.errors == [] and report.files_ingested == 3
    assert report.pages_ocr == 2  # the Chinese page and the patent scan's page 2; its blank pages are skipped
    assert report.ocr_seconds > 0
    assert report.pages_without_text == 2

    zh = query("城市供水设施", k=20, config=settings, where={"ocr": True})
    chinese = [hit for hit in zh if hit.source.endswith("scanned-zh.pdf")]
    assert chinese and all(hit.page == 1 and hit.metadata["ocr"] is True for hit in chinese)
    text = "".join(hit.text for hit in sorted(chinese, key=lambda hit: hit.metadata["start"]))
    assert character_accuracy("".join(TEXT_ZH), text) >= 0.95
    assert "城市 供水" not in text  # Chinese lines and boxes are joined without spaces

    patent = [hit for hit in query("international search report", k=20, config=settings, where={"ocr": True})
              if hit.source.endswith("encrypted_doc_no_id.pdf")]
    assert patent and {hit.page for hit in patent} == {2}
    assert "international search report" in " ".join(hit.text for hit in patent)
    text_layer = query("pdflatex outline", k=5, config=settings, where={"file_type": "pdf"})
    assert all("ocr" not in hit.metadata for hit in text_layer if hit.source.endswith("pdflatex-outline.pdf"))
