"""BM25 with tokens that work for English and Chinese."""

from pipeline.evaluation.lexical import BM25Retriever, tokenize


def test_chinese_is_cut_into_characters_and_bigrams_and_english_into_words():
    assert tokenize("公司合作 Wing-Flow") == ["公", "司", "合", "作", "公司", "司合", "合作", "wing", "flow"]
    assert tokenize("the wing", frozenset({"the"})) == ["wing"]


def test_bm25_finds_chinese_text_a_whitespace_tokenizer_would_miss():
    texts = ["光荣和ω-force开发的战国无双系列", "北京是中华人民共和国的首都", "the boundary layer of a wing"]
    index = BM25Retriever(["game", "capital", "wing"], texts)
    found = index.search(["战国无双是哪个公司开发的？", "中国的首都", "boundary layer"], k=2)
    assert [max(hits, key=hits.get) for hits in found] == ["game", "capital", "wing"]


def test_a_query_sharing_no_term_finds_nothing_rather_than_padding():
    index = BM25Retriever(["a", "b"], ["wing flow", "heat transfer"])
    assert index.search(["quantum chromodynamics"], k=2) == [{}]
    assert set(index.search(["wing"], k=2)[0]) == {"a"}
