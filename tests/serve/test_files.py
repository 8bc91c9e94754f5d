"""GET /files and GET /files/{id}/chunks: each file's state from the manifest and the errors
file, and a file's chunks in the order they were cut."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from pipeline import ingest
from pipeline.serve.app import create_app
from pipeline.serve.files import list_files
from pipeline.state.errors_file import ERRORS_FILE
from tests.helpers import write_notes
from tests.serve.conftest import ServedStore, serve_settings


def test_files_lists_ingested_files_with_chunk_counts_and_failures_with_categories(client: TestClient) -> None:
    body = client.get("/files").json()
    assert body["total"] == 11 and body["collection"] == "docs-fake"
    assert body["counts"] == {"status": {"ingested": 8, "failed": 3},
                              "category": {"corrupt": 1, "empty": 1, "unsupported": 1}}
    by_name = {Path(item["path"]).name: item for item in body["files"]}
    docx = by_name["procurement-zh.docx"]
    assert docx["status"] == "ingested" and docx["chunks"] > 1 and docx["doc_id"] and docx["category"] is None
    broken = by_name["broken.pdf"]
    assert broken["status"] == "failed" and broken["category"] == "corrupt" and broken["message"]
    assert broken["remembered"] and broken["last_run"] and broken["doc_id"] is None
    assert [item["path"] for item in body["files"]] == sorted(item["path"] for item in body["files"])


def test_files_pages_and_filters(client: TestClient) -> None:
    pages = [client.get("/files", params={"limit": 4, "offset": offset}).json() for offset in (0, 4, 8)]
    assert [len(page["files"]) for page in pages] == [4, 4, 3] and {page["total"] for page in pages} == {11}
    every = [item["path"] for page in pages for item in page["files"]]
    assert len(set(every)) == 11
    failed = client.get("/files", params={"status": "failed"}).json()
    assert failed["total"] == 3 and {item["status"] for item in failed["files"]} == {"failed"}
    assert failed["counts"]["status"] == {"ingested": 8, "failed": 3}  # counts cover every file
    corrupt = client.get("/files", params={"category": "corrupt"}).json()
    assert [Path(item["path"]).name for item in corrupt["files"]] == ["broken.pdf"]
    notes = client.get("/files", params={"q": "/notes/"}).json()
    assert notes["total"] == 5


def test_errors_that_are_not_remembered_come_from_the_last_runs_errors_file(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    write_notes(folder, 2)
    settings = serve_settings(tmp_path / "store")
    ingest([folder], config=settings)
    slow = str(folder / "slow.pdf")
    errors = tmp_path / "store" / ERRORS_FILE
    lines = [{"path": slow, "category": "timeout", "message": "parsing took over 120 s"},
             {"path": str(folder / "note-000.txt"), "category": "embedding_failed", "message": "model gone"}]
    errors.write_text("\n".join(json.dumps(line) for line in lines) + "\nnot json\n", encoding="utf-8")
    page = list_files(tmp_path / "store", "docs-fake")
    by_path = {item["path"]: item for item in page.files}
    assert by_path[slow]["status"] == "failed" and by_path[slow]["category"] == "timeout"
    assert by_path[slow]["last_run"] and not by_path[slow]["remembered"]
    # An older version stays searchable, but the file's state is its latest failure.
    changed = by_path[str(folder / "note-000.txt")]
    assert changed["status"] == "failed" and changed["chunks"] > 0 and changed["category"] == "embedding_failed"
    assert page.counts["status"] == {"failed": 2, "ingested": 1}


def test_a_store_never_ingested_lists_no_files_and_no_collections(tmp_path: Path) -> None:
    settings = serve_settings(tmp_path / "store")
    with TestClient(create_app(settings)) as client:
        assert client.get("/files").json()["total"] == 0
        assert client.get("/collections").json()["collections"] == []
        assert client.post("/search", json={"query": "budget"}).status_code == 404
    assert not (tmp_path / "store").exists()  # reading created nothing


def test_a_files_chunks_come_in_order_with_where_they_came_from(client: TestClient, served: ServedStore) -> None:
    files = client.get("/files", params={"q": "pdflatex"}).json()["files"]
    (pdf,) = files
    body = client.get(f"/files/{pdf['doc_id']}/chunks").json()
    assert body["path"] == pdf["path"] and body["state"] == "done" and len(body["chunks"]) == pdf["chunks"]
    assert [chunk["index"] for chunk in body["chunks"]] == list(range(pdf["chunks"]))
    assert all(chunk["page"] for chunk in body["chunks"]) and body["chunks"][0]["tokens"] > 0
    assert client.get("/files/0123456789abcdef/chunks").status_code == 404
    assert client.get("/files/..%2Fetc/chunks").status_code == 404


def test_reports_are_listed_and_served_only_from_their_folder(served: ServedStore, tmp_path: Path) -> None:
    reports = tmp_path / "eval-report"
    (reports / "cranfield-beir" / "plots").mkdir(parents=True)
    (reports / "cranfield-beir" / "report.html").write_text("<h1>Cranfield</h1>", encoding="utf-8")
    (reports / "cranfield-beir" / "plots" / "quality.png").write_bytes(b"\x89PNG\r\n")
    (reports / "no-report-here").mkdir()
    (tmp_path / "secret.txt").write_text("secret", encoding="utf-8")
    with TestClient(create_app(served.with_serve(eval_reports=reports), warm_up=False)) as client:
        listed = client.get("/reports").json()["reports"]
        assert [(report["name"], report["url"]) for report in listed] == [
            ("cranfield-beir", "/reports/cranfield-beir/report.html")
        ]
        assert "Cranfield" in client.get(listed[0]["url"]).text
        assert client.get("/reports/cranfield-beir/plots/quality.png").status_code == 200
        for path in ("/reports/cranfield-beir/../../secret.txt", "/reports/cranfield-beir/%2e%2e/%2e%2e/secret.txt",
                     "/reports/..%2F/secret.txt"):
            assert client.get(path).status_code == 404
    shutil.rmtree(reports)
    with TestClient(create_app(served.with_serve(eval_reports=reports), warm_up=False)) as client:
        assert client.get("/reports").json() == {"reports": []}


def test_the_page_and_its_static_files_are_served_with_a_strict_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<title>rag-ingest search</title>" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("app.js", "highlight.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert "http" not in page.text.replace('href="/docs"', "")  # nothing loaded from elsewhere
