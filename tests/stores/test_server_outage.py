"""A Chroma server killed in the middle of a run: `ingest` stops with exit code 2 and the URL,
the manifest only calls done what the server holds, and the re-run finishes the job."""

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import chromadb
import pytest

from pipeline.manifest import MANIFEST_NAME, Manifest
from tests.chroma_server import ChromaServerProcess

pytestmark = pytest.mark.slow


def _notes(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (folder / f"note-{n:03d}.txt").write_text(
            "\n\n".join(f"Note {n}, paragraph {p}: the council approved budget line {n * p}." for p in range(6)),
            encoding="utf-8",
        )


def _config(tmp_path: Path, name: str, store: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        "default_model: fake\n"
        "models:\n  fake: {kind: hashing, dimension: 64, max_seq_length: 48, batch_size: 8, call_batches: 2}\n"
        f"store:\n  {store}\n  upsert_batch_size: 20\n"
        # Give up quickly once the server is gone: the test waits for the failure.
        "retry: {attempts: 2, initial_wait_s: 0.1, max_wait_s: 0.2}\n",
        encoding="utf-8",
    )
    return path


def _run(folder: Path, config: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", str(folder), "--config", str(config), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _done(manifest: Path) -> int:
    if not manifest.exists():
        return 0
    with sqlite3.connect(manifest) as db:
        try:
            return db.execute("SELECT count(*) FROM files WHERE state = 'done'").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def _ids(client) -> set[str]:  # noqa: ANN001
    collection = client.get_collection("docs-fake")
    ids = collection.get(include=[])["ids"]
    assert len(ids) == len(set(ids)) == collection.count()
    return set(ids)


def test_a_server_that_goes_away_leaves_the_manifest_consistent_and_a_rerun_finishes(tmp_path) -> None:
    folder = tmp_path / "docs"
    _notes(folder, 400)
    server = ChromaServerProcess(tmp_path / "chroma").start()
    try:
        config = _config(tmp_path, "served", f"url: {server.url}\n  state_dir: {tmp_path / 'state'}")
        manifest_file = tmp_path / "state" / MANIFEST_NAME
        process = _run(folder, config)
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

        process = _run(folder, config)
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()
        report = json.loads(out)
        assert report["files_unchanged"] == len(done) and report["files_ingested"] == 400 - len(done)
        resumed = _ids(chromadb.HttpClient(host="127.0.0.1", port=server.port))
    finally:
        server.stop()

    clean = _config(tmp_path, "clean", f"path: {tmp_path / 'clean'}")
    process = _run(folder, clean)
    process.communicate(timeout=300)
    assert process.returncode == 0
    assert resumed == _ids(chromadb.PersistentClient(path=str(tmp_path / "clean")))
