"""A local Ray cluster for the engine tests: 2 CPUs, a small object store, no dashboard."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="the Ray engine tests need the 'distributed' extra")
    # Ray 2.60 turns token auth on by default; a throwaway local test cluster does without it.
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    # Four logical CPUs on the two cores: an embedding actor of an earlier wave or run that Ray has
    # not yet torn down still holds its CPU, and with two the parse tasks of the next job could
    # not be scheduled (a hang seen once in a clean-clone run).
    ray.init(num_cpus=4, include_dashboard=False, object_store_memory=256 << 20, logging_level="WARNING")
    try:
        yield ray
    finally:
        ray.shutdown()
