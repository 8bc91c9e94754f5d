"""Static models (model2vec), loaded from a folder or distilled offline from a registered model."""

from __future__ import annotations

import logging
import os
from importlib import metadata
from pathlib import Path

import numpy as np

from pipeline.config import ModelSpec
from pipeline.embedders.base import TokenCounter, TokenizedModel, resolve_model_source
from pipeline.errors import ModelError
from pipeline.records import fingerprint_of

log = logging.getLogger(__name__)


class Model2VecEmbedder(TokenizedModel):
    """A static model (model2vec): one vector per token, averaged; ~100x faster than a transformer.

    With ``distill_from`` the static model is distilled offline from a registered
    sentence-transformers model the first time it is needed, and saved in ``model``.
    """

    def __init__(self, *, name: str, spec: ModelSpec, source: ModelSpec | None = None) -> None:
        self.name = name
        self.spec = spec
        self.source = source
        self._model = None

    def warm_up(self) -> None:
        if self._model is not None:
            return
        from model2vec import StaticModel

        folder = Path(self.spec.model).expanduser()
        if (folder / "config.json").is_file():
            model = StaticModel.from_pretrained(str(folder))
        elif self.source is not None:
            model = self._distill(folder)
        else:
            try:
                model = StaticModel.from_pretrained(self.spec.model)
            except (OSError, ValueError) as error:
                raise ModelError(f"cannot load static model '{self.name}' from {self.spec.model}: {error}") from error
        self._model = model
        self._counter = TokenCounter(model.tokenizer.to_str())

    def _distill(self, folder: Path):
        from model2vec.distill import distill

        source, local = resolve_model_source(self.source)
        if local:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        log.warning("distilling static model '%s' from %s (once; saved in %s)", self.name, source, folder)
        try:
            model = distill(model_name=source, pca_dims=self.spec.pca_dims)
        except (OSError, ValueError) as error:
            raise ModelError(f"cannot distil '{self.name}' from {source}: {error}") from error
        folder.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(str(folder))
        return model

    @property
    def dimension(self) -> int:
        return int(self.model.dim)

    @property
    def max_tokens(self) -> int:
        # A static model has no position limit; this bounds chunk size and encode length.
        return self.spec.max_seq_length or 512

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(
            {
                "kind": self.spec.kind, "model": self.spec.model, "distill_from": self.spec.distill_from,
                "pca_dims": self.spec.pca_dims, "version": metadata.version("model2vec"),
                "query_prefix": self.spec.query_prefix, "passage_prefix": self.spec.passage_prefix,
                "normalize": self.spec.normalize, "max": self.max_tokens,
            }
        )

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        vectors = self.model.encode(
            self._prefixed(texts, is_query),
            max_length=self.max_tokens,
            batch_size=max(self.spec.batch_size, 1024),
            use_multiprocessing=False,
        )
        vectors = np.asarray(vectors, dtype=np.float32)
        if self.spec.normalize:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            # A text of unknown tokens only gets a zero vector; leave it zero rather than NaN.
            vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
        return vectors
