"""Searches queued together are answered together, each with its own hits or its own error."""

from __future__ import annotations

import threading

import pytest

from pipeline.errors import ConfigError, StoreError
from pipeline.query import Retriever
from pipeline.serve.service import BadFilter, SearchService
from tests.serve.conftest import ServedStore

QUERIES = ["council approved budget", "采购单位", "Note 3 paragraph 2", "预算金额", "budget line 12", "谈判文件"]


def test_queued_searches_are_batched_and_each_gets_its_own_answer(served: ServedStore) -> None:
    service = SearchService(served.settings)
    try:
        _, worker = service.worker_for(None)
        release = threading.Event()
        held = worker.submit(lambda retriever: release.wait(10))
        futures = [worker.search(text, k=3, mode=None, where=None) for text in QUERIES]
        bad = worker.search("？！", k=3, mode=None, where=None)
        filtered = worker.search("budget", k=3, mode="lexical", where={"file_type": "docx"})
        rejected = worker.search("budget", k=3, mode=None, where={"$nope": 1})
        release.set()
        assert held.result(timeout=30) is True
        expected = Retriever(settings=served.settings)
        for text, future in zip(QUERIES, futures):
            assert [hit.id for hit in future.result(timeout=30)] == [hit.id for hit in expected.search(text, k=3)]
        with pytest.raises(ConfigError, match="no words"):
            bad.result(timeout=30)
        assert all(hit.metadata["file_type"] == "docx" for hit in filtered.result(timeout=30))
        with pytest.raises(BadFilter):
            rejected.result(timeout=30)
        assert len(service.search("budget", k=2).hits) == 2  # the worker goes on
    finally:
        service.close()


def test_a_closed_service_refuses_new_work_at_once(served: ServedStore) -> None:
    service = SearchService(served.settings)
    _, worker = service.worker_for(None)
    assert len(service.search("budget", k=1).hits) == 1
    service.close()
    with pytest.raises(StoreError, match="shutting down"):
        worker.search("budget", k=1, mode=None, where=None).result(timeout=5)
