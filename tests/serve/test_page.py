"""The page in a real browser: Debian's chromium driven by Playwright searches in Chinese and in
English, sees the hits with the query's words marked, opens the files tab and a file's chunks."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from pipeline.serve.app import create_app
from tests.serve.conftest import ServedStore

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "serve-page.png"
# The README's screenshot is written when missing, or when this is set (it changes with the page).
UPDATE_SCREENSHOT = "INGEST_UPDATE_SCREENSHOT"

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
if not CHROMIUM.exists():
    pytest.skip(f"no browser: {CHROMIUM} is missing (apt-get install -y chromium)", allow_module_level=True)


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port, in a thread; yields its URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def base_url(served: ServedStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app over the session's store, with one evaluation report beside it."""
    reports = tmp_path_factory.mktemp("eval-report")
    (reports / "cmrc2018-beir").mkdir()
    (reports / "cmrc2018-beir" / "report.html").write_text("<h1>CMRC 2018</h1>", encoding="utf-8")
    with running(create_app(served.with_serve(eval_reports=reports))) as url:
        yield url


@pytest.fixture(scope="module")
def page(browser: sync_api.Browser, base_url: str) -> Iterator[sync_api.Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda request: None if request.url.startswith((base_url, "data:")) else outside.append(request.url))
    page.goto(base_url + "/")
    yield page
    context.close()
    assert outside == [], "the page loaded something from elsewhere"


def _search(page: sync_api.Page, query: str, mode: str = "hybrid", k: int = 5) -> None:
    page.fill("#q", query)
    page.select_option("#mode", mode)
    page.fill("#k", str(k))
    page.click("#search-form button[type=submit]")
    sync_api.expect(page.locator("#search-status")).to_contain_text("hits in docs-fake")


def test_a_chinese_search_shows_hits_with_the_query_marked(page: sync_api.Page, tmp_path: Path) -> None:
    sync_api.expect(page.locator("#collection option")).to_have_count(1)
    sync_api.expect(page.locator("#token-form")).to_be_hidden()  # this server has no token
    _search(page, "采购单位是哪个政府？", k=3)
    hits = page.locator("#hits > li")
    sync_api.expect(hits).to_have_count(3)
    first = hits.first
    sync_api.expect(first.locator(".source")).to_contain_text("procurement-zh.docx")
    strong = first.locator("mark:not(.weak)").all_inner_texts()
    assert any("采购单位" in text for text in strong), strong
    assert not any(text in ("是", "哪", "个") for text in first.locator("mark").all_inner_texts())  # stop characters
    sync_api.expect(page.locator("#reports a")).to_have_text("cmrc2018-beir")
    shot = tmp_path / "serve-page.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get(UPDATE_SCREENSHOT) or not SCREENSHOT.exists():
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, SCREENSHOT)


def test_an_english_search_marks_words_and_their_other_forms(page: sync_api.Page) -> None:
    _search(page, "What budgets were approved by the council?", mode="lexical", k=4)
    sync_api.expect(page.locator("#hits > li")).to_have_count(4)
    marked = {text.lower() for text in page.locator("#hits > li").first.locator("mark").all_inner_texts()}
    assert {"budget", "approved", "council"} <= marked, marked
    assert "the" not in marked and "what" not in marked


def test_a_bad_search_says_why_and_the_next_one_works(page: sync_api.Page) -> None:
    page.fill("#q", "？！")
    page.click("#search-form button[type=submit]")
    sync_api.expect(page.locator("#search-status")).to_contain_text("no words")
    _search(page, "budget", k=2)


def test_the_files_tab_lists_states_and_opens_a_files_chunks(page: sync_api.Page) -> None:
    page.click("#tab-files")
    rows = page.locator("#files tbody tr")
    sync_api.expect(rows).to_have_count(11)
    sync_api.expect(page.locator("#file-counts")).to_contain_text("failed 3")
    sync_api.expect(page.locator("#file-counts")).to_contain_text("corrupt 1")
    broken = page.locator("#files tbody tr", has_text="broken.pdf")
    sync_api.expect(broken.locator(".badge.category")).to_have_text("corrupt")
    page.select_option("#file-status", "failed")
    page.click("#files-form button[type=submit]")
    sync_api.expect(rows).to_have_count(3)
    page.select_option("#file-status", "")
    page.fill("#file-q", "procurement")
    page.click("#files-form button[type=submit]")
    sync_api.expect(rows).to_have_count(1)
    rows.first.locator("button.link").click()
    sync_api.expect(page.locator("#chunks-title")).to_contain_text("procurement-zh.docx")
    assert page.locator("#chunk-list > li").count() > 1
    sync_api.expect(page.locator("#chunk-list > li").first.locator(".chunk-head")).to_contain_text("#0")


def test_the_highlighter_handles_pairs_lone_characters_and_surrogates(page: sync_api.Page) -> None:
    ranges = page.evaluate(
        """async () => {
            const { highlightRanges } = await import('/static/highlight.js');
            return [
                highlightRanges('项目的预算金额为100万元，金额已批准。', '预算金额是多少'),
                highlightRanges('The budgets were approved.', 'budget approval'),
                highlightRanges('𠀋𠀌 text', '𠀋𠀌'),
            ];
        }"""
    )
    chinese, english, astral = ranges
    assert chinese == [[3, 7, "strong"], [14, 16, "strong"]]
    assert english == [[4, 11, "strong"], [17, 25, "strong"]]
    assert astral == [[0, 4, "strong"]]


def test_with_a_token_the_page_asks_for_it_and_then_searches(browser: sync_api.Browser, served: ServedStore) -> None:
    with running(create_app(served.with_serve(token="page-token"), warm_up=False)) as url:
        context = browser.new_context()
        page = context.new_page()
        page.goto(url + "/")
        sync_api.expect(page.locator("#token-form")).to_be_visible()
        page.fill("#token", "wrong")
        page.click("#token-form button[type=submit]")
        sync_api.expect(page.locator("#token-message")).to_contain_text("not the server's")
        page.fill("#token", "page-token")
        page.click("#token-form button[type=submit]")
        sync_api.expect(page.locator("#token-form")).to_be_hidden()
        _search(page, "budget", k=2)
        sync_api.expect(page.locator("#hits > li")).to_have_count(2)
        context.close()
