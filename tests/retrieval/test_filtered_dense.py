"""A `where` on the dense side, applied to a few times the candidates fetched unfiltered, gives
what Chroma's own filtered search gives; a filter too narrow for them falls back to Chroma's."""

import pytest

from pipeline import Retriever, ingest
from tests.helpers import fake_settings, write_notes


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    folder = tmp_path_factory.mktemp("docs")
    write_notes(folder, 40, paragraphs=6)
    # Few candidates, so the store holds many times what is asked for unfiltered.
    settings = fake_settings(folder.parent / "store", retrieval={"candidates": 4},
                             models={"fake": {"kind": "hashing", "dimension": 64, "max_seq_length": 24}})
    ingest(folder, config=settings)
    return settings


@pytest.mark.parametrize("where", [{"chunk_index": {"$gte": 2}}, {"chunk_index": {"$lt": 2}}, {"chunk_index": 0}])
def test_filtered_dense_search_equals_chromas(stored, where):
    retriever = Retriever(settings=stored, mode="dense")
    assert retriever.store.count() > 100
    text = "the council approved budget line 12"
    got = retriever.search(text, k=4, where=where)
    vector = retriever.stage.run([text], is_query=True)
    expected = retriever.store.search_many(vector, 4, where, with_text=False)[0]
    assert all(eval_where_holds(hit.metadata, where) for hit in got)
    # The same cosines (the notes are alike, so equal scores may come in another order).
    assert [round(hit.score, 5) for hit in got] == [round(hit["score"], 5) for hit in expected]


def eval_where_holds(metadata, where) -> bool:
    from pipeline.retrieval.filters import matches

    return matches(where, metadata)
