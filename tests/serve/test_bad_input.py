"""Bad input gets a 4xx with a JSON error, and the server goes on serving."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from pipeline.config import ModelSpec
from pipeline.errors import (
    CollectionMismatchError,
    ConfigError,
    EmbeddingError,
    IngestError,
    ModelError,
    StoreError,
    StoreLockedError,
    StoreUnavailableError,
)
from pipeline.serve.app import create_app
from pipeline.serve.problems import status_of
from pipeline.serve.service import NotFound
from tests.serve.conftest import ServedStore

BAD_BODIES = [
    pytest.param({"query": ""}, 422, "InvalidRequest", id="empty query"),
    pytest.param({"query": "？！…"}, 400, "ConfigError", id="punctuation-only query"),
    pytest.param({"query": "   "}, 400, "ConfigError", id="blank query"),
    pytest.param({"k": 3}, 422, "InvalidRequest", id="no query"),
    pytest.param({"query": "budget", "k": 0}, 422, "InvalidRequest", id="k zero"),
    pytest.param({"query": "budget", "k": 101}, 422, "InvalidRequest", id="k over max_k"),
    pytest.param({"query": "budget", "k": "ten"}, 422, "InvalidRequest", id="k not a number"),
    pytest.param({"query": "budget", "mode": "fuzzy"}, 422, "InvalidRequest", id="unknown mode"),
    pytest.param({"query": "budget", "where": {"file_type": ["pdf"]}}, 400, "BadFilter", id="where value a list"),
    pytest.param({"query": "budget", "where": {"$nope": 1}}, 400, "BadFilter", id="where unknown operator"),
    pytest.param({"query": "budget", "where": {"page": {"$gt": "x"}}}, 400, "BadFilter", id="where wrong operand"),
    pytest.param({"query": "budget", "where": "file_type=pdf"}, 422, "InvalidRequest", id="where not an object"),
    pytest.param({"query": "budget", "collection": "a b"}, 400, "ConfigError", id="collection name invalid"),
    pytest.param({"query": "budget", "limit": 3}, 422, "InvalidRequest", id="unknown field"),
    pytest.param(["budget"], 422, "InvalidRequest", id="body not an object"),
]


@pytest.mark.parametrize(("body", "status", "kind"), BAD_BODIES)
def test_bad_search_bodies_get_a_json_error(client: TestClient, body: object, status: int, kind: str) -> None:
    response = client.post("/search", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["status"] == status and error["type"] == kind and error["message"]
    assert client.post("/search", json={"query": "budget", "k": 1}).status_code == 200  # still serving


@pytest.mark.parametrize("raw", [b"{broken", b'{"query": "budget",}', b"\xff\xfe", b""])
def test_broken_json_is_400(client: TestClient, raw: bytes) -> None:
    response = client.post("/search", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 422)
    assert response.json()["error"]["type"] in ("InvalidJSON", "InvalidRequest")
    if raw.startswith(b"{"):
        assert response.status_code == 400 and response.json()["error"]["type"] == "InvalidJSON"


def test_a_huge_body_is_413_whether_declared_or_streamed(served: ServedStore) -> None:
    app = create_app(served.with_serve(max_body_kb=4), warm_up=False)
    body = json.dumps({"query": "budget " * 2000}).encode()  # 14 KB
    with TestClient(app) as client:
        declared = client.post("/search", content=body, headers={"Content-Type": "application/json"})
        assert declared.status_code == 413 and declared.json()["error"]["type"] == "BodyTooLarge"

        def chunks():  # no Content-Length: the limit counts the bytes as they come
            for start in range(0, len(body), 1000):
                yield body[start : start + 1000]

        streamed = client.post("/search", content=chunks(), headers={"Content-Type": "application/json"})
        assert streamed.status_code == 413
        assert client.post("/search", json={"query": "budget", "k": 2}).status_code == 200


def test_unknown_routes_and_methods_answer_json(client: TestClient) -> None:
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "NotFound"
    wrong_method = client.get("/search")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["status"] == 405


@pytest.mark.parametrize(
    ("params", "status"),
    [({"limit": 0}, 422), ({"limit": 5000}, 422), ({"offset": -1}, 422), ({"status": "lost"}, 400),
     ({"collection": "x"}, 400)],
)
def test_bad_file_listing_parameters(client: TestClient, params: dict, status: int) -> None:
    response = client.get("/files", params=params)
    assert response.status_code == status and response.json()["error"]["message"]


def test_a_collection_this_config_cannot_search_is_409(served: ServedStore) -> None:
    other = {"kind": "hashing", "dimension": 64, "max_seq_length": 64, "batch_size": 8}
    unregistered = served.settings.model_copy(update={"models": {"other": ModelSpec(**other)}, "default_model": "other"})
    with TestClient(create_app(unregistered, warm_up=False)) as client:
        response = client.post("/search", json={"query": "budget", "collection": "docs-fake"})
        assert response.status_code == 409 and response.json()["error"]["type"] == "NotSearchable"
        listed = client.get("/collections").json()["collections"]
        assert [(c["name"], c["searchable"]) for c in listed] == [("docs-fake", False)]
    changed = {**other, "dimension": 32}  # the same name, another model: the store refuses it
    mismatched = served.settings.model_copy(update={"models": {"fake": ModelSpec(**changed)}})
    with TestClient(create_app(mismatched, warm_up=False)) as client:
        response = client.post("/search", json={"query": "budget"})
        assert response.status_code == 409 and response.json()["error"]["type"] == "CollectionMismatchError"


@pytest.mark.parametrize(
    ("error", "status"),
    [(ConfigError("x"), 400), (NotFound("x"), 404), (CollectionMismatchError("x"), 409),
     (StoreLockedError("x"), 409), (StoreUnavailableError("x"), 503), (StoreError("x"), 503),
     (ModelError("x"), 503), (EmbeddingError("x"), 503), (IngestError("x"), 500)],
)
def test_the_error_tree_maps_to_status_codes(error: IngestError, status: int) -> None:
    assert status_of(error) == status
