"""Is a difference real? Bootstrap intervals and paired randomisation tests over queries.

Both resample *queries*, the unit a retrieval metric averages over (Smucker, Allan and
Carterette, 2007, found the paired randomisation test the one to use for IR metrics).
Seeds are fixed, so a report is reproducible.
"""

from __future__ import annotations

import numpy as np

SEED = 20070101


def bootstrap_interval(values: list[float], resamples: int = 2000, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean."""
    data = np.asarray(values, dtype=np.float64)
    if len(data) < 2:
        return (float(data.mean()) if len(data) else 0.0,) * 2
    rng = np.random.default_rng(SEED)
    means = np.empty(resamples)
    for start in range(0, resamples, 250):
        stop = min(start + 250, resamples)
        means[start:stop] = data[rng.integers(0, len(data), size=(stop - start, len(data)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def paired_randomization_p(a: list[float], b: list[float], resamples: int = 10000) -> float:
    """Two-sided p-value that systems a and b have the same mean, from per-query pairs.

    Under the null hypothesis the two systems' values for a query are exchangeable, so each
    per-query difference keeps or flips its sign at random.
    """
    diffs = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if not len(diffs) or not np.any(diffs):
        return 1.0
    observed = abs(diffs.mean())
    rng = np.random.default_rng(SEED)
    extreme = 0
    for start in range(0, resamples, 500):
        count = min(500, resamples - start)
        signs = rng.choice((-1.0, 1.0), size=(count, len(diffs)))
        extreme += int(np.sum(np.abs((signs * diffs).mean(axis=1)) >= observed - 1e-12))
    # Counting the observed assignment itself keeps p above 0 (Phipson and Smyth, 2010).
    return (extreme + 1) / (resamples + 1)
