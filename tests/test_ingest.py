"""The whole line on real files, with the hashing model and a real Chroma store."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from pipeline import Ingestor, ingest, query
from pipeline.embedders import HashingEmbedder
from pipeline.engines.pool import prefetch
from pipeline.errors import EmbeddingError

GOOD = ["pdflatex-outline.pdf", "category-level.docx", "procurement-zh.docx", "example-steelJIS-datasheet-utf-16.html"]
BAD = {"notes.rtf": "unsupported", "patchelf.pdf": "no_text", "libreoffice-writer-password.pdf": None}


def test_folder_is_ingested_and_every_failure_has_a_category(corpus, make_settings) -> None:
    folder = corpus(*GOOD, "notes.rtf", "patchelf.pdf", "libreoffice-writer-password.pdf")
    (folder / "empty.txt").write_bytes(b"")
    (folder / ".hidden.txt").write_text("hidden files are skipped", encoding="utf-8")
    settings = make_settings()
    report = ingest(folder, config=settings)

    assert report.files_seen == 8
    # The encrypted PDF opens with the configured password.
    assert report.files_ingested == 5
    assert {(Path(e.path).name, e.category) for e in report.errors} == {
        ("notes.rtf", "unsupported"), ("patchelf.pdf", "no_text"), ("empty.txt", "empty"),
    }
    assert report.truncated_chunks == 0
    assert report.chunks_added == report.chunks_embedded > 20

    hits = query("Merged B1-B3 table cell", k=3, config=settings)
    assert hits and all(hit.score <= 1.0 for hit in hits)
    pdf_hits = query("pdflatex outline", k=5, config=settings, where={"file_type": "pdf"})
    assert pdf_hits and all(hit.page in (1, 2, 3, 4) and hit.source.endswith(".pdf") for hit in pdf_hits)


def test_second_run_embeds_nothing_and_stores_no_duplicates(corpus, make_settings) -> None:
    folder = corpus(*GOOD)
    settings = make_settings()
    first = ingest(folder, config=settings)
    second = ingest(folder, config=settings)
    assert first.chunks_added > 0
    assert second.chunks_embedded == 0 and second.chunks_added == 0 and second.chunks_deleted == 0
    ingestor = Ingestor(settings=settings)
    ingestor.warm_up()
    assert ingestor.store.count() == first.chunks_added


def test_changed_file_replaces_only_its_own_chunks(corpus, make_settings) -> None:
    folder = corpus("category-level.docx")
    note = folder / "note.md"
    note.write_text("# Policy\nRefunds are paid within 14 days.\n\n# Contact\nWrite to the office.\n", encoding="utf-8")
    settings = make_settings()
    ingest(folder, config=settings)
    note.write_text("# Policy\nRefunds are paid within 30 days.\n\n# Contact\nWrite to the office.\n", encoding="utf-8")
    report = ingest(folder, config=settings)
    # Only the changed section is embedded again; the old one is gone.
    assert report.chunks_embedded == 1 and report.chunks_added == 1 and report.chunks_deleted == 1
    texts = [hit.text for hit in query("refunds paid days", k=10, config=settings, where={"file_type": "markdown"})]
    assert any("30 days" in text for text in texts)
    assert not any("14 days" in text for text in texts)


class FailsOnWord(HashingEmbedder):
    """Fails for good on any batch holding a text with the poisoned word."""

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        if any("Nested Table" in text for text in texts):
            raise RuntimeError("model rejected the input")
        return super().encode(texts, is_query=is_query)


def test_permanent_embedding_failure_marks_only_that_file(corpus, make_settings) -> None:
    folder = corpus("category-level.docx", "docx-tables.docx", "pdflatex-outline.pdf")
    settings = make_settings()
    name, spec = settings.model_spec(None)
    ingestor = Ingestor(settings=settings, embedder=FailsOnWord(name=name, spec=spec))
    report = ingestor.run([folder])
    assert [(Path(e.path).name, e.category) for e in report.errors] == [("docx-tables.docx", "embedding_failed")]
    assert report.files_ingested == 2
    sources = {meta["source"] for meta in ingestor.store.collection.get(include=["metadatas"])["metadatas"]}
    # Nothing of the failed file was written, not even the chunks that did embed.
    assert sources == {str(folder / "category-level.docx"), str(folder / "pdflatex-outline.pdf")}


def test_prefetch_keeps_order_and_reraises() -> None:
    pool = ThreadPoolExecutor(max_workers=2)
    assert list(prefetch(lambda n: n * n, range(20), window=3, executor=pool)) == [n * n for n in range(20)]

    def boom(n: int) -> int:
        if n == 5:
            raise EmbeddingError("boom")
        return n

    got = []
    try:
        for value in prefetch(boom, range(10), window=2, executor=pool):
            got.append(value)
    except EmbeddingError:
        pass
    assert got == [0, 1, 2, 3, 4]
