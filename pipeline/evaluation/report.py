"""Write a comparison out: results.json, report.md, report.html with PNG plots, per-query
results (per_query.csv) and every ranking as a TREC run file (runs/<mode>/<system>.trec)."""

from __future__ import annotations

import csv
import html
import itertools
import json
import logging
import re
from pathlib import Path

from pipeline.evaluation.metrics import LONG_DOC_DEFINITION, LONG_DOC_MISS_RATE, parse_metric, trec_order
from pipeline.evaluation.plots import embedding_space, quality_chart, speed_chart
from pipeline.evaluation.runner import EvaluationResult
from pipeline.evaluation.summary import SIGNIFICANCE_LEVEL, significantly_below_best, summarise

log = logging.getLogger(__name__)

_HEADERS = {"map@10": "MAP@10", "hit@1": "hit@1", "ndcg@10": "nDCG@10", "recall@10": "R@10",
            "recall@100": "R@100", "mrr@10": "MRR@10"}


def build_json(result: EvaluationResult, command: str = "") -> dict[str, object]:
    dataset = result.dataset
    return {
        "dataset": dataset.name,
        "dataset_path": str(dataset.folder),
        "mode": result.modes[0] if len(result.modes) == 1 else "both",
        "split": dataset.split,
        "language": dataset.language,
        "documents": len(dataset.corpus),
        "queries": len(dataset.qrels),
        "command": command,
        "info": result.info,
        "warnings": result.warnings,
        "definitions": definitions(result),
        "results": summarise(result),
    }


def definitions(result: EvaluationResult) -> dict[str, str]:
    found = {metric: parse_metric(metric).definition for metric in result.metrics}
    found[LONG_DOC_MISS_RATE] = LONG_DOC_DEFINITION
    found["relevant"] = "a judged grade of at least 1 (trec_eval's convention); nDCG uses the grades"
    found["rankings"] = (
        "the top 100 documents per query; where a query is itself a corpus document (same id, same text) "
        "that document is dropped from its ranking, as BEIR and MTEB do; "
        "beir mode embeds title + ' ' + text and lets the model truncate"
    )
    found["interval_95"] = "95% percentile bootstrap interval of the mean over queries (2,000 resamples)"
    found["p_vs_best"] = (
        "two-sided paired randomisation test against the best system of the same mode and metric "
        f"(10,000 sign flips over queries); below {SIGNIFICANCE_LEVEL} the difference is unlikely to be noise"
    )
    found["docs_per_s"] = (
        "beir: documents embedded per second; files: files through the whole pipeline per second; "
        "bm25: documents indexed per second"
    )
    return found


