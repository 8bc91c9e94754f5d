"""Sentence-transformers models: a hub id, a local folder, or a package that ships the weights.

The weights are loaded only to embed. Dimension, sequence limit, fingerprint and token
counter of a local folder are read from its config files (:class:`FolderFacts`), so a run that
finds nothing to embed never imports torch; a folder laid out in a way they cannot read loads
the model instead.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from pipeline.config import ModelSpec
from pipeline.embedders.base import TokenCounter, TokenizedModel, pick_device, resolve_model_source
from pipeline.embedders.precision import Precision, planned_precision, precision_for, torch_dtype
from pipeline.errors import ModelError
from pipeline.records import fingerprint_of

log = logging.getLogger(__name__)


class SentenceTransformerEmbedder(TokenizedModel):
    """A sentence-transformers model, loaded lazily; prefixes from the registry are added here."""

    def __init__(self, *, name: str, spec: ModelSpec) -> None:
        self.name = name
        self.spec = spec
        self._model = None
        self._source, self._local = resolve_model_source(spec)
        self._facts = FolderFacts.read(Path(self._source)) if self._local else None
        self._light_counter: TokenCounter | None = None
        self.precision: Precision | None = None  # set by warm_up

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
        self.precision = precision_for(self.spec.precision, device)
        if self.precision != "fp32":
            model = model.to(torch_dtype(self.precision))  # encode() returns float32 either way
        self._model = model
        backend = getattr(model.tokenizer, "backend_tokenizer", None)
        if backend is None:
            raise ModelError(f"model '{self.name}' has no fast tokenizer; token-sized chunking needs one")
        self._counter = TokenCounter(backend.to_str())
        self._special_tokens = len(model.tokenizer("")["input_ids"])
        # A prefix tokenised apart from the text can differ by one token at the seam: keep one spare.
        prefix = self.spec.passage_prefix
        self._prefix_tokens = self.count_tokens(prefix) + 1 if prefix else 0
        log.info("loaded model %s from %s on %s in %s", self.name, self._source, device, self.precision)

    def planned_precision(self) -> Precision:
        """fp32 or bf16: the one in use once loaded, else the one loading would pick (without loading)."""
        return planned_precision(self.spec.precision, self.spec.device, self.precision)

    def _from_files(self) -> bool:
        """True when the folder's config files answer for the model (which is then not loaded)."""
        return self._model is None and self._facts is not None

    @property
    def dimension(self) -> int:
        if self._from_files():
            return self._facts.dimension
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def max_seq_length(self) -> int:
        if self._from_files():
            limit = self._facts.max_seq_length
            return min(self.spec.max_seq_length, limit) if self.spec.max_seq_length else limit
        return int(self.model.max_seq_length)

    def token_counter(self) -> TokenCounter:
        if not self._from_files():
            return super().token_counter()
        if self._light_counter is None:
            self._light_counter = TokenCounter(self._facts.tokenizer_json)
        return self._light_counter

    @property
    def max_tokens(self) -> int:
        """Tokens of passage text that fit without truncation (specials and prefix excluded)."""
        if self._from_files():
            special = self._facts.special_tokens
            prefix = self.spec.passage_prefix
            prefix_tokens = self.count_tokens(prefix) + 1 if prefix else 0
            return self.max_seq_length - special - prefix_tokens
        return int(self.model.max_seq_length) - self._special_tokens - self._prefix_tokens

    @property
    def fingerprint(self) -> str:
        version = metadata.version(self.spec.package) if self.spec.package else ""
        return fingerprint_of(
            {
                "kind": self.spec.kind, "model": self.spec.model or self._source, "package": version,
                "query_prefix": self.spec.query_prefix, "passage_prefix": self.spec.passage_prefix,
                "normalize": self.spec.normalize, "max_seq_length": self.max_seq_length,
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


@dataclass(frozen=True)
class FolderFacts:
    """What the pipeline needs to know of a sentence-transformers folder, read from its config
    files without loading the weights (reading them costs milliseconds; loading, seconds)."""

    dimension: int
    max_seq_length: int
    tokenizer_json: str
    special_tokens: int

    # Modules whose effect on the output dimension is known here; any other kind loads the model.
    _KNOWN = ("Transformer", "Pooling", "Normalize", "Dense", "Dropout")

    @classmethod
    def read(cls, folder: Path) -> FolderFacts | None:
        try:
            modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
            if not modules or modules[0].get("path", "") != "":
                return None
            dimension: int | None = None
            for module in modules:
                kind = str(module.get("type", "")).rsplit(".", 1)[-1]
                if kind not in cls._KNOWN:
                    return None
                config_file = folder / module.get("path", "") / "config.json"
                if kind == "Pooling":
                    dimension = _pooled_dimension(json.loads(config_file.read_text(encoding="utf-8")))
                elif kind == "Dense":
                    dimension = int(json.loads(config_file.read_text(encoding="utf-8"))["out_features"])
            limit = _max_seq_length(folder)
            tokenizer_json = (folder / "tokenizer.json").read_text(encoding="utf-8")
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if dimension is None or limit is None:
            return None
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_str(tokenizer_json)
        tokenizer.no_padding()  # the shipped file may pad every text to a fixed length
        tokenizer.no_truncation()
        special = len(tokenizer.encode("", add_special_tokens=True).ids)
        return cls(dimension, limit, tokenizer_json, special)


def _pooled_dimension(config: dict) -> int:
    """Pooling's output: the token dimension times the number of pooling modes (both config styles)."""
    size = int(config.get("embedding_dimension") or config["word_embedding_dimension"])
    mode = config.get("pooling_mode")
    if isinstance(mode, str):
        return size
    if isinstance(mode, list):
        return size * len(mode)
    modes = sum(1 for key, on in config.items() if key.startswith("pooling_mode_") and on is True)
    return size * max(1, modes)


def _max_seq_length(folder: Path) -> int | None:
    """sentence-transformers' rule: the folder's max_seq_length (else the tokenizer's limit),
    never above the model's position embeddings."""
    def load(name: str) -> dict:
        path = folder / name
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    limit = load("sentence_bert_config.json").get("max_seq_length") or load("tokenizer_config.json").get(
        "model_max_length"
    )
    positions = load("config.json").get("max_position_embeddings")
    if limit is None:
        return None
    return int(min(limit, positions)) if positions else int(limit)
