"""Reciprocal rank fusion (RRF) of ranked lists, shared by the query API and the evaluation.

RRF scores a document ``sum(weight / (k + rank))`` over the lists it appears in. It needs
no score calibration between BM25 and cosine similarity, which live on unrelated scales.
"""

from __future__ import annotations

RRF_K = 60  # the constant of Cormack et al. (2009), used by most hybrid search engines

Run = dict[str, dict[str, float]]  # query id -> {document id: score}


def trec_order(scores: dict[str, float]) -> list[str]:
    """Document ids in trec_eval's ranking order: score descending, then id descending."""
    return sorted(scores, key=lambda doc: (scores[doc], doc), reverse=True)


def fuse(rankings: list[dict[str, float]], weights: list[float], depth: int = 100, k: int = RRF_K) -> dict[str, float]:
    """One query's fused ranking: the top ``depth`` ids with their RRF scores."""
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights):
        if weight == 0:
            continue
        for rank, doc in enumerate(trec_order(ranking), 1):
            scores[doc] = scores.get(doc, 0.0) + weight / (k + rank)
    return {doc: scores[doc] for doc in trec_order(scores)[:depth]}


def rrf(runs: list[Run], weights: list[float], depth: int = 100, k: int = RRF_K) -> Run:
    """:func:`fuse` for every query of several runs."""
    return {qid: fuse([run.get(qid, {}) for run in runs], weights, depth, k) for qid in set().union(*runs)}
