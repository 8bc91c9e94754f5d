"""Metric values against cases computed by hand, with trec_eval's conventions."""

import math

import pytest

from pipeline.evaluation.metrics import (
    evaluate,
    long_doc_miss_rate,
    long_doc_misses,
    long_documents,
    mean,
    parse_metric,
    trec_order,
    without_self_hits,
)


def test_map_at_10_divides_by_all_relevant_documents():
    # Relevant a (rank 2) and b (rank 4) out of three relevant: (1/2 + 2/4) / 3.
    qrels = {"q": {"a": 1, "b": 1, "c": 2}}
    run = {"q": {"z": 0.9, "a": 0.8, "y": 0.7, "b": 0.6}}
    values = evaluate(qrels, run)["q"]
    assert values["map@10"] == pytest.approx(1 / 3)
    assert values["hit@1"] == 0.0
    assert values["mrr@10"] == pytest.approx(0.5)
    assert values["recall@10"] == pytest.approx(2 / 3)


def test_ndcg_uses_graded_relevance():
    qrels = {"q": {"a": 2, "b": 1}}
    run = {"q": {"b": 0.9, "a": 0.8}}
    dcg = (2**1 - 1) / math.log2(2) + (2**2 - 1) / math.log2(3)
    ideal = (2**2 - 1) / math.log2(2) + (2**1 - 1) / math.log2(3)
    # trec_eval's ndcg uses the grade itself as gain, not 2^grade - 1.
    dcg_linear = 1 / math.log2(2) + 2 / math.log2(3)
    ideal_linear = 2 / math.log2(2) + 1 / math.log2(3)
    value = evaluate(qrels, run)["q"]["ndcg@10"]
    assert value == pytest.approx(dcg_linear / ideal_linear)
    assert value != pytest.approx(dcg / ideal)


def test_mrr_at_10_ignores_a_first_hit_below_rank_10():
    qrels = {"q": {"hit": 1}}
    run = {"q": {f"d{i:02d}": 1.0 - i / 100 for i in range(10)} | {"hit": 0.5}}
    values = evaluate(qrels, run)["q"]
    assert values["mrr@10"] == 0.0
    assert values["recall@100"] == 1.0


def test_a_query_with_nothing_retrieved_scores_zero_instead_of_vanishing():
    qrels = {"answered": {"a": 1}, "unanswered": {"b": 1}}
    per_query = evaluate(qrels, {"answered": {"a": 1.0}})
    assert set(per_query) == {"answered", "unanswered"}
    assert mean(per_query, "hit@1") == 0.5


def test_grade_zero_is_not_relevant():
    per_query = evaluate({"q": {"a": 0, "b": 1}}, {"q": {"a": 0.9, "b": 0.1}})
    assert per_query["q"]["hit@1"] == 0.0
    assert per_query["q"]["map@10"] == pytest.approx(0.5)


def test_ties_are_broken_by_document_id_descending_as_trec_eval_does():
    assert trec_order({"a": 1.0, "c": 1.0, "b": 2.0}) == ["b", "c", "a"]
    per_query = evaluate({"q": {"a": 1}}, {"q": {"a": 1.0, "c": 1.0}})
    assert per_query["q"]["hit@1"] == 0.0


def test_metric_names_are_parsed_in_one_place():
    metric = parse_metric("MAP@10")
    assert (metric.name, metric.family, metric.k, metric.measure) == ("map@10", "map", 10, "map_cut")
    assert "divided by all relevant" in metric.definition
    with pytest.raises(ValueError, match="known: map@k"):
        parse_metric("f1@10")
    with pytest.raises(ValueError):
        parse_metric("map@0")


def test_long_document_miss_rate_pools_relevant_long_documents():
    doc_tokens = {"short1": 10, "short2": 12, "short3": 15, "long1": 500, "long2": 800}
    long_docs = long_documents(doc_tokens)
    assert long_docs == {"long1", "long2"}
    qrels = {"q1": {"long1": 1, "long2": 1, "short1": 1}, "q2": {"long2": 1}, "q3": {"short2": 1}}
    run = {"q1": {"long1": 0.9}, "q2": {"short3": 0.9}, "q3": {"short2": 0.9}}
    misses = long_doc_misses(qrels, run, long_docs)
    assert misses == {"q1": (2, 1), "q2": (1, 1)}
    assert long_doc_miss_rate(misses) == pytest.approx(2 / 3)
    assert long_doc_miss_rate({}) is None


def test_a_query_finding_itself_is_not_counted_when_it_is_in_the_corpus():
    run = {"q1": {"q1": 0.99, "d1": 0.5}, "q2": {"q2": 0.4}}
    assert without_self_hits(run, {"q1"}) == {"q1": {"d1": 0.5}, "q2": {"q2": 0.4}}
