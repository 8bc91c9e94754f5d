"""Folder sync: unchanged files skipped, changes replaced, deletions pruned only where asked."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from pipeline import Ingestor, ingest
from pipeline.embedders import HashingEmbedder
from pipeline.errors import StoreLockedError, TransientEmbeddingError
from pipeline.state.lock import StoreLock
from pipeline.state.manifest import MANIFEST_NAME, Manifest
from tests.helpers import fake_settings, write_notes

DOCS = ["pdflatex-outline.pdf", "category-level.docx", "procurement-zh.docx"]


def _stored(settings) -> dict[str, set[str]]:
    """{source path: chunk ids} as the store holds them."""
    ingestor = Ingestor(settings=settings)
    ingestor.warm_up()
    got = ingestor.store.collection.get(include=["metadatas"])
    found: dict[str, set[str]] = {}
    for chunk_id, meta in zip(got["ids"], got["metadatas"]):
        found.setdefault(meta["source"], set()).add(chunk_id)
    return found


def test_an_unchanged_folder_is_skipped_without_embedding(corpus, make_settings) -> None:
    folder = corpus(*DOCS)
    settings = make_settings()
    first = ingest(folder, config=settings)
    second = ingest(folder, config=settings)
    assert first.files_ingested == 3
    assert (second.files_unchanged, second.files_ingested, second.chunks_embedded) == (3, 0, 0)
    # Touched but not changed: the content hash decides.
    os.utime(folder / "category-level.docx", ns=(1, 1))
    third = ingest(folder, config=settings)
    assert (third.files_unchanged, third.chunks_embedded) == (3, 0)


def test_a_changed_file_is_replaced_and_counted_as_updated(tmp_path, make_settings) -> None:
    folder = tmp_path / "notes"
    write_notes(folder, 3, paragraphs=2)
    settings = make_settings()
    ingest(folder, config=settings)
    before = _stored(settings)
    (folder / "note-001.txt").write_text("Completely new text about refunds within 30 days.\n", encoding="utf-8")
    report = ingest(folder, config=settings)
    assert (report.files_updated, report.files_unchanged, report.files_ingested) == (1, 2, 1)
    after = _stored(settings)
    changed = str(folder / "note-001.txt")
    assert after[changed].isdisjoint(before[changed])
    assert {k: v for k, v in after.items() if k != changed} == {k: v for k, v in before.items() if k != changed}


def test_deleted_files_are_pruned_only_under_the_folders_of_the_run(tmp_path, make_settings) -> None:
    write_notes(tmp_path / "docs" / "a", 2, prefix="a", paragraphs=2)
    write_notes(tmp_path / "docs" / "b", 2, prefix="b", paragraphs=2)
    settings = make_settings()
    ingest([tmp_path / "docs" / "a", tmp_path / "docs" / "b"], config=settings)
    (tmp_path / "docs" / "b" / "b-000.txt").unlink()
    (tmp_path / "docs" / "a" / "a-000.txt").unlink()

    only_a = ingest(tmp_path / "docs" / "a", config=settings)
    assert only_a.files_removed == 1 and only_a.chunks_deleted > 0
    sources = {Path(s).name for s in _stored(settings)}
    assert sources == {"a-001.txt", "b-000.txt", "b-001.txt"}  # b was not part of this run

    kept = ingest(tmp_path / "docs" / "b", config=settings, prune=False)
    assert kept.files_removed == 0 and "b-000.txt" in {Path(s).name for s in _stored(settings)}
    pruned = ingest(tmp_path / "docs" / "b", config=settings)
    assert pruned.files_removed == 1
    assert {Path(s).name for s in _stored(settings)} == {"a-001.txt", "b-001.txt"}


def test_a_moved_file_reuses_its_vectors(tmp_path, make_settings) -> None:
    folder = tmp_path / "notes"
    write_notes(folder, 2, paragraphs=2)
    settings = make_settings()
    first = ingest(folder, config=settings)
    (folder / "archive").mkdir()
    shutil.move(folder / "note-000.txt", folder / "archive" / "renamed.txt")
    report = ingest(folder, config=settings)
    assert report.chunks_embedded == 0
    assert report.chunks_reused == report.chunks_added > 0
    assert report.files_removed == 1
    assert sum(len(ids) for ids in _stored(settings).values()) == first.chunks_added


def test_changed_chunking_settings_reprocess_every_file_without_leftovers(tmp_path, make_settings) -> None:
    folder = tmp_path / "notes"
    write_notes(folder, 3, paragraphs=2)
    ingest(folder, config=make_settings())
    smaller = make_settings(chunking={"chunk_tokens": 16, "overlap_tokens": 0})
    report = ingest(folder, config=smaller)
    assert report.files_unchanged == 0 and report.files_updated == 3
    manifest = Manifest(smaller.store.path, "docs-fake")
    recorded = {record.path: set(record.chunk_ids) for record in manifest.all_records()}
    assert recorded == _stored(smaller)


def test_a_second_writer_is_refused_with_the_holder_named(corpus, make_settings) -> None:
    folder = corpus("category-level.docx")
    settings = make_settings()
    with StoreLock(settings.store.path), pytest.raises(StoreLockedError, match=rf"process {os.getpid()} on"):
        ingest(folder, config=settings)
    assert ingest(folder, config=settings).files_ingested == 1  # released afterwards


def test_errors_are_written_as_json_lines(corpus, make_settings) -> None:
    folder = corpus("category-level.docx", "notes.rtf", "patchelf.pdf")
    report = ingest(folder, config=make_settings())
    lines = [json.loads(line) for line in Path(report.errors_file).read_text().splitlines()]
    assert {(Path(line["path"]).name, line["category"]) for line in lines} == {
        ("notes.rtf", "unsupported"), ("patchelf.pdf", "no_text"),
    }
    assert all(line["message"] for line in lines)
    assert (Path(report.errors_file).parent / MANIFEST_NAME).is_file()


class Flaky(HashingEmbedder):
    """Fails transiently on 30% of calls (seeded), like a rate-limited embedding service."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rng = np.random.default_rng(7)
        self.failures = 0

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        if self.rng.random() < 0.3:
            self.failures += 1
            raise TransientEmbeddingError("429 rate limited")
        return super().encode(texts, is_query=is_query)


