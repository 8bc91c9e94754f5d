"""Chroma's where filters applied to metadata in hand give what Chroma gives."""

import numpy as np
import pytest

from pipeline.errors import ConfigError
from pipeline.retrieval.filters import matches

METADATA = [
    {"file_type": "pdf", "page": 1, "language": "zh"},
    {"file_type": "pdf", "page": 7, "language": "en", "ocr": True},
    {"file_type": "docx", "language": "zh"},
    {"file_type": "html", "page": 3},
]
FILTERS = [
    {"file_type": "pdf"},
    {"file_type": {"$ne": "pdf"}},
    {"page": {"$gt": 2}},
    {"page": {"$lte": 3}},
    {"language": {"$in": ["zh", "ja"]}},
    {"language": {"$nin": ["zh"]}},
    {"$and": [{"file_type": "pdf"}, {"page": {"$gte": 2}}]},
    {"$or": [{"ocr": True}, {"file_type": "html"}]},
]


def test_every_operator_agrees_with_chroma(tmp_path):
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(path=str(tmp_path), settings=Settings(anonymized_telemetry=False))
    collection = client.create_collection("filters", embedding_function=None)
    ids = [str(i) for i in range(len(METADATA))]
    collection.add(ids=ids, embeddings=np.eye(len(METADATA), 4).astype(np.float32), metadatas=METADATA)
    for where in FILTERS:
        expected = set(collection.get(ids=ids, where=where, include=[])["ids"])
        assert {i for i, meta in zip(ids, METADATA) if matches(where, meta)} == expected, where


@pytest.mark.parametrize("where", [{}, {"$xor": []}, {"page": {"$between": [1, 2]}}, {"page": {"$in": 3}},
                                   {"$and": "pdf"}, {"page": {"$gt": 1, "$lt": 5}}, {"file_type": "pdf", "page": 1},
                                   {"page": {"$in": []}}])
def test_a_malformed_filter_is_a_clear_error(where):
    with pytest.raises(ConfigError):
        matches(where, METADATA[0])
