"""One collection, a model per language: each chunk and each query is embedded by the registered
model for its script's language (``kind: by-language``, ``route: {en: minilm, default: e5-small}``).

Why: no model that ships offline is the best at both. all-MiniLM-L6-v2 is the stronger English
model (Cranfield and CISI) but reads no Chinese; multilingual-e5-small reads Chinese well and
English less well. Routing gives each language its best model for the price of one embedding per
chunk, instead of embedding every chunk twice into two collections.

The members' vectors live in different spaces, so a query vector is only ever compared with
chunks of the member that made it: the chunker records each chunk's ``language`` (the same
:func:`detect_language` of the same text this class routes by), and
:meth:`ByLanguageEmbedder.chunk_filter` is the Chroma ``where`` clause for a member's chunks.
A query is embedded by every member that covers its language (:meth:`members_for_query`): an
English-looking query (a product code, a name in pinyin) over Chinese documents is also searched
by the multilingual member among the Chinese chunks, and the members' rankings are fused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from pipeline.config import ModelSpec
from pipeline.embedders.base import Embedder, weights_loaded
from pipeline.errors import ModelError
from pipeline.language import LANGUAGES, detect_language
from pipeline.records import fingerprint_of


class LargestCount:
    """The most tokens any member counts for a text; picklable (the parse workers chunk with it).

    A chunk may mix languages and is routed by its whole text, after the splitter has measured its
    pieces: counting every piece with every member's tokenizer keeps each chunk within the limit
    of whichever member ends up embedding it, so no chunk is cut silently.
    """

    def __init__(self, counters: list[Callable[[str], int]]) -> None:
        self.counters = counters

    def __call__(self, text: str) -> int:
        return max(counter(text) for counter in self.counters)


class ByLanguageEmbedder:
    """Routes each text to the member model registered for its language."""

    def __init__(self, *, name: str, spec: ModelSpec, members: Mapping[str, Embedder]) -> None:
        assert spec.route is not None  # checked by ModelSpec
        self.name = name
        self.spec = spec
        self.route = dict(spec.route)
        self.members = dict(members)
        dimensions = {member: embedder.dimension for member, embedder in self.members.items()}
        if len(set(dimensions.values())) != 1:
            shown = ", ".join(f"{member} {dimension}" for member, dimension in dimensions.items())
            raise ModelError(f"model '{name}': the routed models must share one dimension to share a collection ({shown})")

    def member_of(self, text: str) -> str:
        """The member that embeds ``text``."""
        return self.route.get(detect_language(text), self.route["default"])

    def members_for_query(self, text: str) -> list[str]:
        """The members that understand the query's language, each to search its own chunks."""
        from pipeline.retrieval.hybrid import covers  # retrieval depends on config only, not on embedders

        language = detect_language(text)
        covering = [member for member in sorted(self.members) if covers(self.members[member].spec.languages, language)]
        return covering or [self.member_of(text)]

    def languages_of(self, member: str) -> list[str]:
        """The chunk languages this member embeds."""
        default = self.route["default"]
        return [language for language in LANGUAGES if self.route.get(language, default) == member]

    def chunk_filter(self, member: str) -> dict[str, Any]:
        """Chroma's ``where`` for the chunks this member embedded (chunks carry their ``language``)."""
        return {"language": {"$in": self.languages_of(member)}}

    def warm_up(self) -> None:
        # A query needs one member: each is loaded on its first text, so warming up loads nothing.
        return None

    @property
    def loaded(self) -> bool:
        return any(weights_loaded(member) for member in self.members.values())

    @property
    def dimension(self) -> int:
        return next(iter(self.members.values())).dimension

    @property
    def max_tokens(self) -> int:
        return min(member.max_tokens for member in self.members.values())

    @property
    def fingerprint(self) -> str:
        members = {member: embedder.fingerprint for member, embedder in sorted(self.members.items())}
        return fingerprint_of({"kind": "by-language", "route": self.route, "members": members})

    def planned_precision(self) -> str:
        """The members' precisions, for the evaluation's cache key ("fp32" when all are)."""
        chosen = {getattr(member, "planned_precision", lambda: "fp32")() for member in self.members.values()}
        return "fp32" if chosen == {"fp32"} else "+".join(sorted(chosen))

    def token_counter(self) -> Callable[[str], int]:
        return LargestCount([member.token_counter() for member in self.members.values()])

    def count_tokens(self, text: str) -> int:
        return self.token_counter()(text)

    def encode(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        groups: dict[str, list[int]] = {}
        for row, text in enumerate(texts):
            groups.setdefault(self.member_of(text), []).append(row)
        for member, rows in groups.items():
            vectors[rows] = self.members[member].encode([texts[row] for row in rows], is_query=is_query)
        return vectors
