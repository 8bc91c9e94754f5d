"""`ingest-eval` end to end on small real collections, with the fast hashing model."""

import json
import re
import shutil

import pytest

from pipeline.cli import eval_main
from pipeline.evaluation import evaluate_models
from tests.helpers import fake_settings

HEADLINE_KEYS = {"model", "map@10", "hit@1", "ndcg@10", "recall@10", "recall@100", "mrr@10", "long_doc_miss_rate", "docs_per_s"}


@pytest.fixture
def eval_config(tmp_path):
    """A config file registering the hashing model as an English-only model."""
    path = tmp_path / "config.yaml"
    path.write_text(
        "default_model: fake\n"
        "models:\n  fake: {kind: hashing, dimension: 128, max_seq_length: 64, languages: [en]}\n"
        f"store: {{path: {tmp_path / 'store'}}}\n"
    )
    return path


def test_both_modes_report_every_system_with_the_headline_metrics(fixtures, eval_config, tmp_path, capsys):
    out = tmp_path / "report"
    code = eval_main([
        "--dataset", str(fixtures / "ir/cranfield-mini"), "--config", str(eval_config),
        "--out", str(out), "--cache", str(tmp_path / "cache"), "--json",
    ])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["dataset"], data["mode"], data["split"], data["language"]) == ("cranfield-mini", "both", "test", "en")
    systems = {(row["mode"], row["model"]) for row in data["results"]}
    assert systems == {
        (mode, name) for mode in ("beir", "files") for name in ("fake", "bm25", "bm25+fake hybrid", "bm25+fake rrf", "bm25+fake rrf-tuned")
    }
    for row in data["results"]:
        assert HEADLINE_KEYS <= set(row)
        assert 0 <= row["map@10"] <= row["recall@100"] <= 1
    bm25 = next(r for r in data["results"] if r["model"] == "bm25" and r["mode"] == "beir")
    assert bm25["map@10"] > 0.3  # BM25 on Cranfield is far from random
    files_row = next(r for r in data["results"] if r["model"] == "fake" and r["mode"] == "files")
    assert files_row["files_ingested"] == 154 and files_row["truncated_chunks"] == 0
    assert set(data["info"]["files_formats"]) == {"pdf", "docx", "html"}

    for name in ("report.md", "report.html", "results.json", "per_query.csv", "runs/beir/bm25.trec"):
        assert (out / name).is_file(), name
    html = (out / "report.html").read_text()
    for image in re.findall(r"<img src='([^']+)'", html):
        assert (out / image).is_file()
    assert "plots/quality.png" in html and "plots/space-fake.png" in html
    per_query = (out / "per_query.csv").read_text().splitlines()
    assert len(per_query) == 1 + 2 * 5 * 15  # header + modes * systems * queries


def test_a_second_run_reuses_cached_vectors_and_gives_the_same_numbers(fixtures, tmp_path):
    settings = fake_settings(tmp_path / "store")
    kwargs = dict(models="default", mode="beir", config=settings, cache_dir=tmp_path / "cache")
    first = evaluate_models(fixtures / "ir/cranfield-mini", **kwargs)
    second = evaluate_models(fixtures / "ir/cranfield-mini", **kwargs)
    fake = [next(r for r in run["results"] if r["model"] == "fake") for run in (first, second)]
    assert not fake[0]["speed_cached"] and fake[1]["speed_cached"]
    assert {k: v for k, v in fake[0].items() if k != "speed_cached"} == {
        k: v for k, v in fake[1].items() if k != "speed_cached"
    }


def test_a_chinese_corpus_is_detected_and_an_english_model_is_flagged(fixtures, eval_config, tmp_path, capsys):
    code = eval_main([
        "--dataset", str(fixtures / "ir/cmrc2018-mini"), "--config", str(eval_config),
        "--out", str(tmp_path / "report"), "--cache", str(tmp_path / "cache"), "--json",
    ])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["language"] == "zh"
    assert any("'fake' is registered for en" in warning for warning in data["warnings"])
    fake = next(r for r in data["results"] if r["model"] == "fake")
    assert fake["covers_language"] is False
    # Chinese cannot go into the Latin-1 PDF writer; those documents become Word files.
    assert "pdf" not in data["info"]["files_formats"]
    bm25 = {r["mode"]: r for r in data["results"] if r["model"] == "bm25"}
    assert bm25["beir"]["hit@1"] >= 0.9  # CMRC questions share many characters with their paragraph
    assert bm25["files"]["hit@1"] >= 0.6  # over 64-token chunks of the test model: harder
    assert "⚠" in (tmp_path / "report" / "report.md").read_text()


def test_unknown_models_and_modes_are_usage_errors(fixtures, eval_config, capsys):
    assert eval_main(["--dataset", str(fixtures / "ir/cranfield-mini"), "--config", str(eval_config), "--models", "nope"]) == 2
    assert "unknown model(s) nope" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        eval_main(["--dataset", "x", "--mode", "sideways"])
    assert exited.value.code == 2


def test_a_folder_of_own_files_is_evaluated_in_both_modes(fixtures, tmp_path):
    folder = tmp_path / "mine"
    (folder / "qrels").mkdir(parents=True)
    for name in ("pdflatex-outline.pdf", "category-level.docx", "example-with-scripts.html"):
        shutil.copy(fixtures / name, folder / name)
    queries = {"q1": "Call me Ishmael, I thought I would sail about", "q2": "contents foo bar baz"}
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": q, "text": t}) + "\n" for q, t in queries.items()))
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\tcategory-level.docx\t1\nq2\tpdflatex-outline.pdf\t1\n"
    )
    settings = fake_settings(tmp_path / "store")
    data = evaluate_models(folder, models="default", config=settings, cache_dir=tmp_path / "cache")
    files_fake = next(r for r in data["results"] if r["mode"] == "files" and r["model"] == "fake")
    assert files_fake["files_ingested"] == 3
    assert {r["mode"] for r in data["results"]} == {"beir", "files"}
    bm25 = next(r for r in data["results"] if r["mode"] == "files" and r["model"] == "bm25")
    assert bm25["hit@1"] == 1.0
