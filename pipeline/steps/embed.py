"""Embed: texts -> checked vectors, one model call per batch, transient failures retried; a failing
batch of several files narrowed down to the file that fails."""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence

import numpy as np
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from pipeline.config import RetrySettings
from pipeline.embedders import Embedder
from pipeline.errors import EmbeddingError, EmptyInputError, InvalidVectorError, TransientEmbeddingError

log = logging.getLogger(__name__)

# Failures that may pass on a second try. Anything else is a property of the input or
# the model and would fail the same way again.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (TransientEmbeddingError, ConnectionError, TimeoutError)


class EmbedStage:
    """Embeds texts in calls of at most ``call_size`` texts, validating every vector it returns.

    One call holds several of the model's batches (``batch_size`` texts per forward pass):
    sentence-transformers sorts a call's texts by length before batching them, so fewer
    short chunks are padded to the length of long ones.
    """

    def __init__(self, *, embedder: Embedder, retry: RetrySettings, call_size: int | None = None) -> None:
        self.embedder = embedder
        self.call_size = call_size or embedder.spec.batch_size * embedder.spec.call_batches
        if self.call_size < 1:
            raise ValueError("call_size must be at least 1")
        self.retry = retry
        self.calls = 0

    def warm_up(self) -> None:
        self.embedder.warm_up()

    def _retrying(self) -> Retrying:
        return Retrying(
            retry=retry_if_exception_type(TRANSIENT_ERRORS),
            stop=stop_after_attempt(self.retry.attempts),
            wait=wait_exponential_jitter(initial=self.retry.initial_wait_s, max=self.retry.max_wait_s),
            before_sleep=before_sleep_log(log, logging.WARNING),
            reraise=True,
        )

    def run(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        """Vectors for ``texts`` in order; more texts than one call takes are sent in several calls."""
        for position, text in enumerate(texts):
            if not text or not text.strip():
                raise EmptyInputError(f"text {position} of the batch is empty; empty input is never embedded")
        if not texts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        parts = [
            self._embed_batch(texts[start : start + self.call_size], is_query)
            for start in range(0, len(texts), self.call_size)
        ]
        return np.concatenate(parts)

    def _embed_batch(self, batch: list[str], is_query: bool) -> np.ndarray:
        try:
            vectors = self._retrying()(self._call, batch, is_query)
        except TRANSIENT_ERRORS as error:
            raise EmbeddingError(f"still failing after {self.retry.attempts} attempts: {error}") from error
        except EmbeddingError:
            raise
        except (RuntimeError, ValueError, TypeError) as error:
            raise EmbeddingError(f"model '{self.embedder.name}' failed: {error}") from error
        self._validate(vectors, len(batch))
        return vectors

    def _call(self, batch: list[str], is_query: bool) -> np.ndarray:
        self.calls += 1
        return np.asarray(self.embedder.encode(batch, is_query=is_query), dtype=np.float32)

    def _validate(self, vectors: np.ndarray, expected_rows: int) -> None:
        dimension = self.embedder.dimension
        if vectors.ndim != 2 or vectors.shape != (expected_rows, dimension):
            raise InvalidVectorError(
                f"model '{self.embedder.name}' returned shape {vectors.shape}, expected ({expected_rows}, {dimension})"
            )
        if not np.isfinite(vectors).all():
            bad = int((~np.isfinite(vectors).all(axis=1)).sum())
            raise InvalidVectorError(f"model '{self.embedder.name}' returned {bad} vector(s) with NaN or infinity")


def embed_by_file(
    stage: EmbedStage, items: Sequence[tuple[Hashable, str]]
) -> tuple[dict[str, np.ndarray], dict[Hashable, str]]:
    """Vectors for texts drawn from several files, in one call: ``(vector by text, error by file)``.

    Identical texts (boilerplate shared by files) are embedded once. When the call fails, each
    file's texts are sent alone, so only the file that fails loses its vectors; the others go on.
    """
    texts = list(dict.fromkeys(text for _, text in items))
    files = list(dict.fromkeys(file for file, _ in items))
    try:
        return dict(zip(texts, stage.run(texts))), {}
    except EmbeddingError as error:
        if len(files) == 1:
            return {}, {files[0]: str(error)}
    vectors: dict[str, np.ndarray] = {}
    errors: dict[Hashable, str] = {}
    for file in files:
        own = list(dict.fromkeys(text for owner, text in items if owner == file))
        try:
            vectors.update(zip(own, stage.run(own)))
        except EmbeddingError as error:
            errors[file] = str(error)
    return vectors, errors
