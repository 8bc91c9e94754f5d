"""Model comparison: MAP@10, hit@1 and more for every registered model, BM25 and hybrids.

    from pipeline.evaluation import evaluate_models
    data = evaluate_models("data/ir/cranfield", models="all", out="eval-report/cranfield")
    best = max(data["results"], key=lambda row: row["map@10"])
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.config import Settings, load_settings
from pipeline.errors import ConfigError
from pipeline.evaluation.datasets import Dataset, load_dataset
from pipeline.evaluation.report import write_report
from pipeline.evaluation.runner import MODES, EvaluationResult, Evaluator, resolve_models

__all__ = ["Dataset", "EvaluationResult", "Evaluator", "MODES", "evaluate_models", "load_dataset", "parse_modes"]


def parse_modes(mode: str) -> tuple[str, ...]:
    if mode == "both":
        return MODES
    if mode not in MODES:
        raise ConfigError(f"unknown mode '{mode}' (allowed: {', '.join(MODES)}, both)")
    return (mode,)


def default_cache_dir(settings: Settings) -> Path:
    """Beside the store: vectors, rendered files and the files-mode store are kept there."""
    return settings.store.path.parent / ".eval-cache"


def evaluate_models(
    dataset: str | os.PathLike[str],
    *,
    models: str = "default",
    mode: str = "both",
    split: str = "test",
    out: str | os.PathLike[str] | None = None,
    config: Settings | str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
    command: str = "",
) -> dict[str, object]:
    """Compare ``models`` (``default``, ``all`` or ``a,b``) plus BM25 and hybrids on a dataset.

    Writes the report to ``out`` (when given) and returns its JSON object.
    """
    settings = config if isinstance(config, Settings) else load_settings(config)
    loaded = load_dataset(dataset, split)
    evaluator = Evaluator(
        settings=settings,
        dataset=loaded,
        models=resolve_models(settings, models),
        modes=parse_modes(mode),
        cache_dir=Path(cache_dir) if cache_dir else default_cache_dir(settings),
        progress=progress,
    )
    result = evaluator.run()
    if out is None:
        from pipeline.evaluation.report import build_json

        return build_json(result, command)
    return write_report(result, Path(out), command)
