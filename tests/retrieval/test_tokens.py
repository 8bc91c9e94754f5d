"""BM25 terms for English and Chinese."""

import pickle

import pytest

from pipeline.retrieval.tokens import Tokenizer


def test_english_words_are_stemmed_and_stop_words_dropped():
    tokens = Tokenizer().tokenize("The turbulent flows over the wings of a turbulence tunnel")
    assert tokens == ["turbul", "flow", "over", "wing", "turbul", "tunnel"]


def test_chinese_is_cut_into_dictionary_words():
    tokens = Tokenizer().tokenize("项目的预算金额是多少？")
    assert "预算" in tokens and "金额" in tokens
    assert "？" not in tokens


def test_chinese_bigrams_need_no_dictionary():
    assert Tokenizer(chinese="bigrams").tokenize("公司合作 Wing-Flow") == [
        "公", "司", "合", "作", "公司", "司合", "合作", "wing", "flow",
    ]


def test_mixed_text_keeps_numbers_and_both_scripts():
    tokens = Tokenizer().tokenize("预算金额（元）：700000 budget")
    assert {"预算", "700000", "budget"} <= set(tokens)


def test_a_tokenizer_travels_to_worker_processes_with_its_settings():
    tokenizer = Tokenizer(chinese="bigrams", stem=False)
    copy = pickle.loads(pickle.dumps(tokenizer))
    assert copy.fingerprint == tokenizer.fingerprint
    assert copy.tokenize("wings 合作") == tokenizer.tokenize("wings 合作")
    assert Tokenizer().fingerprint != tokenizer.fingerprint


def test_unknown_chinese_choice_is_refused():
    with pytest.raises(ValueError, match="jieba"):
        Tokenizer(chinese="words")  # type: ignore[arg-type]
