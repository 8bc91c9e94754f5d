import numpy as np
import pytest

from pipeline.config import ModelSpec, RetrySettings
from pipeline.embedders import HashingEmbedder
from pipeline.errors import EmbeddingError, EmptyInputError, InvalidVectorError, TransientEmbeddingError
from pipeline.steps.embed import EmbedStage

FAST_RETRY = RetrySettings(attempts=3, initial_wait_s=0, max_wait_s=0)


class ScriptedEmbedder(HashingEmbedder):
    """The hashing model, made to fail or misbehave on cue, and counting what reaches it."""

    def __init__(self, *, failures: list[Exception] | None = None, mangle=None) -> None:
        super().__init__(name="scripted", spec=ModelSpec(kind="hashing", dimension=16, batch_size=4))
        self.failures = list(failures or [])
        self.mangle = mangle
        self.seen: list[list[str]] = []

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        self.seen.append(list(texts))
        if self.failures:
            raise self.failures.pop(0)
        vectors = super().encode(texts, is_query=is_query)
        return self.mangle(vectors) if self.mangle else vectors


def test_calls_respect_the_call_size() -> None:
    embedder = ScriptedEmbedder()
    vectors = EmbedStage(embedder=embedder, retry=FAST_RETRY, call_size=4).run([f"text {n}" for n in range(10)])
    assert vectors.shape == (10, 16)
    assert [len(batch) for batch in embedder.seen] == [4, 4, 2]


def test_empty_input_never_reaches_the_model() -> None:
    embedder = ScriptedEmbedder()
    with pytest.raises(EmptyInputError):
        EmbedStage(embedder=embedder, retry=FAST_RETRY).run(["fine", "   "])
    assert embedder.seen == []


def test_transient_failures_are_retried() -> None:
    embedder = ScriptedEmbedder(failures=[TransientEmbeddingError("rate limited"), TimeoutError("slow")])
    vectors = EmbedStage(embedder=embedder, retry=FAST_RETRY).run(["a b", "c d"])
    assert vectors.shape == (2, 16)
    assert len(embedder.seen) == 3


def test_transient_failures_give_up_after_the_configured_attempts() -> None:
    embedder = ScriptedEmbedder(failures=[ConnectionError("reset")] * 5)
    with pytest.raises(EmbeddingError, match="after 3 attempts"):
        EmbedStage(embedder=embedder, retry=FAST_RETRY).run(["a"])
    assert len(embedder.seen) == 3


def test_permanent_failures_are_not_retried() -> None:
    embedder = ScriptedEmbedder(failures=[RuntimeError("model crashed on input")])
    with pytest.raises(EmbeddingError, match="model crashed"):
        EmbedStage(embedder=embedder, retry=FAST_RETRY).run(["a"])
    assert len(embedder.seen) == 1


def test_wrong_dimension_is_rejected() -> None:
    embedder = ScriptedEmbedder(mangle=lambda v: v[:, :8])
    with pytest.raises(InvalidVectorError, match=r"expected \(1, 16\)"):
        EmbedStage(embedder=embedder, retry=FAST_RETRY).run(["a"])


def test_nan_vectors_are_rejected() -> None:
    def poison(vectors: np.ndarray) -> np.ndarray:
        vectors[1, 3] = np.nan
        return vectors

    with pytest.raises(InvalidVectorError, match="1 vector"):
        EmbedStage(embedder=ScriptedEmbedder(mangle=poison), retry=FAST_RETRY).run(["a", "b"])
