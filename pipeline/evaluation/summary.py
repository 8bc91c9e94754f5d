"""From scored runs to the numbers a report shows: means, intervals, and tests against the best."""

from __future__ import annotations

from pipeline.evaluation.metrics import LONG_DOC_MISS_RATE, long_doc_miss_rate
from pipeline.evaluation.runner import EvaluationResult, SystemRun
from pipeline.evaluation.stats import bootstrap_interval, paired_randomization_p

# Metrics shown with a bootstrap interval (the headline ones; intervals cost a little time each).
INTERVAL_METRICS = ("map@10", "hit@1")
SIGNIFICANCE_LEVEL = 0.05


def _best(systems: list[SystemRun], metric: str) -> SystemRun:
    return max(systems, key=lambda system: system.mean(metric))


def summarise(result: EvaluationResult) -> list[dict[str, object]]:
    """One row per (mode, system), in the result's order, ready for JSON."""
    rows = []
    for mode in result.modes:
        systems = [system for system in result.systems if system.mode == mode]
        best = {metric: _best(systems, metric) for metric in result.metrics}
        for system in systems:
            row: dict[str, object] = {"model": system.system, "kind": system.kind, "mode": mode}
            for metric in result.metrics:
                row[metric] = round(system.mean(metric), 4)
            miss_rate = long_doc_miss_rate(system.long_misses)
            row[LONG_DOC_MISS_RATE] = None if miss_rate is None else round(miss_rate, 4)
            row["docs_per_s"] = None if system.docs_per_s is None else round(system.docs_per_s, 1)
            row["speed_cached"] = system.speed_cached
            row["covers_language"] = system.covers_language
            row["interval_95"] = {
                metric: [round(v, 4) for v in bootstrap_interval(_values(system, metric))]
                for metric in INTERVAL_METRICS if metric in result.metrics
            }
            row["best"] = [metric for metric in result.metrics if best[metric] is system]
            row["p_vs_best"] = {
                metric: round(paired_randomization_p(_values(system, metric), _values(best[metric], metric)), 4)
                for metric in result.metrics if best[metric] is not system
            }
            row.update(system.details)
            rows.append(row)
    return rows


def _values(system: SystemRun, metric: str) -> list[float]:
    return [system.per_query[qid][metric] for qid in sorted(system.per_query)]


def significantly_below_best(row: dict[str, object], metric: str) -> bool:
    p_values = row.get("p_vs_best") or {}
    return metric in p_values and p_values[metric] < SIGNIFICANCE_LEVEL  # type: ignore[operator]
