"""What many tests need: settings for the fast hashing model, folders of notes, config files, and
`ingest` run as a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from pipeline.config import Settings, settings_from_dict

FAKE_MODEL = {"kind": "hashing", "dimension": 64, "max_seq_length": 48, "batch_size": 8, "call_batches": 2}


def fake_settings(store: Path, url: str | None = None, **overrides: Any) -> Settings:
    """Settings whose default model is the deterministic hashing embedder (no weights, milliseconds).

    With ``url`` the vectors go to that Chroma server and ``store`` holds the local state.
    """
    data: dict[str, Any] = {
        "default_model": "fake",
        "models": {"fake": {"kind": "hashing", "dimension": 64, "max_seq_length": 64, "batch_size": 8}},
        "store": {"url": url, "state_dir": str(store)} if url else {"path": str(store)},
        "chunking": {"overlap_tokens": 8},
        "connectors": {"pdf_passwords": ["openpassword"]},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return settings_from_dict(data)


def write_notes(
    folder: Path, count: int, *, version: str = "", prefix: str = "note", paragraphs: int = 6, chinese: bool = False
) -> None:
    """``count`` text files ``<prefix>-000.txt``... of a few paragraphs each; ``version`` changes them all."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        lines = []
        for p in range(paragraphs):
            line = f"{prefix.capitalize()} {n}{version}, paragraph {p}: the council approved budget line {n * p}."
            lines.append(line + (f" 预算金额{n * p}万元。" if chinese else ""))
        (folder / f"{prefix}-{n:03d}.txt").write_text("\n\n".join(lines), encoding="utf-8")


def hashing_config(path: Path, store: dict[str, Any], **sections: Any) -> Path:
    """A config file for `ingest` processes: the hashing model (small chunks) and ``store``."""
    data = {"default_model": "fake", "models": {"fake": FAKE_MODEL}, "store": store, **sections}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def run_ingest(folder: Path, config: Path, *args: str) -> subprocess.Popen:
    """`ingest FOLDER --config CONFIG --json` as a process of its own (to be killed, interrupted...)."""
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", str(folder), "--config", str(config), "--json", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
