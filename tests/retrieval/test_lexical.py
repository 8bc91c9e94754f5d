"""The BM25 index: Lucene's scores (as bm25s computes them), and per-document updates equal to a rebuild."""

import bm25s
import numpy as np
import pytest

from pipeline.retrieval.lexical import K1, B, IndexedChunk, LexicalIndex
from pipeline.retrieval.tokens import Tokenizer

TEXTS = {
    "a": "the boundary layer of a wing in a propeller slipstream",
    "b": "heat transfer in the boundary layer of a hypersonic flow",
    "c": "buckling of thin cylindrical shells under axial compression",
    "d": "wing flutter and the wing boundary: flutter of wings at supersonic speed",
    "e": "北京是中华人民共和国的首都",
    "f": "光荣和ω-force开发的战国无双系列",
}
TOKENIZER = Tokenizer()


def _index(texts=TEXTS, path=None) -> LexicalIndex:
    index = LexicalIndex(path, tokenizer_fingerprint=TOKENIZER.fingerprint)
    index.rebuild(IndexedChunk(key, key, TOKENIZER.term_counts(text)) for key, text in texts.items())
    return index


@pytest.mark.parametrize("query", ["boundary layer of wings", "wing flutter", "shells", "中国的首都"])
def test_scores_equal_bm25s_lucene_with_the_same_terms(query):
    ids = list(TEXTS)
    reference = bm25s.BM25(method="lucene", k1=K1, b=B)
    reference.index([TOKENIZER.tokenize(TEXTS[key]) for key in ids], show_progress=False)
    expected = reference.get_scores(TOKENIZER.tokenize(query))
    index = LexicalIndex(None, tokenizer_fingerprint=TOKENIZER.fingerprint)
    index.rebuild(IndexedChunk(key, key, TOKENIZER.term_counts(TEXTS[key])) for key in ids)
    got = dict(index.search(TOKENIZER.tokenize(query), k=len(ids)))
    assert got, query
    # tantivy scales every score by (k1 + 1), as Lucene before 8 did; the ranking is the same.
    for key, score in zip(ids, expected):
        assert got.get(key, 0.0) == pytest.approx((K1 + 1) * float(score), rel=1e-3)


def test_results_are_best_first_and_only_chunks_sharing_a_term():
    found = _index().search(TOKENIZER.tokenize("wing flutter"), k=10)
    assert [key for key, _ in found][0] == "d"
    assert {key for key, _ in found} == {"a", "d"}
    assert all(np.diff([score for _, score in found]) <= 0)
    assert _index().search(TOKENIZER.tokenize("quantum chromodynamics"), k=5) == []


def test_replacing_and_deleting_documents_equals_a_rebuild(tmp_path):
    index = _index(path=tmp_path / "lexical")
    changed = {**TEXTS, "a": "a completely new text about shells"}
    index.replace_doc("a", [IndexedChunk("a", "a", TOKENIZER.term_counts(changed["a"]))])
    index.replace_doc("a", [IndexedChunk("a", "a", TOKENIZER.term_counts(changed["a"]))])  # idempotent
    index.delete_doc("c")
    index.delete_doc("c")
    del changed["c"]
    rebuilt = _index(changed)
    assert index.snapshot() == rebuilt.snapshot()
    assert index.count() == rebuilt.count() == len(changed)
    # Deleted chunks count in BM25's statistics until tantivy merges their segment away (as in
    # Lucene), so scores drift a little from a rebuild's; the rankings do not.
    for query in ("shells", "boundary layer", "wing flutter"):
        assert [key for key, _ in index.search(TOKENIZER.tokenize(query), 10)] == [
            key for key, _ in rebuilt.search(TOKENIZER.tokenize(query), 10)
        ]


def test_an_index_made_with_another_tokenizer_asks_for_a_rebuild(tmp_path):
    path = tmp_path / "lexical"
    _index(path=path).close()
    assert LexicalIndex(path, tokenizer_fingerprint=TOKENIZER.fingerprint).is_current
    other = Tokenizer(chinese="bigrams")
    assert not LexicalIndex(path, tokenizer_fingerprint=other.fingerprint).is_current
    assert not LexicalIndex(tmp_path / "new", tokenizer_fingerprint=TOKENIZER.fingerprint).is_current
