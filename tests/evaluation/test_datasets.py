"""Loading BEIR folders and folders of a user's own files; detecting the corpus language."""

import json
import shutil

import pytest

from pipeline.errors import ConfigError
from pipeline.evaluation.datasets import detect_language, load_dataset

MINI = "ir/cranfield-mini"


def test_a_beir_folder_loads_only_judged_queries(fixtures):
    dataset = load_dataset(fixtures / MINI)
    assert dataset.kind == "beir"
    assert len(dataset.corpus) == 154
    assert set(dataset.queries) == set(dataset.qrels) == {str(i) for i in range(1, 16)}
    assert dataset.qrels["1"]["184"] == 3
    assert dataset.corpus["1"].full_text.startswith("experimental investigation of the aerodynamics")
    assert dataset.language == "en"


def test_a_missing_split_names_the_splits_there(fixtures):
    with pytest.raises(ConfigError, match=r"qrels/dev.tsv.*splits here: test"):
        load_dataset(fixtures / MINI, split="dev")


def test_judged_queries_missing_from_the_queries_file_are_an_error(fixtures, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(fixtures / MINI, folder)
    (folder / "queries.jsonl").write_text(json.dumps({"_id": "1", "text": "only one"}) + "\n")
    with pytest.raises(ConfigError, match="14 judged queries are not in queries.jsonl"):
        load_dataset(folder)


def test_a_folder_of_files_uses_relative_paths_as_document_ids(fixtures, tmp_path):
    folder = tmp_path / "mine"
    (folder / "reports").mkdir(parents=True)
    (folder / "qrels").mkdir()
    shutil.copy(fixtures / "pdflatex-outline.pdf", folder / "reports" / "outline.pdf")
    shutil.copy(fixtures / "example-with-scripts.html", folder / "page.html")
    (folder / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "section headings"}) + "\n")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\treports/outline.pdf\t1\n")
    dataset = load_dataset(folder)
    assert dataset.kind == "files"
    assert set(dataset.corpus) == {"reports/outline.pdf", "page.html"}
    assert dataset.corpus["reports/outline.pdf"].text


def test_language_is_detected_from_the_script():
    assert detect_language(["《战国无双3》是由光荣和ω-force开发的战国无双系列的正统第三续作。"]) == "zh"
    assert detect_language(["an experimental study of a wing in a propeller slipstream"]) == "en"
    assert detect_language(["これは日本語の文章です。漢字とひらがな。"]) == "ja"


def test_only_queries_that_are_corpus_documents_lose_their_self_hit(tmp_path):
    folder = tmp_path / "argue"
    (folder / "qrels").mkdir(parents=True)
    corpus = [{"_id": "a1", "title": "", "text": "Cats are better pets than dogs."},
              {"_id": "7", "title": "", "text": "Unrelated text about wings."}]
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in corpus))
    queries = [{"_id": "a1", "text": "Cats are better  pets than dogs."}, {"_id": "7", "text": "wing flutter"}]
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\na1\t7\t1\n7\t7\t1\n")
    assert load_dataset(folder).queries_in_corpus == {"a1"}
