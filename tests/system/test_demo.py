"""`make demo` as a user runs it: the shipped samples, the default model, both sample questions.
Slow (the real model): run with `pytest -m slow`."""

import shutil
from pathlib import Path

import pytest

from pipeline import ingest, query
from pipeline.config import load_settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_settings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    config = folder / "config.yaml"
    shutil.copy(ROOT / "demo" / "config.yaml", config)  # its store path is relative: under tmp
    settings = load_settings(config)
    report = ingest(ROOT / "samples", config=settings)
    assert report.files_failed == 0 and report.truncated_chunks == 0
    return settings


def test_the_english_question_finds_the_layoutparser_paper(demo_settings):
    hits = query("What is LayoutParser used for?", k=3, config=demo_settings)
    assert all(hit.source.endswith("layout-parser-paper-fast.pdf") for hit in hits)
    assert hits[0].mode == "hybrid" and hits[0].dense_score is not None and hits[0].lexical_score is not None


def test_the_chinese_question_finds_the_budget(demo_settings):
    hits = query("项目的预算金额是多少？", k=3, config=demo_settings)
    # The default model embeds Chinese with e5-small: both sides answer, fused.
    assert hits[0].mode == "hybrid" and hits[0].note == "" and hits[0].dense_weight > 0
    assert any(hit.dense_score is not None for hit in hits)
    assert all(hit.source.endswith("procurement-zh.docx") for hit in hits)
    # The best hit states the budget: the requirements' table row (35万元/年 for two years), under
    # the heading path the notice's own numbering gives it.
    assert "预算金额" in hits[0].text and "35万元/年" in hits[0].text
    assert hits[0].heading_path == "第二章 采购项目需求 > 三、项目基本情况"
    # The notice's own statement of the amount is among the first hits too.
    assert any("预算金额(元):700000" in hit.text for hit in query("项目的预算金额是多少？", k=8, config=demo_settings))
