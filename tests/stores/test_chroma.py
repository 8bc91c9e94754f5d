from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import CollectionMismatchError, ConfigError, StoreError
from pipeline.records import Chunk
from pipeline.stores.chroma import ChromaStore, collection_name


def _chunks(n: int, doc: str = "doc1") -> list[Chunk]:
    return [
        Chunk(doc_id=doc, source=f"/{doc}.txt", file_type="text", text=f"chunk {i}", chunk_index=i,
              start=0, end=7, tokens=2, page=None if i % 2 else i)
        for i in range(n)
    ]


def _store(path: Path, **kw) -> ChromaStore:
    args = {"path": path, "collection": "docs-test", "model_name": "m", "dimension": 4, "fingerprint": "f1"}
    return ChromaStore(**{**args, **kw})


def _vectors(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype(np.float32)


def test_upserting_twice_does_not_duplicate(tmp_path: Path) -> None:
    store = _store(tmp_path, upsert_batch_size=3)
    chunks = _chunks(10)
    store.upsert(chunks, _vectors(10))
    store.upsert(chunks, _vectors(10))
    assert store.count() == 10
    assert store.ids_for_doc("doc1") == {chunk.id for chunk in chunks}


def test_metadata_has_no_none_values(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.upsert(_chunks(2), _vectors(2))
    stored = store.collection.get(include=["metadatas"])["metadatas"]
    assert all(value is not None for meta in stored for value in meta.values())
    assert sorted("page" in meta for meta in stored) == [False, True]


def test_reopening_with_another_model_is_refused(tmp_path: Path) -> None:
    _store(tmp_path).upsert(_chunks(1), _vectors(1))
    with pytest.raises(CollectionMismatchError, match="dimension: stored 4, now 8"):
        _store(tmp_path, dimension=8).warm_up()
    with pytest.raises(CollectionMismatchError, match="fingerprint"):
        _store(tmp_path, fingerprint="f2").warm_up()


def test_search_scores_are_cosine_similarity(tmp_path: Path) -> None:
    store = _store(tmp_path)
    chunks = _chunks(3)
    vectors = np.eye(4, dtype=np.float32)[:3]
    store.upsert(chunks, vectors)
    hits = store.search(np.array([1, 0, 0, 0], dtype=np.float32), k=3)
    assert hits[0]["id"] == chunks[0].id
    assert hits[0]["score"] == pytest.approx(1.0, abs=1e-5)
    assert hits[1]["score"] == pytest.approx(0.0, abs=1e-5)


def test_query_on_a_missing_collection_says_to_ingest(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="run `ingest`"):
        _store(tmp_path).warm_up(create=False)


def test_collection_names_are_sanitised_and_checked() -> None:
    assert collection_name("docs", "bge/m3 zh") == "docs-bge-m3-zh"
    with pytest.raises(ConfigError, match="not valid"):
        _store(Path("."), collection="a")


def test_many_queries_with_many_results_are_split_into_calls_chroma_accepts(tmp_path: Path) -> None:
    store = _store(tmp_path)
    chunks, vectors = _chunks(400), _vectors(400)
    store.upsert(chunks, vectors)
    # 300 queries * 200 results in one Chroma call would need 60,000 SQLite variables.
    results = store.search_many(vectors[:300], k=200, with_text=False)
    assert len(results) == 300
    assert all(len(found) == 200 for found in results)
    assert results[7][0]["id"] == chunks[7].id
