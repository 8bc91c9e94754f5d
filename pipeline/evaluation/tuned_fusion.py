"""Tuned hybrid fusion for the evaluation: RRF whose dense weight is chosen on held-apart queries.

The fusion itself (:func:`pipeline.retrieval.fusion.rrf`) is the query API's. Plain RRF weighs
both runs equally, which can fall far below BM25 alone when the dense model does not understand
the corpus's language. The tuned fusion picks the dense weight per query fold on the *other*
fold (two-fold cross-fitting): every query is scored with a weight chosen without it, and the
weight may go to 0 or 1, so the fusion can fall back to the better single system instead of
silently dragging it down.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pipeline.evaluation.metrics import Qrels, evaluate, mean
from pipeline.retrieval.fusion import RRF_K, Run, rrf  # noqa: F401 - RRF_K re-exported

WEIGHT_GRID = tuple(i / 10 for i in range(11))


def query_fold(qid: str) -> int:
    """A stable fold (0 or 1) for a query, independent of query order."""
    return hashlib.sha256(qid.encode()).digest()[0] & 1


@dataclass(frozen=True)
class TunedFusion:
    run: Run
    # Dense weight chosen on fold 1 (applied to fold 0) and on fold 0 (applied to fold 1).
    dense_weights: tuple[float, float]


def _subset(run: Run, ids: set[str]) -> Run:
    return {qid: ranking for qid, ranking in run.items() if qid in ids}


def best_dense_weight(lexical: Run, dense: Run, qrels: Qrels, metric: str = "map@10") -> float:
    """The dense weight on :data:`WEIGHT_GRID` that maximises ``metric`` for these queries.

    Ties go to the weight nearest an even mix, the least committed choice.
    """

    def score(weight: float) -> float:
        return round(mean(evaluate(qrels, rrf([lexical, dense], [1 - weight, weight]), (metric,)), metric), 12)

    return max(WEIGHT_GRID, key=lambda weight: (score(weight), -abs(weight - 0.5)))


def tuned_rrf(lexical: Run, dense: Run, qrels: Qrels, metric: str = "map@10") -> TunedFusion:
    """RRF with dense weight ``w`` (lexical ``1 - w``), ``w`` chosen on the other fold's queries."""
    folds = [{qid: judged for qid, judged in qrels.items() if query_fold(qid) == fold} for fold in (0, 1)]
    chosen = []
    run: Run = {}
    for fold in (0, 1):
        tuning = folds[1 - fold] or folds[fold]  # a one-query set has only one fold
        weight = best_dense_weight(_subset(lexical, set(tuning)), _subset(dense, set(tuning)), tuning, metric)
        chosen.append(weight)
        ids = set(folds[fold])
        run.update(rrf([_subset(lexical, ids), _subset(dense, ids)], [1 - weight, weight]))
    return TunedFusion(run, (chosen[0], chosen[1]))
