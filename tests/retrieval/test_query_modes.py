"""query() in each mode, with a Chinese and an English question, and the fusion's language note."""

import shutil

import pytest

from pipeline import Retriever, ingest, query
from pipeline.errors import ConfigError

DOCS = ["procurement-zh.docx", "pdflatex-outline.pdf", "category-level.docx"]


@pytest.fixture
def stored(corpus, settings):
    ingest(corpus(*DOCS), config=settings)
    return settings


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_a_chinese_question_finds_the_budget_in_every_mode(stored, mode):
    hits = query("项目的预算金额是多少？", k=5, mode=mode, config=stored)
    assert hits and all(hit.mode == mode for hit in hits)
    assert any("预算金额" in hit.text for hit in hits)
    if mode != "dense":
        assert "预算金额" in hits[0].text and hits[0].source.endswith("procurement-zh.docx")


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_an_english_question_finds_its_heading_in_every_mode(stored, mode):
    hits = query("Heading 1 Whenever I find myself growing", k=3, mode=mode, config=stored)
    assert hits[0].source.endswith("category-level.docx")
    assert hits[0].text.startswith("A Heading 1")


def test_a_language_the_model_lacks_is_ranked_by_bm25_and_the_hit_says_so(stored):
    chinese = query("项目的预算金额是多少？", k=3, config=stored)
    assert chinese[0].language == "zh" and chinese[0].dense_weight == 0.0
    assert "does not cover 'zh'" in chinese[0].note
    assert chinese[0].dense_score is None and chinese[0].lexical_score > 0
    english = query("Heading 1 Whenever I find myself growing", k=3, config=stored)
    assert english[0].language == "en" and 0 < english[0].dense_weight < 1 and english[0].note == ""
    assert english[0].dense_score is not None and english[0].lexical_score is not None


def test_a_filter_applies_to_the_lexical_side_too(stored):
    for mode in ("hybrid", "lexical"):
        hits = query("Heading text", k=5, where={"file_type": "pdf"}, mode=mode, config=stored)
        assert hits and all(hit.metadata["file_type"] == "pdf" for hit in hits)


@pytest.mark.parametrize("text", ["", "   ", "？！。", "?!... --"])
def test_a_query_without_words_is_refused_clearly(stored, text):
    with pytest.raises(ConfigError, match="no words"):
        query(text, config=stored)


def test_an_unknown_mode_is_refused(stored):
    with pytest.raises(ConfigError, match="hybrid, dense, lexical"):
        Retriever(settings=stored, mode="fuzzy")


def test_without_its_lexical_index_hybrid_falls_back_to_dense_and_says_so(stored):
    from pipeline.retrieval.lexical import lexical_index_path

    shutil.rmtree(lexical_index_path(stored.store.path, "docs-fake"))  # as in a store made before the index existed
    hits = Retriever(settings=stored).search("Heading 1 Whenever I find myself growing", k=3)
    assert hits[0].mode == "dense" and "run `ingest` again" in hits[0].note
    with pytest.raises(ConfigError, match="no lexical index"):
        Retriever(settings=stored, mode="lexical").search("Heading", k=3)
