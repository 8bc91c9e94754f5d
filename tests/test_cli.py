"""The command-line contract: JSON output, exit codes, clear errors."""

import json
from pathlib import Path

import pytest
import yaml

from pipeline.cli import ingest_main, query_main


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "default_model": "fake",
                "models": {"fake": {"kind": "hashing", "dimension": 32, "max_seq_length": 64}},
                "store": {"path": "store"},
            }
        ),
        encoding="utf-8",
    )
    return path


def test_ingest_json_has_the_documented_keys_and_exit_code(tmp_path, corpus, capsys) -> None:
    folder = corpus("pdflatex-outline.pdf", "notes.rtf")
    assert ingest_main([str(folder), "--config", str(_config(tmp_path)), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    for key in ("files_seen", "files_ingested", "files_failed", "chunks_added", "chunks_embedded",
                "truncated_chunks", "seconds", "errors", "files_unchanged", "files_updated", "files_removed",
                "chunks_deleted", "chunks_reused", "errors_file"):
        assert key in report
    assert report["files_seen"] == 2 and report["files_failed"] == 1
    assert report["errors"][0]["category"] == "unsupported"
    assert set(report["errors"][0]) == {"path", "category", "message"}


def test_ingest_exits_0_when_every_file_is_handled_and_query_finds_pages(tmp_path, corpus, capsys) -> None:
    folder = corpus("pdflatex-outline.pdf")
    config = str(_config(tmp_path))
    assert ingest_main([str(folder), "--config", config]) == 0
    assert "1 files in 'docs-fake'" in capsys.readouterr().out
    assert query_main(["pdflatex outline", "-k", "2", "--config", config, "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 2
    assert {"id", "score", "text", "source", "page", "heading_path", "metadata"} <= set(hits[0])
    assert hits[0]["source"].endswith("pdflatex-outline.pdf") and hits[0]["page"] >= 1


def test_bad_config_exits_2_and_names_the_key(tmp_path, corpus, capsys) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("chunking:\n  chunk_tokns: 100\n", encoding="utf-8")
    assert ingest_main([str(corpus("notes.rtf")), "--config", str(config)]) == 2
    assert "chunking.chunk_tokns: unknown key" in capsys.readouterr().err


def test_missing_path_and_bad_filter_are_usage_errors(tmp_path, capsys) -> None:
    config = str(_config(tmp_path))
    assert ingest_main([str(tmp_path / "nowhere"), "--config", config]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert query_main(["x", "--where", "{not json", "--config", config]) == 2
    assert "--where" in capsys.readouterr().err


def test_query_before_any_ingest_says_what_to_do(tmp_path, capsys) -> None:
    assert query_main(["anything", "--config", str(_config(tmp_path))]) == 2
    assert "run `ingest`" in capsys.readouterr().err


def test_query_modes_and_the_lexical_lean_for_a_language_the_model_lacks(tmp_path, corpus, capsys) -> None:
    config = str(_config(tmp_path))
    assert ingest_main([str(corpus("procurement-zh.docx", "pdflatex-outline.pdf")), "--config", config]) == 0
    capsys.readouterr()
    assert query_main(["项目的预算金额是多少？", "-k", "3", "--config", config]) == 0
    out = capsys.readouterr().out
    assert out.startswith("note: model 'fake' does not cover 'zh': ranked by BM25 alone")
    assert "预算金额" in out.splitlines()[2]  # the first hit's text
    assert query_main(["some text without a meaning", "--mode", "lexical", "--config", config, "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["mode"] == "lexical" and hits[0]["dense_score"] is None
    assert query_main(["？？", "--config", config]) == 2
    assert "no words" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        query_main(["x", "--mode", "fuzzy", "--config", config])
    assert exited.value.code == 2


def test_no_ocr_leaves_a_scan_as_no_text(tmp_path, corpus, capsys) -> None:
    folder = corpus("scanned-zh.pdf")
    assert ingest_main([str(folder), "--config", str(_config(tmp_path)), "--json", "--no-ocr"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["errors"][0]["category"] == "no_text" and "OCR is off" in report["errors"][0]["message"]
    assert report["pages_ocr"] == 0 and report["ocr_seconds"] == 0


def test_hybrid_hits_print_scores_that_tell_them_apart(tmp_path, corpus, capsys) -> None:
    folder = corpus("pdflatex-outline.pdf", "category-level.docx")
    config = str(_config(tmp_path))
    assert ingest_main([str(folder), "--config", config]) == 0
    capsys.readouterr()
    assert query_main(["blind text information", "-k", "3", "--config", config, "--mode", "hybrid"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line[:3].strip().rstrip(".").isdigit()]
    scores = [float(line.split()[1]) for line in lines]
    # The best hit is 1.000 and the others below it; RRF's own scores (about 0.016) would all look alike.
    assert scores[0] == 1.0 and all(0 < score < 1 for score in scores[1:])
    # Each side's own score is shown where that side found the hit.
    assert any("dense " in line for line in lines) and any("bm25 " in line for line in lines)
