"""A real store for the service's tests: fixture files of several formats and languages,
ingested once with the hashing model, with files that fail in three categories."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipeline import ingest
from pipeline.config import Settings
from pipeline.serve.app import create_app
from tests.helpers import fake_settings, write_notes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# Chinese (Word 2007 and Word 97), English (PDF with pages), an unsupported format.
FIXTURE_FILES = ("procurement-zh.docx", "water-zh.doc", "pdflatex-outline.pdf", "notes.rtf")


@dataclass(frozen=True)
class ServedStore:
    folder: Path  # the ingested folder
    settings: Settings

    def with_serve(self, **serve: object) -> Settings:
        """These settings with some ``serve`` keys changed (a token, a body limit...)."""
        return self.settings.model_copy(update={"serve": self.settings.serve.model_copy(update=serve)})


def make_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in FIXTURE_FILES:
        shutil.copy(FIXTURES / name, folder / name)
    write_notes(folder / "notes", 5, chinese=True)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not a PDF body at all\n")
    (folder / "empty.txt").write_bytes(b"")
    return folder


def serve_settings(store: Path, **overrides: object) -> Settings:
    # OCR off: the store needs no scanned page, and the tests stay fast.
    return fake_settings(store, connectors={"ocr": False}, **overrides)


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> ServedStore:
    root = tmp_path_factory.mktemp("served")
    folder = make_corpus(root / "docs")
    settings = serve_settings(root / "store")
    report = ingest([folder], config=settings)
    assert report.files_ingested == 8 and report.error_counts() == {"corrupt": 1, "empty": 1, "unsupported": 1}
    return ServedStore(folder, settings)


@pytest.fixture(scope="session")
def client(served: ServedStore) -> Iterator[TestClient]:
    """One app over the session's store, without a token."""
    with TestClient(create_app(served.settings)) as test_client:
        yield test_client
