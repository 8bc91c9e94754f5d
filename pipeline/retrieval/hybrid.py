"""How a query is answered: which sides run (dense, lexical) and with what weight.

The weight of the dense side depends on the query's language. A model registered for that
language gets the weight ``ingest-eval`` measured for it (``dense_weights`` in the model
registry); a model that does not cover the language gets none, and the query is answered by
BM25 alone: an English-only model ranks Chinese text close to randomly, and fusing its
ranking in drags BM25 down (on CMRC 2018, plain RRF of BM25 and all-MiniLM-L6-v2 scored
MAP@10 .4965 against BM25's .9797).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import ModelSpec
from pipeline.language import detect_language


@dataclass(frozen=True)
class FusionPlan:
    """How one query is answered: the mode that runs, the dense weight and why."""

    mode: str  # hybrid, dense or lexical
    language: str  # the query's language, from its script
    dense_weight: float  # in the fusion; the lexical side gets 1 - dense_weight
    note: str = ""  # set when the plan departs from what was asked, saying why

    @property
    def uses_dense(self) -> bool:
        return self.mode == "dense" or (self.mode == "hybrid" and self.dense_weight > 0)

    @property
    def uses_lexical(self) -> bool:
        return self.mode == "lexical" or (self.mode == "hybrid" and self.dense_weight < 1)


def covers(languages: tuple[str, ...], language: str) -> bool:
    """Whether a model registered for ``languages`` understands ``language``."""
    return language in languages or "multilingual" in languages


def dense_weight_for(spec: ModelSpec, language: str) -> float:
    """The measured dense weight of this model for a covered language (0 for an uncovered one)."""
    if not covers(spec.languages, language):
        return 0.0
    return spec.dense_weights.get(language, spec.dense_weights.get("default", 0.5))


def plan_query(text: str, mode: str, model_name: str, spec: ModelSpec) -> FusionPlan:
    """The plan for one query in ``mode``, leaning on BM25 where the model lacks the language."""
    language = detect_language(text)
    if mode == "dense":
        note = "" if covers(spec.languages, language) else (
            f"model '{model_name}' is not registered for '{language}': dense results may be poor; "
            "try --mode hybrid or a multilingual model"
        )
        return FusionPlan("dense", language, 1.0, note)
    if mode == "lexical":
        return FusionPlan("lexical", language, 0.0)
    weight = dense_weight_for(spec, language)
    note = "" if covers(spec.languages, language) else (
        f"model '{model_name}' does not cover '{language}': ranked by BM25 alone"
    )
    return FusionPlan("hybrid", language, weight, note)
