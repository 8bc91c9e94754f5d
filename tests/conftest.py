"""Shared fixtures: real files, a fresh Chroma store per test, and the fast hashing model."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.config import Settings
from tests.helpers import fake_settings

FIXTURES = Path(__file__).parent / "fixtures"


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
def chroma_server(tmp_path_factory: pytest.TempPathFactory):
    """One `chroma run` for the session; tests keep apart by collection name."""
    from tests.chroma_server import ChromaServerProcess

    folder = tmp_path_factory.mktemp("chroma-server")
    server = ChromaServerProcess(folder / "data").start()
    try:
        yield server.url
    finally:
        server.stop()
