import pipeline


def test_public_api_is_curated() -> None:
    assert {"ingest", "query", "Ingestor", "Retriever", "RunReport", "Hit", "IngestError"} <= set(pipeline.__all__)
    for name in pipeline.__all__:
        assert getattr(pipeline, name) is not None
    assert sorted(pipeline.__all__) == pipeline.__all__
