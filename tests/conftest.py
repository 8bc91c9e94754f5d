"""Shared fixtures: real files, a fresh Chroma store per test, and the fast hashing model."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import Settings, settings_from_dict

FIXTURES = Path(__file__).parent / "fixtures"


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


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fake_settings(tmp_path / "store")


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    return lambda **overrides: fake_settings(tmp_path / "store", **overrides)


@pytest.fixture
def corpus(tmp_path: Path) -> Callable[..., Path]:
    """Copy named fixture files into a fresh folder (so tests may change or delete them)."""

    def make(*names: str, folder: str = "docs") -> Path:
        target = tmp_path / folder
        target.mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copy(FIXTURES / name, target / name)
        return target

    return make


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - yields the URL
    """One `chroma run` for the session; tests keep apart by collection name."""
    from tests.chroma_server import ChromaServerProcess

    folder = tmp_path_factory.mktemp("chroma-server")
    server = ChromaServerProcess(folder / "data").start()
    try:
        yield server.url
    finally:
        server.stop()
