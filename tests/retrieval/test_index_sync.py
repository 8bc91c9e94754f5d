"""Every ingest keeps the lexical index equal to what a clean run over the same files builds."""

import shutil
from pathlib import Path

import pytest

from pipeline import Ingestor, ingest
from pipeline.records import document_id
from pipeline.retrieval.lexical import LexicalIndex, lexical_index_path
from pipeline.retrieval.tokens import Tokenizer
from tests.helpers import fake_settings, write_notes


def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def lexical_snapshot(settings, collection: str = "docs-fake") -> dict[str, dict[str, int]]:
    tokenizer = Tokenizer(chinese=settings.retrieval.chinese_tokens)
    index = LexicalIndex(lexical_index_path(settings.store.path, collection), tokenizer_fingerprint=tokenizer.fingerprint)
    try:
        assert index.is_current
        return index.snapshot()
    finally:
        index.close()


def stored_ids(settings) -> set[str]:
    ingestor = Ingestor(settings=settings)
    ingestor.warm_up()
    return set(ingestor.store.collection.get(include=[])["ids"])


def test_add_change_delete_and_prune_leave_the_index_equal_to_a_rebuild(tmp_path):
    docs = tmp_path / "docs"
    for n in range(4):
        _write(docs / ("a" if n % 2 else "b"), f"note-{n}.txt", f"Note {n}: the committee approved budget item {n}.\n\n预算金额{n}万元。")
    settings = fake_settings(tmp_path / "store")
    ingest(docs, config=settings)
    _write(docs / "a", "note-1.txt", "Changed: refunds within thirty days.")  # change
    (docs / "b" / "note-0.txt").unlink()  # delete
    _write(docs / "b", "new.txt", "A new file about wing flutter.")  # add
    report = ingest(docs, config=settings)
    assert (report.files_updated, report.files_removed, report.files_ingested) == (1, 1, 2)

    clean = fake_settings(tmp_path / "clean-store")
    ingest(docs, config=clean)
    assert lexical_snapshot(settings) == lexical_snapshot(clean)
    assert set(lexical_snapshot(settings)) == stored_ids(settings)


def test_a_store_without_an_index_gets_one_built_from_its_chunks(tmp_path):
    docs = tmp_path / "docs"
    _write(docs, "one.txt", "Boundary layers on swept wings.")
    _write(docs, "two.txt", "北京是中华人民共和国的首都。")
    settings = fake_settings(tmp_path / "store")
    ingest(docs, config=settings)
    expected = lexical_snapshot(settings)
    shutil.rmtree(lexical_index_path(settings.store.path, "docs-fake"))  # a store from before the index existed
    report = ingest(docs, config=settings)
    assert report.files_unchanged == 2 and report.chunks_embedded == 0
    assert lexical_snapshot(settings) == expected


def test_one_changed_file_costs_that_file_in_the_index(tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    write_notes(docs, 30)
    settings = fake_settings(tmp_path / "store")
    ingest(docs, config=settings)
    written: list[tuple[str, int]] = []
    replace_docs = LexicalIndex.replace_docs

    def recording(self, files):
        written.extend((doc_id, len(chunks)) for doc_id, chunks in files.items())
        return replace_docs(self, files)

    monkeypatch.setattr(LexicalIndex, "replace_docs", recording)
    monkeypatch.setattr(LexicalIndex, "rebuild", lambda *_: pytest.fail("one changed file rebuilt the index"))
    write_notes(docs, 1, version=" (revised)")  # note-000.txt only
    report = ingest(docs, config=settings)
    assert (report.files_updated, report.files_unchanged) == (1, 29)
    changed = Ingestor(settings=settings).store.ids_for_doc(document_id(str(docs / "note-000.txt")))
    assert written == [(document_id(str(docs / "note-000.txt")), len(changed))]
