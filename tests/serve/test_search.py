"""POST /search: the hits of the Python API, as JSON, in every mode and with filters."""

from __future__ import annotations

from fastapi.testclient import TestClient

from pipeline.query import Hit, Retriever
from tests.serve.conftest import ServedStore

HIT_FIELDS = set(Hit.__dataclass_fields__)


def test_an_english_search_answers_the_hits_of_the_python_api(client: TestClient, served: ServedStore) -> None:
    response = client.post("/search", json={"query": "council approved budget line", "k": 4})
    assert response.status_code == 200
    body = response.json()
    assert body["collection"] == "docs-fake" and body["mode"] == "hybrid" and body["took_ms"] >= 0
    hits = body["hits"]
    assert len(hits) == 4
    assert set(hits[0]) == HIT_FIELDS | {"shown_source"}  # Hit.to_dict(), plus the path for people
    assert all("/notes/note-" in hit["source"] for hit in hits)
    expected = Retriever(settings=served.settings).search("council approved budget line", k=4)
    assert [hit["id"] for hit in hits] == [hit.id for hit in expected]
    assert hits[0] | {"shown_source": None} == expected[0].to_dict() | {"shown_source": None}


def test_a_chinese_search_finds_the_chinese_documents(client: TestClient) -> None:
    response = client.post("/search", json={"query": "采购单位是哪个政府？", "k": 3, "mode": "lexical"})
    assert response.status_code == 200
    hits = response.json()["hits"]
    assert hits and hits[0]["source"].endswith("procurement-zh.docx")
    assert hits[0]["language"] == "zh" and hits[0]["mode"] == "lexical"
    assert "采购单位" in hits[0]["text"]


def test_each_mode_answers_and_a_dense_hit_has_no_lexical_score(client: TestClient) -> None:
    for mode in ("hybrid", "dense", "lexical"):
        hits = client.post("/search", json={"query": "budget line", "mode": mode, "k": 3}).json()["hits"]
        assert len(hits) == 3 and {hit["mode"] for hit in hits} == {mode}
        if mode == "dense":
            assert all(hit["lexical_score"] is None for hit in hits)


def test_where_filters_on_metadata(client: TestClient) -> None:
    body = {"query": "budget 预算", "k": 10, "where": {"file_type": "docx"}}
    hits = client.post("/search", json=body).json()["hits"]
    assert hits and all(hit["metadata"]["file_type"] == "docx" for hit in hits)
    empty_filter = client.post("/search", json={"query": "budget", "where": {}})
    assert empty_filter.status_code == 200  # {} means no filter


def test_a_named_collection_is_searched_and_an_unknown_one_is_404(client: TestClient) -> None:
    assert client.post("/search", json={"query": "budget", "collection": "docs-fake"}).status_code == 200
    missing = client.post("/search", json={"query": "budget", "collection": "docs-nothing"})
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "NotFound" and "docs-fake" in missing.json()["error"]["message"]


def test_health_and_the_openapi_document(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    assert {"/search", "/collections", "/files", "/files/{doc_id}/chunks", "/health"} <= set(spec["paths"])
    assert spec["paths"]["/search"]["post"]["requestBody"]
    assert client.get("/docs").status_code == 200


def test_collections_lists_the_store_with_its_model_and_sizes(client: TestClient) -> None:
    body = client.get("/collections").json()
    assert body["default"] == "docs-fake" and body["max_k"] == 100
    (collection,) = body["collections"]
    assert collection["name"] == "docs-fake" and collection["model"] == "fake" and collection["default"]
    assert collection["searchable"] and collection["files"] == 8 and collection["chunks"] > 8
