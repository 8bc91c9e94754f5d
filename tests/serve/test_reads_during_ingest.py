"""The server reads a store while `ingest` writes it: it never waits for the writer's lock, and
answers from what is committed."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient

from pipeline import ingest
from pipeline.config import load_settings
from pipeline.serve.app import create_app
from pipeline.state import StoreLock
from tests.helpers import hashing_config, run_ingest, write_notes
from tests.serve.conftest import serve_settings


def _store(tmp_path: Path):
    folder = tmp_path / "docs"
    write_notes(folder, 3, chinese=True)
    settings = serve_settings(tmp_path / "store")
    ingest([folder], config=settings)
    return folder, settings


def test_the_server_answers_while_the_writers_lock_is_held(tmp_path: Path) -> None:
    _, settings = _store(tmp_path)
    with StoreLock(tmp_path / "store"), TestClient(create_app(settings)) as client:
        assert client.post("/search", json={"query": "预算金额", "k": 2}).status_code == 200
        assert client.get("/files").json()["total"] == 3
        assert client.get("/collections").status_code == 200


def test_searches_answer_during_an_ingest_in_a_thread(tmp_path: Path) -> None:
    folder, settings = _store(tmp_path)
    write_notes(folder / "more", 60, prefix="memo", paragraphs=10)
    outcome: dict[str, object] = {}

    def write() -> None:
        outcome["report"] = ingest([folder], config=settings)

    with TestClient(create_app(settings)) as client:
        writer = threading.Thread(target=write)
        writer.start()
        statuses = []
        while writer.is_alive():
            statuses.append(client.post("/search", json={"query": "council budget memo", "k": 5}).status_code)
            statuses.append(client.get("/files", params={"limit": 5}).status_code)
        writer.join()
        assert outcome["report"].files_ingested == 60  # type: ignore[attr-defined]
        assert statuses and set(statuses) == {200}
        hits = client.post("/search", json={"query": "Memo 59 paragraph", "k": 3, "mode": "lexical"}).json()["hits"]
        assert hits and "memo-059" in hits[0]["source"]
        assert client.get("/files").json()["total"] == 63


def test_searches_answer_while_an_ingest_process_writes(tmp_path: Path) -> None:
    # The server and the `ingest` process read one config file, so they agree on the model.
    config = hashing_config(tmp_path / "config.yaml", {"path": str(tmp_path / "store")}, connectors={"ocr": False})
    settings = load_settings(config)
    folder = tmp_path / "docs"
    write_notes(folder, 3, chinese=True)
    ingest([folder], config=settings)
    write_notes(folder / "more", 120, prefix="memo", paragraphs=10)
    with TestClient(create_app(settings)) as client:
        process = run_ingest(folder, config)
        statuses, seen = [], set()
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            response = client.post("/search", json={"query": "memo council budget", "k": 5, "mode": "lexical"})
            statuses.append(response.status_code)
            seen.add(client.get("/files", params={"limit": 1}).json()["total"])
        process.communicate(timeout=60)
        assert process.returncode == 0
        assert statuses and set(statuses) == {200}
        assert client.get("/files").json()["total"] == 123
        hits = client.post("/search", json={"query": "Memo 119 paragraph", "k": 3, "mode": "lexical"}).json()["hits"]
        assert hits and "memo-119" in hits[0]["source"]
    assert min(seen) >= 3  # the listing grew with what the writer committed, never shrank below it
