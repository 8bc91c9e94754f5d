"""Bootstrap intervals and the paired randomisation test."""

import numpy as np

from pipeline.evaluation.stats import bootstrap_interval, paired_randomization_p


def test_identical_systems_are_not_different():
    values = [0.1, 0.5, 0.9, 0.3]
    assert paired_randomization_p(values, values) == 1.0


def test_a_consistent_gain_over_many_queries_is_significant_and_a_coin_flip_is_not():
    rng = np.random.default_rng(1)
    base = rng.uniform(0, 1, 200)
    assert paired_randomization_p(list(base + 0.05), list(base)) < 0.001
    noise = rng.normal(0, 0.1, 200)
    assert paired_randomization_p(list(base + noise - noise.mean()), list(base)) > 0.5


def test_bootstrap_interval_brackets_the_mean_and_is_reproducible():
    values = list(np.random.default_rng(2).uniform(0, 1, 100))
    low, high = bootstrap_interval(values)
    assert low < float(np.mean(values)) < high
    assert high - low < 0.25
    assert bootstrap_interval(values) == (low, high)
