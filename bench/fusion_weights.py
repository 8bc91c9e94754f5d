"""Dense weights for hybrid search, chosen from ingest-eval's saved rankings, and judged cross-fitted.

For every model and every collection, fuses the saved BM25 and dense rankings (beir mode,
``runs/beir/*.trec``) with the query API's own fusion at dense weights 0, 0.1, ..., 1 and
prints MAP@10 for each, beside BM25's (weight 0) and the model's own (weight 1).

The weight registered per model and language in config.yaml (``dense_weights``) is chosen over
all collections of that language together (for Chinese: CMRC 2018's extractive questions and
QBQTC's real search queries) by :func:`choose`. A weight picked on the same queries it is scored
on flatters itself, so two honest figures are printed beside it for every collection:

- cross-fitted: the queries are cut in two stable folds; each fold is scored with the weight
  the rule picks on the other fold of every collection (no query helps choose its own weight);
- held out: the collection is scored with the weight picked on the other collections alone
  (how a weight carries over to a kind of question it never saw).

    python bench/fusion_weights.py eval-report/cranfield-beir eval-report/cisi-beir \\
        eval-report/cmrc2018_retrieval-beir eval-report/qbqtc-beir
"""

from __future__ import annotations

import json
import math
import sys
from collections import defaultdict
from pathlib import Path

from pipeline.evaluation.datasets import load_dataset
from pipeline.evaluation.metrics import evaluate, without_self_hits
from pipeline.evaluation.tuned_fusion import WEIGHT_GRID, query_fold
from pipeline.retrieval.fusion import RRF_K, Run, fuse

PerQuery = dict[float, dict[str, float]]  # dense weight -> {query id: MAP@10}


def read_run(path: Path) -> Run:
    run: Run = defaultdict(dict)
    for line in path.read_text().splitlines():
        qid, _, doc, _, score, _ = line.split()
        run[qid][doc] = float(score)
    return dict(run)


def per_query_scores(bm25: Run, dense: Run, dataset) -> PerQuery:
    """MAP@10 of every judged query at every weight of the grid."""
    scores: PerQuery = {}
    for weight in WEIGHT_GRID:
        fused = {q: fuse([bm25.get(q, {}), dense.get(q, {})], [1 - weight, weight], 100, RRF_K) for q in dataset.queries}
        fused = without_self_hits(fused, dataset.queries_in_corpus)
        scores[weight] = {qid: row["map@10"] for qid, row in evaluate(dataset.qrels, fused, ("map@10",)).items()}
    return scores


def mean_of(scores: dict[str, float], queries: set[str] | None = None) -> float:
    values = [value for qid, value in scores.items() if queries is None or qid in queries]
    return math.fsum(values) / len(values) if values else 0.0


# A fusion may fall this far below the better of its two parts on one collection: CMRC 2018's
# extractive questions favour BM25 so strongly that no dense weight above 0 stays level with it
# there, while on QBQTC's real queries every weight from 0.1 to 0.9 beats BM25 by more.
TOLERANCE = 0.005


def choose(sets: dict[str, PerQuery], folds: dict[str, set[str] | None]) -> float:
    """The rule: never more than TOLERANCE below either part on any collection; among those, plain
    equal-weight RRF (0.5) when its mean MAP@10 is within TOLERANCE of the best (it carried over to
    a held-out English set where tuned weights did not), else the best mean, ties nearest 0.5."""
    means = {name: {w: mean_of(scores[w], folds[name]) for w in WEIGHT_GRID} for name, scores in sets.items()}
    allowed = [w for w in WEIGHT_GRID if all(m[w] >= max(m[0.0], m[1.0]) - TOLERANCE for m in means.values())]
    # With no weight close to both parts everywhere, the better part overall is the honest choice.
    candidates = allowed or [0.0, 1.0]

    def total(w: float) -> float:
        return round(sum(m[w] for m in means.values()), 9)

    best = max(candidates, key=lambda w: (total(w), -abs(w - 0.5)))
    if 0.5 in candidates and total(0.5) >= total(best) - TOLERANCE * len(means):
        return 0.5
    return best


def cross_fitted(sets: dict[str, PerQuery]) -> tuple[dict[str, float], tuple[float, float]]:
    """Each collection's MAP@10 with every query scored at a weight chosen on the other fold."""
    chosen = []
    totals: dict[str, list[float]] = {name: [] for name in sets}
    for fold in (0, 1):
        tuning = {name: {q for q in scores[0.0] if query_fold(q) != fold} for name, scores in sets.items()}
        weight = choose(sets, tuning)
        chosen.append(weight)
        for name, scores in sets.items():
            totals[name].extend(value for q, value in scores[weight].items() if query_fold(q) == fold)
    return {name: math.fsum(values) / len(values) for name, values in totals.items()}, (chosen[0], chosen[1])


def main(reports: list[str]) -> None:
    table: dict[tuple[str, str], dict[str, PerQuery]] = defaultdict(dict)
    for report in map(Path, reports):
        results = json.loads((report / "results.json").read_text())
        dataset = load_dataset(results["dataset_path"], split=results["split"])
        runs = report / "runs" / "beir"
        bm25 = read_run(runs / "bm25.trec")
        for row in results["results"]:
            if row["kind"] != "dense":
                continue
            scores = per_query_scores(bm25, read_run(runs / f"{row['model']}.trec"), dataset)
            table[(row["model"], results["language"])][dataset.name] = scores
            print(f"{dataset.name:20s} {row['model']:14s} "
                  + " ".join(f"{w:.1f}:{mean_of(s):.4f}" for w, s in scores.items()), flush=True)
    print()
    for (model, language), sets in sorted(table.items()):
        weight = choose(sets, dict.fromkeys(sets))
        fitted, fold_weights = cross_fitted(sets)
        print(f"{model} ({language}): dense weight {weight} over {', '.join(sets)}; "
              f"cross-fitted folds chose {fold_weights[0]} and {fold_weights[1]}")
        print(f"  {'collection':20s} {'BM25':>7s} {'dense':>7s} {'RRF 0.5':>7s} {'chosen':>7s} {'x-fit':>7s} {'held out':>14s}")
        for name, scores in sets.items():
            others = {other: s for other, s in sets.items() if other != name}
            held = choose(others, dict.fromkeys(others)) if others else None
            held_text = f"{mean_of(scores[held]):.4f} (w {held})" if held is not None else "–"
            print(f"  {name:20s} {mean_of(scores[0.0]):7.4f} {mean_of(scores[1.0]):7.4f} {mean_of(scores[0.5]):7.4f} "
                  f"{mean_of(scores[weight]):7.4f} {fitted[name]:7.4f} {held_text:>14s}")


if __name__ == "__main__":
    main(sys.argv[1:])
