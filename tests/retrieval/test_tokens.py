"""BM25 terms for English and Chinese."""

import pickle

import pytest

from pipeline.errors import ConfigError
from pipeline.retrieval.lexical import IndexedChunk, LexicalIndex
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


def test_traditional_text_gets_the_terms_of_its_simplified_form():
    tokenizer = Tokenizer()
    assert tokenizer.chinese == "simplified-jieba-bigrams"
    traditional = tokenizer.tokenize("國家發展委員會負責經濟規劃與預算審議")
    assert traditional == tokenizer.tokenize("国家发展委员会负责经济规划与预算审议")
    assert {"国家", "发展", "委员会", "预算"} <= set(traditional)


def test_a_traditional_query_finds_the_simplified_chunk_in_the_lexical_index():
    tokenizer = Tokenizer()
    index = LexicalIndex(None, tokenizer_fingerprint=tokenizer.fingerprint)
    chunks = {"budget": "项目的预算金额为七十万元，由财政局审核。", "weather": "台风过境，气象局发布暴雨预警。"}
    index.rebuild(IndexedChunk(key, key, tokenizer.term_counts(text)) for key, text in chunks.items())
    hits = index.search(tokenizer.tokenize("專案的預算金額是多少？由哪個局審核？"), 2)
    assert hits[0][0] == "budget"
    # Without the conversion the traditional characters meet nothing but the shared 局.
    plain = Tokenizer(chinese="jieba")
    assert not set(plain.tokenize("預算金額")) & set(plain.tokenize(chunks["budget"]))


def test_the_default_keeps_words_and_pairs():
    tokens = Tokenizer().tokenize("預算金額")
    assert {"预算", "金额", "预", "算金"} <= set(tokens)
    assert tokens.count("预算") == 2  # a word that is also a pair counts twice


def test_the_conversion_is_in_the_fingerprint():
    assert Tokenizer(chinese="simplified-jieba").fingerprint != Tokenizer(chinese="jieba").fingerprint
    assert Tokenizer(chinese="simplified-bigrams").fingerprint != Tokenizer(chinese="bigrams").fingerprint


NAME = "行政院农业委员会水土保持局"


def test_a_user_dictionary_keeps_a_name_whole_and_changes_the_fingerprint(tmp_path):
    assert NAME not in Tokenizer().tokenize(f"{NAME}发布公告")
    dictionary = tmp_path / "names.txt"
    # Written in traditional characters: the entry is converted like the text it must meet.
    dictionary.write_text("行政院農業委員會水土保持局 10 nt\n", encoding="utf-8")
    tokenizer = Tokenizer(user_dictionary=dictionary)
    assert NAME in tokenizer.tokenize(f"{NAME}发布公告")
    assert NAME in tokenizer.tokenize("行政院農業委員會水土保持局發布公告")
    assert tokenizer.fingerprint != Tokenizer().fingerprint
    dictionary.write_text("行政院農業委員會水土保持局 10 nt\n水土保持局\n", encoding="utf-8")
    assert Tokenizer(user_dictionary=dictionary).fingerprint != tokenizer.fingerprint


def test_a_tokenizer_carries_its_user_dictionary_to_workers(tmp_path):
    dictionary = tmp_path / "names.txt"
    dictionary.write_text(f"{NAME}\n", encoding="utf-8")
    tokenizer = Tokenizer(user_dictionary=dictionary)
    dictionary.unlink()  # a worker uses the words the driver read, not the file as it is now
    copy = pickle.loads(pickle.dumps(tokenizer))
    assert copy.fingerprint == tokenizer.fingerprint
    assert NAME in copy.tokenize(f"{NAME}发布公告")


def test_an_unreadable_user_dictionary_is_a_config_error_naming_it(tmp_path):
    with pytest.raises(ConfigError, match="missing.dict"):
        Tokenizer(user_dictionary=tmp_path / "missing.dict")
    latin1 = tmp_path / "latin1.dict"
    latin1.write_bytes("café\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="latin1.dict"):
        Tokenizer(user_dictionary=latin1)


def test_a_character_that_opencc_makes_supplementary_is_kept():
    # t2s turns 綝 into U+2C62D, outside the basic CJK block.
    assert "\U0002c62d" in Tokenizer().tokenize("王綝")
