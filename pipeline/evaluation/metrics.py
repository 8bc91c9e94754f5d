"""Retrieval metrics, computed by pytrec_eval (trec_eval's own code) from runs and qrels.

A run is ``{query id: {doc id: score}}`` (ranx's shape). Metric names such as ``map@10`` are
parsed here and nowhere else. Conventions are trec_eval's: a document is relevant when its
grade is at least 1; MAP@10 divides by *all* relevant documents of a query, not only those
that fit in the top 10; ties in score are broken by document id, descending.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytrec_eval

from pipeline.retrieval.fusion import Run, trec_order  # noqa: F401 - re-exported for the evaluation

Qrels = dict[str, dict[str, int]]

# Reported in this order; the first two are the headline numbers.
DEFAULT_METRICS = ("map@10", "hit@1", "ndcg@10", "recall@10", "recall@100", "mrr@10")

# name -> (trec_eval measure, how the report defines it)
_MEASURES = {
    "map": ("map_cut", "mean average precision over the top k, divided by all relevant documents"),
    "ndcg": ("ndcg_cut", "normalised discounted cumulative gain over the top k, with graded relevance"),
    "recall": ("recall", "share of the relevant documents found in the top k"),
    "hit": ("success", "1 when a relevant document is in the top k, else 0"),
    "mrr": ("recip_rank", "1 / rank of the first relevant document in the top k (0 when none)"),
    "p": ("P", "share of the top k that is relevant"),
}

LONG_DOC_MISS_RATE = "long_doc_miss_rate"
LONG_DOC_DEFINITION = (
    "of the (query, relevant document) pairs whose document is in the longest quarter of the "
    "corpus by tokens, the share missing from the top 10"
)


@dataclass(frozen=True)
class Metric:
    name: str
    family: str
    k: int

    @property
    def measure(self) -> str:
        return _MEASURES[self.family][0]

    @property
    def definition(self) -> str:
        return _MEASURES[self.family][1].replace("top k", f"top {self.k}")


def parse_metric(name: str) -> Metric:
    """``"map@10"`` -> Metric("map@10", "map", 10); an unknown name lists the known ones."""
    family, _, cutoff = name.lower().partition("@")
    if family not in _MEASURES or not cutoff.isdigit() or int(cutoff) < 1:
        known = ", ".join(f"{f}@k" for f in _MEASURES)
        raise ValueError(f"unknown metric '{name}' (known: {known}, e.g. map@10)")
    return Metric(name.lower(), family, int(cutoff))


def without_self_hits(run: Run, query_ids: set[str]) -> Run:
    """Drop the document with the query's own id, for the queries in ``query_ids``.

    Collections such as ArguAna or Quora hold each query as a corpus document too; finding
    the query itself is no retrieval, and BEIR and MTEB drop it before scoring.
    """
    return {
        qid: {doc: s for doc, s in scores.items() if doc != qid} if qid in query_ids else scores
        for qid, scores in run.items()
    }


def top_k(run: Run, k: int) -> Run:
    return {qid: {doc: scores[doc] for doc in trec_order(scores)[:k]} for qid, scores in run.items()}


def evaluate(qrels: Qrels, run: Run, metrics: tuple[str, ...] = DEFAULT_METRICS) -> dict[str, dict[str, float]]:
    """Per-query values ``{query id: {metric: value}}`` for every judged query.

    A judged query missing from the run (nothing retrieved) scores 0 rather than being
    dropped, so a system cannot look better by answering fewer queries.
    """
    parsed = [parse_metric(name) for name in metrics]
    per_query = {qid: {metric.name: 0.0 for metric in parsed} for qid in qrels}
    plain = [metric for metric in parsed if metric.family != "mrr"]
    if plain:
        evaluator = pytrec_eval.RelevanceEvaluator(qrels, {f"{m.measure}.{m.k}" for m in plain})
        for qid, values in evaluator.evaluate(run).items():
            for metric in plain:
                per_query[qid][metric.name] = float(values[f"{metric.measure}_{metric.k}"])
    # mrr@k is trec_eval's recip_rank (which has no cutoff) on the run cut at k.
    for metric in (m for m in parsed if m.family == "mrr"):
        evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"})
        for qid, values in evaluator.evaluate(top_k(run, metric.k)).items():
            per_query[qid][metric.name] = float(values["recip_rank"])
    return per_query


def mean(per_query: dict[str, dict[str, float]], metric: str) -> float:
    values = [values[metric] for values in per_query.values()]
    return math.fsum(values) / len(values) if values else 0.0


def long_documents(doc_tokens: dict[str, int]) -> set[str]:
    """Documents in the longest quarter of the corpus (at or above the 75th percentile of length)."""
    if not doc_tokens:
        return set()
    lengths = sorted(doc_tokens.values())
    threshold = lengths[min(len(lengths) - 1, (3 * len(lengths)) // 4)]
    return {doc for doc, tokens in doc_tokens.items() if tokens >= threshold}


def long_doc_misses(qrels: Qrels, run: Run, long_docs: set[str], k: int = 10) -> dict[str, tuple[int, int]]:
    """Per query: (relevant long documents, how many of them are missing from the top ``k``)."""
    top = top_k(run, k)
    counts = {}
    for qid, judged in qrels.items():
        relevant_long = {doc for doc, grade in judged.items() if grade >= 1 and doc in long_docs}
        if relevant_long:
            counts[qid] = (len(relevant_long), len(relevant_long - set(top.get(qid, {}))))
    return counts


def long_doc_miss_rate(misses: dict[str, tuple[int, int]]) -> float | None:
    """Pooled over all (query, relevant long document) pairs; None when there are none."""
    total = sum(pair[0] for pair in misses.values())
    return sum(pair[1] for pair in misses.values()) / total if total else None
