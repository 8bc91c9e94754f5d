"""A deterministic embedder for tests: hashed word and CJK-character features, no model."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from pipeline.config import ModelSpec
from pipeline.language import CJK_RANGES
from pipeline.records import fingerprint_of

# One token per CJK character (as BERT tokenizers do), one per run of other letters or digits.
_HASH_TOKEN = re.compile(rf"[{CJK_RANGES}]|[^\W_{CJK_RANGES}]+")


def count_hash_tokens(text: str) -> int:
    return len(_HASH_TOKEN.findall(text))


class HashingEmbedder:
    """A deterministic, dependency-free embedder: hashed word and CJK-character features.

    It retrieves by shared words, which is enough for tests of the whole line to make
    meaningful assertions in milliseconds. Registered in config like any model
    (``kind: hashing``), so nothing in the pipeline knows it is not a neural model.
    """

    def __init__(self, *, name: str, spec: ModelSpec) -> None:
        self.name = name
        self.spec = spec

    def warm_up(self) -> None:
        return None

    @property
    def dimension(self) -> int:
        assert self.spec.dimension is not None  # checked by ModelSpec
        return self.spec.dimension

    @property
    def max_tokens(self) -> int:
        return self.spec.max_seq_length or 256

    @property
    def fingerprint(self) -> str:
        return fingerprint_of({"kind": "hashing", "dimension": self.dimension, "max": self.max_tokens})

    def token_counter(self) -> Callable[[str], int]:
        return count_hash_tokens

    def count_tokens(self, text: str) -> int:
        return count_hash_tokens(text)

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        dimension = self.dimension
        vectors = np.zeros((len(texts), dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            features = [_feature(token, dimension) for token in _HASH_TOKEN.findall(text.lower())]
            if features:
                indexes, signs = zip(*features)
                # Sums of +-1 are exact in float64 and float32 alike: the same vector as adding one by one.
                vectors[row] = np.bincount(indexes, weights=signs, minlength=dimension)
            norm = np.linalg.norm(vectors[row])
            # An all-zero vector has no direction; give it a fixed one so cosine is defined.
            vectors[row] = vectors[row] / norm if norm else 1.0 / np.sqrt(dimension)
        return vectors


@lru_cache(maxsize=1 << 18)
def _feature(token: str, dimension: int) -> tuple[int, float]:
    """A token's index and sign; cached, since hashing each occurrence again made this embedder
    a visible cost in the write-path benchmark (words repeat, so the cache hits nearly always)."""
    digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
    return int.from_bytes(digest[:4], "little") % dimension, 1.0 if digest[4] & 1 else -1.0
