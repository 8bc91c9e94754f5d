"""Reciprocal rank fusion, and weights chosen on held-apart queries."""

import pytest

from pipeline.evaluation.metrics import evaluate, mean
from pipeline.evaluation.tuned_fusion import RRF_K, query_fold, rrf, tuned_rrf


def test_rrf_adds_weighted_reciprocal_ranks():
    fused = rrf([{"q": {"a": 3.0, "b": 2.0}}, {"q": {"b": 0.9, "c": 0.1}}], [1.0, 1.0])
    assert fused["q"]["b"] == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 1))
    assert fused["q"]["a"] == pytest.approx(1 / (RRF_K + 1))
    assert list(fused["q"])[0] == "b"


def test_folds_are_stable_and_split_the_queries():
    ids = [str(i) for i in range(200)]
    folds = [query_fold(qid) for qid in ids]
    assert folds == [query_fold(qid) for qid in ids]
    assert 60 < sum(folds) < 140


def test_tuned_fusion_falls_back_to_lexical_when_the_dense_run_is_useless():
    qids = [f"q{i}" for i in range(40)]
    qrels = {qid: {f"{qid}-rel": 1} for qid in qids}
    lexical = {qid: {f"{qid}-rel": 2.0, "noise": 1.0} for qid in qids}
    # The dense run never finds the relevant document; its top hit ties with it under plain RRF
    # and wins the tie (trec_eval breaks ties by id, descending).
    dense = {qid: {f"zz-junk{j}": 1.0 - j / 100 for j in range(20)} for qid in qids}
    plain = rrf([lexical, dense], [1.0, 1.0])
    tuned = tuned_rrf(lexical, dense, qrels)
    assert mean(evaluate(qrels, plain), "hit@1") == 0.0
    assert mean(evaluate(qrels, tuned.run), "hit@1") == 1.0
    assert all(weight < 0.5 for weight in tuned.dense_weights)