def write_report(result: EvaluationResult, out: Path, command: str = "") -> dict[str, object]:
    """Write every report file under ``out``; returns the JSON object."""
    out.mkdir(parents=True, exist_ok=True)
    data = build_json(result, command)
    (out / "results.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _write_per_query(result, out / "per_query.csv")
    _write_runs(result, out / "runs")
    plots = _write_plots(result, data["results"], out / "plots")  # type: ignore[arg-type]
    (out / "report.md").write_text(_markdown(data, plots), encoding="utf-8")
    (out / "report.html").write_text(_html(data, plots), encoding="utf-8")
    return data


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _write_per_query(result: EvaluationResult, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["mode", "system", "query_id", *result.metrics, "long_relevant", "long_missed_top10"])
        for system in result.systems:
            for qid in sorted(system.per_query):
                long_relevant, missed = system.long_misses.get(qid, (0, 0))
                values = [f"{system.per_query[qid][m]:.6f}" for m in result.metrics]
                writer.writerow([system.mode, system.system, qid, *values, long_relevant, missed])


def _write_runs(result: EvaluationResult, folder: Path) -> None:
    for system in result.systems:
        target = folder / system.mode / f"{_safe(system.system)}.trec"
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", encoding="utf-8") as handle:
            for qid in sorted(system.run):
                for rank, doc in enumerate(trec_order(system.run[qid]), 1):
                    handle.write(f"{qid} Q0 {doc} {rank} {system.run[qid][doc]:.6f} {_safe(system.system)}\n")


def _write_plots(result: EvaluationResult, rows: list[dict], folder: Path) -> dict[str, str]:
    """{title: relative path} of the pictures made."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    quality_chart(rows, result.modes, folder / "quality.png")
    made["MAP@10 and hit@1 per system"] = "plots/quality.png"
    speed_chart(rows, folder / "speed.png")
    made["Speed against quality"] = "plots/speed.png"
    for model, encoded in result.vectors.items():
        if len(encoded.doc_ids) >= 10:
            name = f"space-{_safe(model)}.png"
            embedding_space(encoded, result.dataset.qrels, model, folder / name)
            made[f"Embedding space of {model} (beir mode)"] = f"plots/{name}"
    return made


def _cell(row: dict, metric: str) -> str:
    value = row.get(metric)
    if value is None:
        return "–"
    text = f"{value:.4f}"
    interval = row.get("interval_95", {}).get(metric)
    if interval:
        text += f" [{interval[0]:.3f}, {interval[1]:.3f}]"
    if metric in row.get("best", []):
        text = f"**{text}**"
    elif significantly_below_best(row, metric):
        text += " ▾"
    return text


def _speed(row: dict) -> str:
    if row.get("docs_per_s") is None:
        return "–"
    return f"{row['docs_per_s']:,.1f}" + (" (cached)" if row.get("speed_cached") else "")


def language_group(row: dict, language: str) -> str:
    """Which group of the report a system belongs to: by whether its model knows the corpus's language."""
    if row["kind"] == "lexical":
        return "lexical (any language)"
    return f"models registered for {language}" if row["covers_language"] else f"models not registered for {language}"


def _table_rows(data: dict, mode: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Headers, and (group, cells) per system: systems of models that know the corpus's language
    first, then BM25, then the others, each group in the result's order."""
    metrics = [m for m in data["definitions"] if m in _HEADERS]
    headers = ["system", *(_HEADERS[m] for m in metrics), "long-doc miss", "docs/s"]
    order = [f"models registered for {data['language']}", "lexical (any language)",
             f"models not registered for {data['language']}"]
    rows = []
    for row in data["results"]:
        if row["mode"] != mode:
            continue
        name = row["model"] + ("" if row["covers_language"] else " ⚠")
        miss = row[LONG_DOC_MISS_RATE]
        cells = [name, *(_cell(row, m) for m in metrics), "–" if miss is None else f"{miss:.4f}", _speed(row)]
        rows.append((language_group(row, data["language"]), cells))
    rows.sort(key=lambda item: order.index(item[0]))
    return headers, rows


def _notes(data: dict) -> list[str]:
    notes = [
        "**Bold**: best in its mode. ▾: below the best by more than chance "
        f"(paired randomisation test, p < {SIGNIFICANCE_LEVEL}; no correction for multiple comparisons). "
        "⚠: the model is not registered for the corpus's language. Brackets: 95% bootstrap interval.",
    ]
    info = data["info"]
    notes.append(
        f"Long documents (for the miss rate): the longest quarter of the corpus, at least "
        f"{info.get('long_doc_min_tokens', 0):,} tokens (words, or CJK characters)."
    )
    if info.get("empty_documents"):
        notes.append(f"{info['empty_documents']} empty corpus documents have nothing to index and are left out.")
    if info.get("files_formats"):
        formats = ", ".join(f"{count} {fmt}" for fmt, count in info["files_formats"].items())
        notes.append(f"files mode rendered the corpus as {formats}; a document scores as its best chunk.")
    for row in data["results"]:
        if row["mode"] == "files" and row["kind"] == "dense":
            notes.append(
                f"files mode, {row['model']}: {row.get('files_ingested')} files ingested, "
                f"{row.get('files_failed')} failed, {row.get('chunks')} chunks, "
                f"{row.get('truncated_chunks')} truncated."
            )
        if row["kind"] == "hybrid" and "dense_weights" in row:
            weights = ", ".join(f"{w:.2f}" for w in row["dense_weights"])
            notes.append(
                f"{row['mode']}, {row['model']}: the query API's own fusion, with the model registry's dense "
                f"weight for each query's language ({weights}; 0 where the model lacks the language)."
            )
        if row["kind"] == "hybrid" and "dense_weight_per_fold" in row:
            weights = ", ".join(f"{w:.1f}" for w in row["dense_weight_per_fold"])
            notes.append(f"{row['mode']}, {row['model']}: dense weight chosen per query fold on the other fold: {weights}.")
    return notes


def _markdown(data: dict, plots: dict[str, str]) -> str:
    lines = [
        f"# Retrieval evaluation: {data['dataset']} ({data['split']} split)",
        "",
        f"- {data['documents']:,} documents, {data['queries']:,} judged queries, "
        f"language detected: **{data['language']}**",
    ]
    if data["command"]:
        lines.append(f"- made by: `{data['command']}`")
    if data["warnings"]:
        lines += ["", "## Warnings", "", *(f"- {warning}" for warning in data["warnings"])]
    for mode in dict.fromkeys(row["mode"] for row in data["results"]):
        headers, rows = _table_rows(data, mode)
        lines += ["", f"## {mode} mode", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        for group, members in itertools.groupby(rows, key=lambda item: item[0]):
            lines.append(f"| *{group}* |" + " |" * (len(headers) - 1))
            lines += ["| " + " | ".join(cells) + " |" for _, cells in members]
    lines += ["", "## Notes", "", *(f"- {note}" for note in _notes(data))]
    lines += ["", "## Definitions", "", *(f"- **{name}**: {text}" for name, text in data["definitions"].items())]
    lines += ["", "## Plots", "", *(f"![{title}]({path})" for title, path in plots.items())]
    lines += ["", "Per-query values: `per_query.csv`; rankings: `runs/<mode>/<system>.trec` (TREC run format).", ""]
    return "\n".join(lines)


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f3f7; }
th.group { text-align: left; font-style: italic; background: #fafbfc; }
.warning { background: #fff4e0; border-left: 4px solid #e0893b; padding: 0.5em 1em; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
code { background: #f4f4f4; padding: 1px 4px; }
"""


def _html(data: dict, plots: dict[str, str]) -> str:
    def bold(text: str) -> str:
        escaped = html.escape(text)
        return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)

    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(data['dataset'])} evaluation</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Retrieval evaluation: {html.escape(data['dataset'])} ({html.escape(data['split'])} split)</h1>",
        f"<p>{data['documents']:,} documents, {data['queries']:,} judged queries, "
        f"language detected: <strong>{html.escape(data['language'])}</strong></p>",
    ]
    if data["command"]:
        parts.append(f"<p>Made by <code>{html.escape(data['command'])}</code></p>")
    parts += [f"<p class='warning'>{html.escape(warning)}</p>" for warning in data["warnings"]]
    for mode in dict.fromkeys(row["mode"] for row in data["results"]):
        headers, rows = _table_rows(data, mode)
        parts.append(f"<h2>{html.escape(mode)} mode</h2><table><tr>")
        parts += [f"<th>{html.escape(h)}</th>" for h in headers]
        parts.append("</tr>")
        for group, members in itertools.groupby(rows, key=lambda item: item[0]):
            parts.append(f"<tr><th colspan='{len(headers)}' class='group'>{html.escape(group)}</th></tr>")
            parts += ["<tr>" + "".join(f"<td>{bold(cell)}</td>" for cell in cells) + "</tr>" for _, cells in members]
        parts.append("</table>")
    for title, path in plots.items():
        parts.append(f"<h2>{html.escape(title)}</h2><img src='{html.escape(path)}' alt='{html.escape(title)}'>")
    parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{bold(n)}</li>" for n in _notes(data)) + "</ul>")
    parts.append(
        "<h2>Definitions</h2><ul>"
        + "".join(f"<li><strong>{html.escape(k)}</strong>: {html.escape(v)}</li>" for k, v in data["definitions"].items())
        + "</ul><p>Per-query values: <code>per_query.csv</code>; rankings: <code>runs/&lt;mode&gt;/&lt;system&gt;.trec</code>.</p>"
    )
    parts.append("</body></html>\n")
    return "\n".join(parts)
