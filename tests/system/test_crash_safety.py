"""A real `ingest` process killed with SIGKILL at random moments, then run again, leaves the
store exactly as a clean run would. Slow (about a minute): run with `pytest -m slow`."""

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import chromadb
import pytest

from pipeline.retrieval.lexical import LexicalIndex, lexical_index_path
from pipeline.retrieval.tokens import Tokenizer
from pipeline.state.manifest import MANIFEST_NAME, Manifest
from tests.helpers import hashing_config, run_ingest, write_notes

pytestmark = pytest.mark.slow


def _config(tmp_path: Path, name: str, upsert_batch_size: int = 1000) -> Path:
    return hashing_config(tmp_path / f"{name}.yaml", {"path": str(tmp_path / name), "upsert_batch_size": upsert_batch_size})


def _state(store_dir: Path) -> tuple[set[str], dict[str, set[str]], dict[str, dict[str, int]]]:
    """The chunk ids in the store, what the manifest says each file has, and the lexical index."""
    collection = chromadb.PersistentClient(path=str(store_dir)).get_collection("docs-fake")
    ids = collection.get(include=[])["ids"]
    assert len(ids) == len(set(ids)) == collection.count()  # no duplicates
    manifest = Manifest(store_dir, "docs-fake")
    records = manifest.all_records()
    manifest.close()
    assert all(record.state == "done" for record in records)
    index = LexicalIndex(lexical_index_path(store_dir, "docs-fake"), tokenizer_fingerprint=Tokenizer().fingerprint)
    lexical = index.snapshot()
    index.close()
    assert set(lexical) == set(ids)  # the index holds exactly the stored chunks
    return set(ids), {record.path: set(record.chunk_ids) for record in records}, lexical


def _files_in_state(manifest: Path, state: str) -> int:
    if not manifest.exists():
        return 0
    db = sqlite3.connect(manifest, timeout=60)
    try:
        return db.execute("SELECT count(*) FROM files WHERE state = ?", (state,)).fetchone()[0]
    except sqlite3.OperationalError:  # the table is not created yet
        return 0
    finally:
        db.close()


def _files_done(manifest: Path) -> int:
    return _files_in_state(manifest, "done")


def _store_of(config: Path) -> Path:
    """The store folder a config of :func:`_config` points at."""
    return config.with_suffix("")


def _kill_at_random(folder: Path, config: Path, rng: random.Random, times: int) -> None:
    for _ in range(times):
        process = run_ingest(folder, config)
        manifest = _store_of(config) / MANIFEST_NAME
        deadline = time.monotonic() + 60
        while not manifest.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.0))
        process.send_signal(signal.SIGKILL)
        process.wait()


def _finish(folder: Path, config: Path) -> dict:
    process = run_ingest(folder, config)
    out, err = process.communicate(timeout=300)
    assert process.returncode in (0, 1), err.decode()
    return json.loads(out)


def test_killed_runs_then_a_rerun_equal_a_clean_run(tmp_path) -> None:
    rng = random.Random(20261122)
    folder = tmp_path / "docs"
    write_notes(folder, 300, chinese=True)  # a few seconds of work (files are written in batches); the kills land within 1 s
    crashed, clean = _config(tmp_path, "crashed"), _config(tmp_path, "clean")

    _kill_at_random(folder, crashed, rng, times=3)
    manifest = Manifest(_store_of(crashed), "docs-fake")
    assert len([r for r in manifest.all_records() if r.state == "done"]) < 300  # really cut short
    manifest.close()
    _finish(folder, crashed)
    _finish(folder, clean)
    assert _state(_store_of(crashed)) == _state(_store_of(clean))

    # Now change, add and delete files, and kill the sync part-way too.
    write_notes(folder, 40, version=" (revised, chinese=True)")
    for n in range(280, 300):
        (folder / f"note-{n:03d}.txt").unlink()
    write_notes(tmp_path / "docs" / "new", 10, chinese=True)
    _kill_at_random(folder, crashed, rng, times=2)
    report = _finish(folder, crashed)
    assert report["files_unchanged"] > 0  # resumed, not started over
    _finish(folder, clean)
    crashed_state = _state(_store_of(crashed))
    assert crashed_state == _state(_store_of(clean))
    ids, manifest, _ = crashed_state
    assert set().union(*manifest.values()) == ids  # no orphans: every chunk belongs to a file
    assert len(manifest) == 290


def _kill_inside_a_batch(folder: Path, config: Path, rng: random.Random) -> bool:
    """Kill a run while a batch of several files is being written; True if it was cut there."""
    process = run_ingest(folder, config)
    manifest = _store_of(config) / MANIFEST_NAME
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if _files_in_state(manifest, "writing") > 1:
            break
        time.sleep(0.002)
    time.sleep(rng.uniform(0.0, 0.5))  # somewhere in the upsert, the index update, the deletes or after
    process.send_signal(signal.SIGKILL)
    process.wait()
    return _files_in_state(manifest, "writing") > 1


def test_a_kill_inside_a_multi_file_batch_resumes_to_a_clean_runs_ids(tmp_path) -> None:
    rng = random.Random(20260712)
    folder = tmp_path / "docs"
    write_notes(folder, 300, chinese=True)
    # One store batch of 500 chunks spans dozens of these small files.
    crashed, clean = _config(tmp_path, "crashed", 500), _config(tmp_path, "clean")
    cut = sum(_kill_inside_a_batch(folder, crashed, rng) for _ in range(4))

    write_notes(folder, 60, version=" (revised, chinese=True)")  # a batch that replaces chunks too
    for n in range(290, 300):
        (folder / f"note-{n:03d}.txt").unlink()
    cut += sum(_kill_inside_a_batch(folder, crashed, rng) for _ in range(3))
    assert cut >= 3  # kills landed between a batch's 'writing' and its 'done'
    _finish(folder, crashed)
    _finish(folder, clean)
    crashed_state = _state(_store_of(crashed))
    assert crashed_state == _state(_store_of(clean))
    ids, manifest, _ = crashed_state
    assert set().union(*manifest.values()) == ids and len(manifest) == 290


def test_ctrl_c_stops_after_the_current_batch_and_the_next_run_resumes(tmp_path) -> None:
    folder = tmp_path / "docs"
    write_notes(folder, 300, chinese=True)
    # Batches of a few files, so the interrupt lands with most of the folder still to do.
    config = _config(tmp_path, "interrupted", 100)
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", str(folder), "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    manifest = _store_of(config) / MANIFEST_NAME
    deadline = time.monotonic() + 60
    while not _files_done(manifest) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # interrupt once some files are written, however slow the machine is
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err.decode()
    assert "run the same command again to resume" in out.decode()
    assert "Traceback" not in err.decode()
    ids, records, _ = _state(_store_of(config))
    assert 0 < len(records) < 300
    assert set().union(*records.values()) == ids  # what was written is complete
    report = _finish(folder, config)
    assert report["files_unchanged"] == len(records) and report["files_ingested"] == 300 - len(records)
