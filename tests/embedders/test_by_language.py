"""A by-language model: one collection, each chunk and query embedded by the model for its language."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline import ingest
from pipeline.config import ModelSpec
from pipeline.embedders import load_embedder
from pipeline.embedders.by_language import ByLanguageEmbedder, LargestCount
from pipeline.errors import ConfigError, ModelError
from pipeline.evaluation.dense import EncodedCorpus, exact_search
from pipeline.query import Retriever
from tests.helpers import fake_settings

ENGLISH = "The annual budget of the water authority was approved by the council in March."
CHINESE = "水务局的年度预算于三月由理事会批准，项目资金主要用于管网改造。"


def routed_settings(store: Path, **member_overrides: object):
    members = {
        "english": {"kind": "hashing", "dimension": 64, "max_seq_length": 64},
        "other": {"kind": "hashing", "dimension": 64, "max_seq_length": 48, "languages": ["multilingual"],
                  **member_overrides},
    }
    routed = {"kind": "by-language", "route": {"en": "english", "default": "other"}}
    return fake_settings(store, default_model="routed", models={**members, "routed": routed})


def test_each_text_goes_to_the_model_of_its_language(tmp_path: Path) -> None:
    settings = routed_settings(tmp_path)
    embedder = load_embedder("routed", settings.models["routed"], settings.models)
    assert isinstance(embedder, ByLanguageEmbedder)
    assert embedder.member_of(ENGLISH) == "english" and embedder.member_of(CHINESE) == "other"
    assert embedder.chunk_filter("english") == {"language": {"$in": ["en"]}}
    assert embedder.chunk_filter("other") == {"language": {"$in": ["zh", "ja", "ko"]}}
    # Chunks must fit every member: the smaller limit, and the larger of the counts.
    assert embedder.max_tokens == 48
    assert LargestCount([len, lambda text: 2 * len(text)])("abc") == 6
    vectors = embedder.encode([CHINESE, ENGLISH])
    assert vectors.shape == (2, 64)
    assert np.allclose(vectors[1], embedder.members["english"].encode([ENGLISH])[0])


def test_a_route_changes_the_fingerprint(tmp_path: Path) -> None:
    settings = routed_settings(tmp_path)
    routed = load_embedder("routed", settings.models["routed"], settings.models)
    swapped = ModelSpec(kind="by-language", route={"en": "other", "default": "english"})
    assert load_embedder("routed", swapped, settings.models).fingerprint != routed.fingerprint


def test_bad_routes_are_config_errors_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="route"):
        fake_settings(tmp_path, models={"routed": {"kind": "by-language"}}, default_model="routed")
    with pytest.raises(ConfigError, match="default"):
        fake_settings(tmp_path, models={"a": {"kind": "hashing", "dimension": 8},
                                        "routed": {"kind": "by-language", "route": {"en": "a"}}})
    with pytest.raises(ConfigError, match="route.zh: 'missing' is not a registered model"):
        fake_settings(tmp_path, models={"a": {"kind": "hashing", "dimension": 8},
                                        "routed": {"kind": "by-language", "route": {"zh": "missing", "default": "a"}}})


def test_members_of_other_dimensions_cannot_share_a_collection(tmp_path: Path) -> None:
    settings = routed_settings(tmp_path, dimension=32)
    with pytest.raises(ModelError, match="share one dimension"):
        load_embedder("routed", settings.models["routed"], settings.models)


def test_a_query_is_compared_only_with_chunks_of_its_own_model(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "budget-en.txt").write_text(f"{ENGLISH}\n\nThe council meets monthly.\n", encoding="utf-8")
    (folder / "budget-zh.txt").write_text(f"{CHINESE}\n\n理事会每月开会一次。\n", encoding="utf-8")
    settings = routed_settings(tmp_path / "store")
    report = ingest(folder, config=settings)
    assert report.files_ingested == 2 and report.truncated_chunks == 0

    retriever = Retriever(settings=settings)
    chinese = retriever.search("理事会批准的年度预算", k=20, mode="dense")
    # Without the filter the other file's chunks would fill the rest of the 20 places.
    assert chinese and {hit.metadata["language"] for hit in chinese} == {"zh"}
    assert {Path(hit.source).name for hit in chinese} == {"budget-zh.txt"}
    # The multilingual member covers English too: an English question is searched in both
    # members' chunks, a Chinese one only in the multilingual member's.
    embedder = retriever.embedder
    assert embedder.members_for_query("council budget") == ["english", "other"]
    assert embedder.members_for_query("理事会") == ["other"]
    english = retriever.search("council budget approval", k=20, mode="dense")
    assert {Path(hit.source).name for hit in english} == {"budget-en.txt", "budget-zh.txt"}
    # Fused across members, each hit still shows its own model's similarity.
    assert all(hit.dense_score is not None and -1.0 <= hit.dense_score <= 1.0 for hit in english)
    # A user's filter is kept beside the model's own.
    assert retriever.search("理事会", k=5, mode="dense", where={"file_type": "pdf"}) == []
    hybrid = retriever.search("理事会批准的年度预算", k=3)
    assert hybrid and Path(hybrid[0].source).name == "budget-zh.txt"


def test_the_evaluation_keeps_queries_to_their_group() -> None:
    encoded = EncodedCorpus(
        doc_ids=["en-doc", "zh-doc"], query_ids=["q"],
        doc_vectors=np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32),
        query_vectors=np.array([[1.0, 0.1]], dtype=np.float32), seconds=0.0,
    )
    assert set(exact_search(encoded, 10)["q"]) == {"en-doc", "zh-doc"}
    assert set(exact_search(encoded, 10, groups=(["english", "other"], ["other"]))["q"]) == {"zh-doc"}
