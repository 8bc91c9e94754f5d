"""Batched writes: files share store batches, and a batch cut at any step is finished by the next run.

The cuts here raise from a step of a real store, index or manifest (nothing is mocked); the
SIGKILL test in tests/system/test_crash_safety.py kills real processes in the middle of a batch.
"""

from pathlib import Path

import pytest

from pipeline import Ingestor, ingest
from pipeline.retrieval.lexical import LexicalIndex
from pipeline.state.manifest import Manifest
from pipeline.stores.chroma import ChromaStore
from tests.helpers import fake_settings, write_notes


def _settings(store: Path, batch: int):
    settings = fake_settings(store, walk={"prepare_workers": 0})  # parsing in a thread: no pool to start
    return settings.model_copy(update={"store": settings.store.model_copy(update={"upsert_batch_size": batch})})


class Cut(BaseException):
    """Stands for the process dying: nothing after it runs (not even ``except Exception``)."""


def _state(settings) -> tuple:
    """Stored ids, the manifest's rows, and the lexical index: what a clean run is compared on."""
    ingestor = Ingestor(settings=settings)
    ids = set(ingestor.store.collection.get(include=[])["ids"])
    manifest = Manifest(settings.store.path, ingestor.collection)
    rows = {(r.path, r.state, r.chunk_ids) for r in manifest.all_records()}
    manifest.close()
    lexical = ingestor.binding.open_lexical_for_writing()
    snapshot = lexical.snapshot()
    lexical.close()
    return ids, rows, snapshot


def _cut_before(monkeypatch, step: str) -> None:
    def raise_cut(*args, **kwargs):
        raise Cut(step)

    if step == "done":
        put_many = Manifest.put_many

        def put_unless_done(self, records, **cache):
            records = list(records)
            if records and all(record.state == "done" for record in records):
                raise Cut(step)
            put_many(self, records, **cache)

        monkeypatch.setattr(Manifest, "put_many", put_unless_done)
    else:
        owner, name = {"upsert": (ChromaStore, "upsert"), "lexical": (LexicalIndex, "replace_docs"),
                       "delete": (ChromaStore, "delete")}[step]
        monkeypatch.setattr(owner, name, raise_cut)


def test_files_share_store_batches(tmp_path, monkeypatch) -> None:
    write_notes(tmp_path / "docs", 40, paragraphs=3)
    settings = _settings(tmp_path / "store", 50)
    calls = []
    upsert = ChromaStore.upsert

    def counting(self, chunks, vectors):
        calls.append(len(chunks))
        upsert(self, chunks, vectors)

    monkeypatch.setattr(ChromaStore, "upsert", counting)
    report = ingest(tmp_path / "docs", config=settings)
    assert report.files_ingested == 40 and report.chunks_added == sum(calls)
    assert len(calls) < 10 and max(calls) <= 50  # a few batches of many files, none over the limit


@pytest.mark.parametrize("step", ["upsert", "lexical", "delete", "done"])
def test_a_batch_cut_at_any_step_is_finished_by_the_next_run(tmp_path, monkeypatch, step) -> None:
    folder = tmp_path / "docs"
    write_notes(folder, 30, paragraphs=3)
    crashed = _settings(tmp_path / "crashed", 1000)
    ingest(folder, config=crashed)
    # Change most files (new chunks and stale ones), add some, then cut the one batch they make.
    write_notes(folder, 25, version=" (revised, paragraphs=3)")
    write_notes(folder / "new", 5, paragraphs=3)
    with monkeypatch.context() as patch:
        _cut_before(patch, step)
        with pytest.raises(Cut):
            ingest(folder, config=crashed)
    report = ingest(folder, config=crashed)
    assert report.files_ingested > 1

    clean = _settings(tmp_path / "clean", 1000)
    ingest(folder, config=clean)
    ids, rows, lexical = _state(crashed)
    assert (ids, rows, lexical) == _state(clean)
    assert all(state == "done" for _, state, _ in rows)
    assert set().union(*(set(chunk_ids) for _, _, chunk_ids in rows)) == ids == set(lexical)
