"""`--engine ray` on a local cluster gives the store the local line gives: the same ids,
metadata, vectors, lexical index, manifest and report; and a second run changes nothing."""

import os
from pathlib import Path

import pytest

from pipeline import ingest
from pipeline.errors import ConfigError
from pipeline.retrieval.lexical import LexicalIndex, lexical_index_path
from pipeline.retrieval.tokens import Tokenizer
from pipeline.state.manifest import Manifest
from tests.helpers import fake_settings
from tests.stores.test_server import _snapshot, assert_same_store, served

pytestmark = pytest.mark.slow

DOCS = ["pdflatex-outline.pdf", "category-level.docx", "procurement-zh.docx", "example-with-scripts.html", "notes.rtf"]


def _local_state(settings) -> tuple[dict, dict]:
    """The manifest (path -> chunk ids, hash, state) and the lexical index of the collection."""
    folder = settings.store.local_dir
    manifest = Manifest(folder, "docs-fake" if not settings.store.url else f"{settings.store.collection_prefix}-fake")
    records = {r.path: (r.chunk_ids, r.content_hash, r.settings, r.state) for r in manifest.all_records()}
    manifest.close()
    index = LexicalIndex(lexical_index_path(folder, manifest.collection), tokenizer_fingerprint=Tokenizer().fingerprint)
    lexical = index.snapshot()
    index.close()
    return records, lexical


def _errors(report) -> set[tuple[str, str]]:
    return {(Path(error.path).name, error.category) for error in report.errors}


def _same(local, distributed) -> None:
    assert_same_store(_snapshot(local), _snapshot(distributed))
    assert _local_state(local) == _local_state(distributed)


def test_ray_gives_the_local_store_and_a_second_run_changes_nothing(ray_cluster, chroma_server, corpus, tmp_path) -> None:
    folder = corpus(*DOCS)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a PDF")  # fails in a worker
    # A name that is not UTF-8 (GBK) has no Arrow string: it must travel to the workers and back.
    (folder / os.fsdecode("文件".encode("gbk") + b".txt")).write_text("Pumps run at night.\n", encoding="utf-8")
    local = fake_settings(tmp_path / "local")
    distributed = served(tmp_path / "state", chroma_server, "ray")

    expected = ingest(folder, config=local)
    report = ingest(folder, config=distributed, engine="ray")
    assert (report.files_ingested, report.chunks_added) == (expected.files_ingested, expected.chunks_added)
    assert _errors(report) == _errors(expected) and ("broken.pdf", "corrupt") in _errors(report)
    _same(local, distributed)

    again = ingest(folder, config=distributed, engine="ray")
    assert (again.files_unchanged, again.files_ingested, again.chunks_added, again.chunks_deleted) == (5, 0, 0, 0)
    _same(local, distributed)

    # A change, a deletion and a new file: replaced, pruned and added as the local line does.
    (folder / "category-level.docx").unlink()
    (folder / "note.txt").write_text("Refunds are paid within 30 days of the request.\n", encoding="utf-8")
    html = folder / "example-with-scripts.html"
    html.write_text(html.read_text(encoding="utf-8").replace("</body>", "<p>A new last paragraph.</p></body>"),
                    encoding="utf-8")
    expected = ingest(folder, config=local)
    report = ingest(folder, config=distributed, engine="ray")
    for key in ("files_ingested", "files_updated", "files_removed", "files_unchanged"):
        assert getattr(report, key) == getattr(expected, key), key
    assert (report.files_removed, report.files_updated) == (1, 1) and report.chunks_deleted > 0
    _same(local, distributed)


def test_the_ray_engine_needs_a_server(tmp_path, corpus) -> None:
    with pytest.raises(ConfigError, match="store.url"):
        ingest(corpus("pdflatex-outline.pdf"), config=fake_settings(tmp_path / "store"), engine="ray")


