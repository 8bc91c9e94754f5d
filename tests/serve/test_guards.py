"""The bearer token, and the refusal to listen beyond this machine without one."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from pipeline.errors import ConfigError
from pipeline.serve.app import create_app
from pipeline.serve.cli import serve_main
from pipeline.serve.guards import TOKEN_COOKIE, check_exposure, is_loopback
from tests.serve.conftest import ServedStore

SEARCH = {"query": "budget", "k": 2}


@pytest.fixture(scope="module")
def guarded(served: ServedStore):
    with TestClient(create_app(served.with_serve(token="s3cret-token"), warm_up=False)) as client:
        yield client


def test_a_request_without_the_token_is_401(guarded: TestClient) -> None:
    for response in (guarded.post("/search", json=SEARCH), guarded.get("/files"), guarded.get("/collections"),
                     guarded.get("/reports")):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["type"] == "Unauthorized"


def test_a_wrong_token_is_401_and_the_right_one_answers(guarded: TestClient) -> None:
    wrong = guarded.post("/search", json=SEARCH, headers={"Authorization": "Bearer s3cret-tokeN"})
    assert wrong.status_code == 401 and "not the server's" in wrong.json()["error"]["message"]
    basic = guarded.post("/search", json=SEARCH, headers={"Authorization": "Basic czNjcmV0LXRva2Vu"})
    assert basic.status_code == 401
    right = guarded.post("/search", json=SEARCH, headers={"Authorization": "Bearer s3cret-token"})
    assert right.status_code == 200 and len(right.json()["hits"]) == 2


def test_health_the_page_and_the_docs_need_no_token(guarded: TestClient) -> None:
    for path in ("/health", "/", "/static/app.js", "/openapi.json", "/docs"):
        assert guarded.get(path).status_code == 200, path
    assert "HTTPBearer" in guarded.get("/openapi.json").json()["components"]["securitySchemes"]


def test_the_cookie_opens_reports_but_not_the_api(guarded: TestClient) -> None:
    guarded.cookies.set(TOKEN_COOKIE, "s3cret-token")
    try:
        assert guarded.post("/search", json=SEARCH).status_code == 401
        assert guarded.get("/reports/none/report.html").status_code == 404  # past the token, no such report
    finally:
        guarded.cookies.clear()
    assert guarded.get("/reports/none/report.html").status_code == 401


def test_the_token_can_come_from_the_environment(served: ServedStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_SERVE_TOKEN", "from-env")
    with TestClient(create_app(served.settings, warm_up=False)) as client:
        assert client.post("/search", json=SEARCH).status_code == 401
        ok = client.post("/search", json=SEARCH, headers={"Authorization": "Bearer from-env"})
        assert ok.status_code == 200


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("example.org", False)],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_listening_beyond_loopback_needs_a_token() -> None:
    check_exposure("127.0.0.1", None)
    check_exposure("0.0.0.0", "a-token")
    with pytest.raises(ConfigError, match="without a token"):
        check_exposure("0.0.0.0", None)


def test_ingest_serve_refuses_to_start_exposed_without_a_token(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("INGEST_SERVE_TOKEN", raising=False)
    config = tmp_path / "config.yaml"
    config.write_text("store:\n  path: store\n", encoding="utf-8")
    assert serve_main(["--config", str(config), "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "without a token" in capsys.readouterr().err
    config.write_text("serve:\n  host: 10.1.2.3\n", encoding="utf-8")
    assert serve_main(["--config", str(config)]) == 2
    config.write_text("serve:\n  tokn: x\n", encoding="utf-8")
    assert serve_main(["--config", str(config)]) == 2
    assert "serve.tokn: unknown key" in capsys.readouterr().err