def test_transient_failures_are_retried_and_every_chunk_is_stored_once(tmp_path, make_settings) -> None:
    folder = tmp_path / "notes"
    write_notes(folder, 40, paragraphs=2)
    settings = make_settings(
        retry={"attempts": 10, "initial_wait_s": 0, "max_wait_s": 0},
        models={"fake": {"kind": "hashing", "dimension": 64, "max_seq_length": 64, "batch_size": 2, "call_batches": 2}},
    )
    name, spec = settings.model_spec(None)
    flaky = Flaky(name=name, spec=spec)
    report = Ingestor(settings=settings, embedder=flaky).run([folder])
    assert flaky.failures >= 3
    assert report.files_failed == 0 and report.files_ingested == 40
    stored = _stored(settings)
    ids = [chunk_id for chunk_ids in stored.values() for chunk_id in chunk_ids]
    assert len(ids) == len(set(ids)) == report.chunks_added
    clean = ingest(folder, config=fake_settings(tmp_path / "clean"))
    assert clean.chunks_added == report.chunks_added


def test_a_file_that_parses_too_long_or_too_big_is_reported_and_the_run_goes_on(tmp_path, make_settings) -> None:
    folder = tmp_path / "notes"
    write_notes(folder, 6, paragraphs=2)
    line = "Endless minutes of a meeting that never ends, item after item after item.\n"
    (folder / "note-2-huge.txt").write_text(line * 300_000, encoding="utf-8")  # 22 MB of text
    slow = make_settings(walk={"file_timeout_s": 1.0, "prepare_workers": 2})
    report = ingest(folder, config=slow)
    assert [(Path(e.path).name, e.category) for e in report.errors] == [("note-2-huge.txt", "timeout")]
    assert report.files_ingested == 6
    greedy = make_settings(walk={"parse_memory_mb": 40, "prepare_workers": 1})
    report = ingest(folder, config=greedy)
    assert [(Path(e.path).name, e.category) for e in report.errors] == [("note-2-huge.txt", "too_large")]


def test_a_large_pdf_read_by_several_workers_gives_the_same_chunks(corpus, make_settings, tmp_path) -> None:
    folder = corpus("pdflatex-outline.pdf", "korean-text-with-tables.pdf")
    whole = make_settings()
    split = fake_settings(tmp_path / "split", walk={"pdf_pages_per_task": 1, "prepare_workers": 2})
    ingest(folder, config=whole)
    report = ingest(folder, config=split)
    assert report.files_ingested == 2 and not report.errors
    assert {Path(k).name: v for k, v in _stored(whole).items()} == {Path(k).name: v for k, v in _stored(split).items()}


def test_a_file_that_failed_for_good_is_reported_again_without_being_read(tmp_path, make_settings, monkeypatch) -> None:
    from pipeline.steps import parse as preparer

    folder = tmp_path / "docs"
    write_notes(folder, 2, paragraphs=2)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    settings = make_settings(walk={"prepare_workers": 0})
    first = ingest(folder, config=settings)
    assert [e.category for e in first.errors] == ["corrupt"]

    read = []
    prepare = preparer.FilePreparer.prepare
    monkeypatch.setattr(preparer.FilePreparer, "prepare", lambda self, entry, *a: read.append(entry) or prepare(self, entry, *a))
    again = ingest(folder, config=settings)
    assert [(e.path, e.category) for e in again.errors] == [(str(folder / "broken.pdf"), "corrupt")]
    assert read == [] and again.files_unchanged == 2
    # Changed, it is read again; fixed, it is forgotten; deleted, its record goes.
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 still not a pdf, but other bytes")
    assert ingest(folder, config=settings).files_failed == 1 and len(read) == 1
    (folder / "broken.pdf").unlink()
    (folder / "fixed.txt").write_text("Now a text file about harbour dues.", encoding="utf-8")
    assert ingest(folder, config=settings).files_failed == 0
    manifest = Manifest(settings.store.path, "docs-fake")
    assert manifest.failures_under([str(folder)]) == {}
    manifest.close()
