"""Dense weights for hybrid search, chosen from ingest-eval's saved rankings.

For every model and every collection, fuses the saved BM25 and dense rankings (beir mode,
``runs/beir/*.trec``) with the query API's own fusion at dense weights 0, 0.1, ..., 1 and
prints MAP@10 for each, beside BM25's and the model's own. The weight registered per model
and language in config.yaml (``dense_weights``) is the one with the best mean MAP@10 over the
collections of that language, among the weights whose fusion is at least as good as both
parts on every one of them.

    python bench/fusion_weights.py eval-report/cranfield-beir eval-report/cisi-beir eval-report/cmrc2018_retrieval-beir
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

from pipeline.evaluation.datasets import load_dataset
from pipeline.evaluation.fusion import WEIGHT_GRID
from pipeline.evaluation.metrics import evaluate, mean, without_self_hits
from pipeline.retrieval.fusion import RRF_K, Run, fuse


def read_run(path: Path) -> Run:
    run: Run = defaultdict(dict)
    for line in path.read_text().splitlines():
        qid, _, doc, _, score, _ = line.split()
        run[qid][doc] = float(score)
    return dict(run)


def main(reports: list[str]) -> None:
    table: dict[tuple[str, str], dict[str, dict[float, float]]] = defaultdict(dict)
    for report in map(Path, reports):
        results = json.loads((report / "results.json").read_text())
        dataset = load_dataset(results["dataset_path"], split=results["split"])
        language = results["language"]
        runs = report / "runs" / "beir"
        bm25 = read_run(runs / "bm25.trec")
        for row in results["results"]:
            if row["kind"] != "dense":
                continue
            dense = read_run(runs / f"{row['model']}.trec")
            scores = {}
            for weight in WEIGHT_GRID:
                fused = {q: fuse([bm25.get(q, {}), dense.get(q, {})], [1 - weight, weight], 100, RRF_K) for q in dataset.queries}
                fused = without_self_hits(fused, dataset.queries_in_corpus)
                scores[weight] = mean(evaluate(dataset.qrels, fused, ("map@10",)), "map@10")
            table[(row["model"], language)][dataset.name] = scores
            print(f"{dataset.name:20s} {row['model']:14s} " + " ".join(f"{w:.1f}:{s:.4f}" for w, s in scores.items()), flush=True)
    print()
    for (model, language), sets in sorted(table.items()):
        # Weight 0 is BM25 alone and weight 1 the model alone: a fusion must match or beat both.
        allowed = [w for w in WEIGHT_GRID if all(s[w] >= max(s[0.0], s[1.0]) - 1e-12 for s in sets.values())]
        best = max(allowed, key=lambda w: (sum(s[w] for s in sets.values()), -w), default=None)
        print(f"{model:14s} {language}: dense weight {best} over {', '.join(sets)}")


if __name__ == "__main__":
    main(sys.argv[1:])
