"""Sentence-transformers models: a hub id, a local folder, or a package that ships the weights."""

from __future__ import annotations

import logging
import os
from importlib import metadata

import numpy as np

from pipeline.config import ModelSpec
from pipeline.embedders.base import TokenCounter, TokenizedModel, fingerprint_of, pick_device, resolve_model_source
from pipeline.errors import ModelError

log = logging.getLogger(__name__)


class SentenceTransformerEmbedder(TokenizedModel):
    """A sentence-transformers model, loaded lazily; prefixes from the registry are added here."""

    def __init__(self, *, name: str, spec: ModelSpec) -> None:
        self.name = name
        self.spec = spec
        self._model = None
        self._source, self._local = resolve_model_source(spec)

    def warm_up(self) -> None:
        if self._model is not None:
            return
        if self._local:
            # A local folder must never trigger a download, also for its tokenizer files.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        # Idle OpenMP threads sleep instead of spinning, leaving the CPU to the parsing
        # worker between forward passes (only takes effect if torch is not loaded yet).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        # Loading prints a progress bar and a weights report meant for model authors.
        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        device = pick_device(self.spec.device)
        try:
            model = SentenceTransformer(self._source, device=device)
        except (OSError, ValueError) as error:
            raise ModelError(f"cannot load model '{self.name}' from {self._source}: {error}") from error
        if self.spec.max_seq_length:
            model.max_seq_length = min(self.spec.max_seq_length, model.max_seq_length)
        self._model = model
        backend = getattr(model.tokenizer, "backend_tokenizer", None)
        if backend is None:
            raise ModelError(f"model '{self.name}' has no fast tokenizer; token-sized chunking needs one")
        self._counter = TokenCounter(backend.to_str())
        self._special_tokens = len(model.tokenizer("")["input_ids"])
        # A prefix tokenised apart from the text can differ by one token at the seam: keep one spare.
        prefix = self.spec.passage_prefix
        self._prefix_tokens = self.count_tokens(prefix) + 1 if prefix else 0
        log.info("loaded model %s from %s on %s", self.name, self._source, device)

    @property
    def dimension(self) -> int:
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def max_tokens(self) -> int:
        """Tokens of passage text that fit without truncation (specials and prefix excluded)."""
        return int(self.model.max_seq_length) - self._special_tokens - self._prefix_tokens

    @property
    def fingerprint(self) -> str:
        version = metadata.version(self.spec.package) if self.spec.package else ""
        return fingerprint_of(
            {
                "kind": self.spec.kind, "model": self.spec.model or self._source, "package": version,
                "query_prefix": self.spec.query_prefix, "passage_prefix": self.spec.passage_prefix,
                "normalize": self.spec.normalize, "max_seq_length": int(self.model.max_seq_length),
            }
        )

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        vectors = self.model.encode(
            self._prefixed(texts, is_query),
            batch_size=self.spec.batch_size,
            normalize_embeddings=self.spec.normalize,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