def test_a_server_lost_during_a_ray_job_leaves_rows_to_redo(ray_cluster, corpus, tmp_path, monkeypatch) -> None:
    from pipeline.engines.ray_data import RayEngine
    from pipeline.errors import StoreUnavailableError
    from tests.chroma_server import ChromaServerProcess

    folder = corpus(*DOCS[:3])
    server = ChromaServerProcess(tmp_path / "chroma").start()
    settings = fake_settings(tmp_path / "state", url=server.url, retry={"attempts": 2, "initial_wait_s": 0.1})
    wave = RayEngine._wave

    def server_goes_away(self, *args):
        server.stop()
        return wave(self, *args)

    monkeypatch.setattr(RayEngine, "_wave", server_goes_away)
    try:
        with pytest.raises(StoreUnavailableError, match=server.url):
            ingest(folder, config=settings, engine="ray")
        records, _ = _local_state(settings)
        assert len(records) == 3 and {state for *_, state in records.values()} == {"writing"}
        monkeypatch.setattr(RayEngine, "_wave", wave)
        server.start()
        report = ingest(folder, config=settings, engine="ray")
        assert (report.files_ingested, report.files_failed) == (3, 0)
        local = fake_settings(tmp_path / "local")
        ingest(folder, config=local)
        _same(local, settings)
    finally:
        server.stop()


def _failures(settings) -> dict[str, tuple[str, str]]:
    prefix = "docs" if not settings.store.url else settings.store.collection_prefix
    manifest = Manifest(settings.store.local_dir, f"{prefix}-fake")
    failures = {Path(path).name: (f.category, f.settings) for path, f in manifest.failures_under(["/"]).items()}
    manifest.close()
    return failures


def test_ray_remembers_failures_and_reuses_cached_vectors_as_the_local_line_does(
    ray_cluster, chroma_server, corpus, tmp_path, monkeypatch
) -> None:
    from pipeline.engines.ray_data import RayEngine

    folder = corpus("category-level.docx", "notes.rtf")  # the .rtf is unsupported: a lasting failure too
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really a PDF")
    (folder / "notes.txt").write_text("Harbour dues are paid monthly.\n\nPilots board at the outer buoy.\n")
    local = fake_settings(tmp_path / "local")
    distributed = served(tmp_path / "state", chroma_server, "memory")
    ingest(folder, config=local)
    ingest(folder, config=distributed, engine="ray")
    assert _failures(local) == _failures(distributed) and set(_failures(local)) == {"broken.pdf", "notes.rtf"}

    parsed: list[str] = []
    parse = RayEngine._parse
    monkeypatch.setattr(RayEngine, "_parse", lambda self, paths, job: parsed.extend(p.name for p in paths)
                        or parse(self, paths, job))
    # A moved file: its vectors come from the cache, not the model; the broken file is not read.
    (folder / "notes.txt").rename(folder / "moved.txt")
    expected = ingest(folder, config=local)
    report = ingest(folder, config=distributed, engine="ray")
    assert parsed == ["moved.txt"]
    assert report.chunks_reused == expected.chunks_reused > 0
    assert report.chunks_embedded == expected.chunks_embedded == 0
    assert _errors(report) == _errors(expected) == {("broken.pdf", "corrupt"), ("notes.rtf", "unsupported")}
    _same(local, distributed)


@pytest.mark.parametrize("engine", ["local", "ray"])
def test_an_interrupted_run_prunes_nothing_on_either_engine(engine, ray_cluster, chroma_server, corpus, tmp_path) -> None:
    import threading

    from pipeline import Ingestor

    folder = corpus(*DOCS[:3])
    settings = fake_settings(tmp_path / "local") if engine == "local" else served(tmp_path / "s", chroma_server, "stop")
    ingest(folder, config=settings, engine=engine)
    before = _snapshot(settings)
    (folder / "category-level.docx").unlink()
    (folder / "new.txt").write_text("Harbour dues are paid monthly.\n", encoding="utf-8")
    stop = threading.Event()
    stop.set()  # as if Ctrl-C came at once
    report = Ingestor(settings=settings).run([folder], engine=engine, stop=stop)
    assert report.interrupted and report.files_removed == 0
    assert set(_snapshot(settings)) >= set(before)  # the deleted file's chunks are still there
    again = ingest(folder, config=settings, engine=engine)
    assert (again.interrupted, again.files_removed, again.files_ingested) == (False, 1, 1)
