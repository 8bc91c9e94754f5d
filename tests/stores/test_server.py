"""The Chroma server backend against a real `chroma run`: the same store as the embedded path,
the same sync, queries, and errors that name the URL."""

import json
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from chromadb.errors import InternalError

from pipeline import ingest, query
from pipeline.cli import ingest_main, query_main
from pipeline.config import RetrySettings, load_settings
from pipeline.errors import ConfigError, StoreError, StoreUnavailableError
from pipeline.ingestor import Ingestor
from pipeline.state.manifest import MANIFEST_NAME
from pipeline.stores import ChromaServer, open_store
from pipeline.stores.backends import is_transient
from tests.chroma_server import free_port
from tests.helpers import fake_settings

DOCS = ["pdflatex-outline.pdf", "category-level.docx", "procurement-zh.docx", "example-with-scripts.html"]


def served(state: Path, url: str, prefix: str, **overrides):
    """Settings for the shared test server, with a collection prefix of the test's own."""
    settings = fake_settings(state, url=url, **overrides)
    return settings.model_copy(update={"store": settings.store.model_copy(update={"collection_prefix": prefix})})


def _snapshot(settings) -> dict[str, tuple[dict, np.ndarray]]:
    """id -> (metadata, vector) of everything in the collection."""
    ingestor = Ingestor(settings=settings)
    ingestor.warm_up()
    got = ingestor.store.collection.get(include=["metadatas", "embeddings"])
    return {i: (m, np.asarray(e)) for i, m, e in zip(got["ids"], got["metadatas"], got["embeddings"])}


def assert_same_store(left: dict, right: dict) -> None:
    assert set(left) == set(right)
    for chunk_id, (meta, vector) in left.items():
        assert meta == right[chunk_id][0]
        assert np.allclose(vector, right[chunk_id][1], atol=1e-6)


def test_the_server_and_the_embedded_path_give_the_same_store(chroma_server, corpus, tmp_path) -> None:
    folder = corpus(*DOCS)
    embedded = fake_settings(tmp_path / "embedded")
    server = served(tmp_path / "state", chroma_server, "same")
    assert ingest(folder, config=embedded).files_ingested == len(DOCS)
    report = ingest(folder, config=server)
    assert report.files_ingested == len(DOCS) and report.chunks_added > 0
    assert_same_store(_snapshot(embedded), _snapshot(server))
    # The local state is in state_dir; nothing of Chroma's is written there.
    assert (tmp_path / "state" / MANIFEST_NAME).is_file() and not (tmp_path / "state" / "chroma.sqlite3").exists()

    for mode in ("dense", "lexical", "hybrid"):
        here = query("budget amount of the project", k=5, mode=mode, config=embedded)
        there = query("budget amount of the project", k=5, mode=mode, config=server)
        assert [h.id for h in here] == [h.id for h in there], mode
        if mode != "hybrid":  # fused scores depend on ranks deep in two HNSW graphs built apart
            assert np.allclose([h.score for h in here], [h.score for h in there], atol=1e-5)


