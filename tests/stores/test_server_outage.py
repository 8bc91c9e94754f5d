"""A Chroma server killed in the middle of a run: `ingest` stops with exit code 2 and the URL,
the manifest only calls done what the server holds, and the re-run finishes the job."""

import json
import signal
import sqlite3
import time
from pathlib import Path

import chromadb
import pytest

from pipeline.state.manifest import MANIFEST_NAME, Manifest
from tests.chroma_server import ChromaServerProcess
from tests.helpers import hashing_config, run_ingest, write_notes

pytestmark = pytest.mark.slow


def _outage_config(path: Path, store: dict) -> Path:
    # Small batches; give up quickly once the server is gone: the test waits for the failure.
    return hashing_config(
        path, {**store, "upsert_batch_size": 20}, retry={"attempts": 2, "initial_wait_s": 0.1, "max_wait_s": 0.2}
    )


def _done(manifest: Path) -> int:
    if not manifest.exists():
        return 0
    with sqlite3.connect(manifest) as db:
        try:
            return db.execute("SELECT count(*) FROM files WHERE state = 'done'").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def _ids(client) -> set[str]:
    collection = client.get_collection("docs-fake")
    ids = collection.get(include=[])["ids"]
    assert len(ids) == len(set(ids)) == collection.count()
    return set(ids)


def test_a_server_that_goes_away_leaves_the_manifest_consistent_and_a_rerun_finishes(tmp_path) -> None:
    folder = tmp_path / "docs"
    write_notes(folder, 400)
    server = ChromaServerProcess(tmp_path / "chroma").start()
    try:
        config = _outage_config(tmp_path / "served.yaml", {"url": server.url, "state_dir": str(tmp_path / "state")})
        manifest_file = tmp_path / "state" / MANIFEST_NAME
        process = run_ingest(folder, config)
        deadline = time.monotonic() + 90
        while _done(manifest_file) < 20 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        server.stop(signal.SIGKILL)
        out, err = process.communicate(timeout=120)
        assert process.returncode == 2, err.decode()
        message = err.decode()
        assert server.url in message and "unavailable" in message and "Traceback" not in message

        server.start()
        manifest = Manifest(tmp_path / "state", "docs-fake")
        records = manifest.all_records()
        manifest.close()
        done = [record for record in records if record.state == "done"]
        assert 20 <= len(done) < 400  # really cut short
        stored = _ids(chromadb.HttpClient(host="127.0.0.1", port=server.port))
        # Every file the manifest calls done is whole in the server; the files of the batch caught
        # in the middle are still 'writing', so the next run does them again.
        assert all(set(record.chunk_ids) <= stored for record in done)
        assert all(record.state in ("done", "writing") for record in records)

        process = run_ingest(folder, config)
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()
        report = json.loads(out)
        assert report["files_unchanged"] == len(done) and report["files_ingested"] == 400 - len(done)
        resumed = _ids(chromadb.HttpClient(host="127.0.0.1", port=server.port))
    finally:
        server.stop()

    clean = _outage_config(tmp_path / "clean.yaml", {"path": str(tmp_path / "clean")})
    process = run_ingest(folder, clean)
    process.communicate(timeout=300)
    assert process.returncode == 0
    assert resumed == _ids(chromadb.PersistentClient(path=str(tmp_path / "clean")))
