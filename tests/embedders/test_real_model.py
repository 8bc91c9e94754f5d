"""The real default model (minilm for English, e5-small for Chinese), offline, end to end.
Slow: run with `pytest -m slow`."""


import pytest

from pipeline import Ingestor, Retriever, ingest, query
from pipeline.config import settings_from_dict
from pipeline.embedders import load_embedder

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_settings(tmp_path_factory):
    store = tmp_path_factory.mktemp("real") / "store"
    return settings_from_dict({"store": {"path": str(store)}})


def test_default_model_loads_offline_from_its_package(real_settings, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    name, spec = real_settings.model_spec(None)
    embedder = load_embedder(name, spec, real_settings.models)
    assert embedder.dimension == 384
    # minilm's 256 positions minus [CLS] and [SEP]: the smaller limit of the two models.
    assert embedder.max_tokens == 254
    vectors = embedder.encode(["a budget is approved by the council", "预算由理事会批准"])
    assert vectors.shape == (2, 384)
    assert all(member._model is not None for member in embedder.members.values())


def test_real_model_ingests_and_finds_the_right_page(real_settings, corpus) -> None:
    folder = corpus("pdflatex-outline.pdf", "procurement-zh.docx", "category-level.docx")
    report = ingest(folder, config=real_settings)
    assert report.files_failed == 0
    assert report.truncated_chunks == 0
    hits = query("Call me Ishmael, I thought I would sail about", k=3, config=real_settings)
    assert hits[0].source.endswith("category-level.docx")
    # The default mode is hybrid, whose score is a fusion rank score; the model's own is dense_score.
    assert hits[0].dense_score is not None and hits[0].dense_score > 0.5


def test_a_query_answered_by_bm25_alone_loads_no_model(real_settings, corpus) -> None:
    folder = corpus("procurement-zh.docx", "category-level.docx")
    ingest(folder, config=real_settings)
    retriever = Retriever(settings=real_settings)
    hits = retriever.search("项目的预算金额是多少？", k=3, mode="lexical")
    assert hits and hits[0].source.endswith("procurement-zh.docx") and hits[0].dense_score is None
    assert retriever.search("Ishmael", k=1, mode="lexical") and not retriever.model_loaded
    # A Chinese question in the default (hybrid) mode loads e5-small, and only it.
    hits = retriever.search("项目的预算金额是多少？", k=3)
    assert hits[0].source.endswith("procurement-zh.docx") and hits[0].dense_score is not None
    members = retriever.embedder.members
    assert members["e5-small"]._model is not None and members["minilm"]._model is None
    retriever.search("Ishmael went to sea", k=1, mode="dense")
    assert members["minilm"]._model is not None


def test_no_chunk_is_longer_than_the_model_takes(real_settings, corpus) -> None:
    # Chinese text is where character-based splitters overshoot the model's token limit.
    folder = corpus("procurement-zh.docx", folder="zh")
    ingestor = Ingestor(settings=real_settings)
    ingestor.warm_up()
    prepared = ingestor.preparer.prepare(folder / "procurement-zh.docx")
    limit = ingestor.embedder.max_tokens
    assert len(prepared.chunks) > 20
    assert max(chunk.tokens for chunk in prepared.chunks) <= limit
    # Measured with each model's own tokenizer, as it will see the text.
    minilm, e5 = ingestor.embedder.members["minilm"], ingestor.embedder.members["e5-small"]
    tokenizer = minilm.model.tokenizer
    assert all(len(tokenizer(c.text)["input_ids"]) <= 256 for c in prepared.chunks)
    assert all(e5.count_tokens(c.text) <= e5.window for c in prepared.chunks)
    # Chunks are well filled, not cut into tiny pieces.
    assert sum(c.tokens for c in prepared.chunks) / len(prepared.chunks) > limit / 3


def test_facts_read_from_the_folder_equal_the_loaded_models(real_settings) -> None:
    """Dimension, limit, fingerprint and token counts come from config files until the model loads."""
    embedder = load_embedder("minilm", real_settings.models["minilm"])
    text = "A budget line of 1,250 euros, approved by the council. 预算金额"
    light = (embedder.dimension, embedder.max_tokens, embedder.fingerprint, embedder.count_tokens(text))
    assert embedder._model is None
    embedder.warm_up()
    assert (embedder.dimension, embedder.max_tokens, embedder.fingerprint, embedder.count_tokens(text)) == light


def test_no_model_is_built_when_nothing_needs_embedding(tmp_path, corpus, monkeypatch, caplog) -> None:
    import logging
    import shutil

    import sentence_transformers

    settings = settings_from_dict({"store": {"path": str(tmp_path / "store")}})
    folder = corpus("category-level.docx", "procurement-zh.docx")
    first = ingest(folder, config=settings)
    assert first.files_ingested == 2 and first.chunks_embedded > 0

    built = []
    real = sentence_transformers.SentenceTransformer

    def counting(*args, **kwargs):
        built.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", counting)
    caplog.set_level(logging.INFO, logger="pipeline.line")
    unchanged = ingest(folder, config=settings)
    assert (unchanged.files_unchanged, unchanged.chunks_embedded) == (2, 0)
    assert built == []
    assert "was not loaded" in caplog.text
    # A copy under a new name: every chunk's vector is in the cache, so still no model.
    shutil.copy(folder / "category-level.docx", folder / "copy.docx")
    copied = ingest(folder, config=settings)
    assert (copied.files_ingested, copied.chunks_embedded) == (1, 0) and copied.chunks_reused > 0
    assert built == []
    # A new paragraph needs the model.
    (folder / "new.txt").write_text("An entirely new paragraph about harbour dues.", encoding="utf-8")
    ingest(folder, config=settings)
    assert len(built) == 1