def test_sync_against_a_server_skips_replaces_and_prunes(chroma_server, tmp_path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    for n in range(4):
        (folder / f"note-{n}.txt").write_text(f"Note {n}: the committee approved item {n * 7}.\n", encoding="utf-8")
    settings = served(tmp_path / "state", chroma_server, "sync")
    assert ingest(folder, config=settings).files_ingested == 4
    again = ingest(folder, config=settings)
    assert (again.files_unchanged, again.chunks_embedded) == (4, 0)
    (folder / "note-1.txt").write_text("Refunds are paid within 30 days.\n", encoding="utf-8")
    (folder / "note-3.txt").unlink()
    report = ingest(folder, config=settings)
    assert (report.files_updated, report.files_removed, report.files_unchanged) == (1, 1, 2)
    sources = {meta["source"] for meta, _ in _snapshot(settings).values()}
    assert sources == {str(folder / f"note-{n}.txt") for n in (0, 1, 2)}


def test_the_cli_ingests_and_queries_through_a_server(chroma_server, corpus, tmp_path, capsys) -> None:
    folder = corpus("pdflatex-outline.pdf")
    config = tmp_path / "config.yaml"
    config.write_text(
        "default_model: fake\nmodels:\n  fake: {kind: hashing, dimension: 32, max_seq_length: 64}\n"
        f"store:\n  url: {chroma_server}\n  collection_prefix: cli\n",
        encoding="utf-8",
    )
    assert ingest_main([str(folder), "--config", str(config)]) == 0
    assert "1 files in 'cli-fake'" in capsys.readouterr().out
    # The state defaults to .ingest-state beside the config file.
    assert (tmp_path / ".ingest-state" / MANIFEST_NAME).is_file()
    assert query_main(["pdflatex outline", "-k", "2", "--config", str(config), "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 2 and hits[0]["source"].endswith("pdflatex-outline.pdf")


def test_a_wrong_url_fails_fast_with_the_url_and_exit_code_2(tmp_path, corpus, capsys) -> None:
    folder = corpus("pdflatex-outline.pdf")
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    config = tmp_path / "config.yaml"
    config.write_text(
        "default_model: fake\nmodels:\n  fake: {kind: hashing, dimension: 32, max_seq_length: 64}\n"
        f"store:\n  url: {url}\n  state_dir: state\n",
        encoding="utf-8",
    )
    started = time.monotonic()
    assert ingest_main([str(folder), "--config", str(config)]) == 2
    assert time.monotonic() - started < 10
    error = capsys.readouterr().err
    assert f"cannot reach the Chroma server at {url}" in error and "Traceback" not in error
    assert not (tmp_path / "state" / MANIFEST_NAME).exists()  # nothing half-written
    assert query_main(["anything", "--config", str(config)]) == 2
    assert url in capsys.readouterr().err


def test_a_url_that_is_not_a_chroma_server_is_refused(tmp_path) -> None:
    settings = fake_settings(tmp_path / "state", url="http://127.0.0.1:1")
    store = open_store(settings.store, collection="docs-x", model_name="m", dimension=4, fingerprint="f")
    with pytest.raises(StoreUnavailableError, match="http://127.0.0.1:1"):
        store.warm_up()


def test_a_token_is_sent_when_configured(chroma_server) -> None:
    server = ChromaServer(chroma_server, token="s3cret")
    client = server.client()
    # The Rust server does not check tokens; the header is there for a proxy or server that does.
    assert client._server._session.headers["Authorization"] == "Bearer s3cret"


def test_transient_failures_are_retried_and_permanent_ones_named(chroma_server) -> None:
    server = ChromaServer(chroma_server, retry=RetrySettings(attempts=3, initial_wait_s=0, max_wait_s=0))
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise httpx.ConnectError("connection reset")
        return "ok"

    assert server.call("upsert", flaky) == "ok" and len(calls) == 3
    with pytest.raises(StoreUnavailableError, match=rf"{chroma_server}.*after 3 tries"):
        server.call("upsert", lambda: (_ for _ in ()).throw(InternalError("boom")))
    with pytest.raises(StoreError, match=rf"{chroma_server} refused to delete") as refused:
        server.call("delete", lambda: (_ for _ in ()).throw(PermissionError("no")))
    assert not isinstance(refused.value, StoreUnavailableError)
    assert is_transient(httpx.ReadTimeout("slow")) and not is_transient(KeyError("x"))


def test_store_config_takes_a_path_or_a_url(tmp_path, monkeypatch) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("store:\n  url: http://127.0.0.1:8000\n  path: here\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="either 'path'.*or 'url'"):
        load_settings(config)
    config.write_text("store:\n  url: 127.0.0.1:8000\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="store.url"):
        load_settings(config)
    monkeypatch.setenv("INGEST_STORE_TOKEN", "from-env")
    config.write_text("store:\n  url: https://chroma.example.org\n", encoding="utf-8")
    store = load_settings(config).store
    assert store.local_dir == tmp_path / ".ingest-state" and store.token == "from-env"
    assert ChromaServer.from_settings(store).port == 443
    config.write_text("store:\n  path: vectors\n", encoding="utf-8")
    assert load_settings(config).store.local_dir == tmp_path / "vectors"  # embedded: state beside Chroma's files
