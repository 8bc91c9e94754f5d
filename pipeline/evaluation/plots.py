"""The report's pictures, as PNG files (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.evaluation.dense import EncodedCorpus
from pipeline.evaluation.metrics import Qrels

_COLORS = {"map@10": "#3b6ea5", "hit@1": "#e0893b"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def quality_chart(rows: list[dict], modes: tuple[str, ...], path: Path) -> None:
    """MAP@10 and hit@1 per system with 95% bootstrap intervals, one panel per mode."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(modes), 1, figsize=(10, 3.6 * len(modes)), squeeze=False)
    for ax, mode in zip(axes[:, 0], modes):
        mode_rows = [row for row in rows if row["mode"] == mode]
        x = np.arange(len(mode_rows))
        for offset, metric in ((-0.2, "map@10"), (0.2, "hit@1")):
            values = [row[metric] for row in mode_rows]
            low = [row[metric] - row["interval_95"][metric][0] for row in mode_rows]
            high = [row["interval_95"][metric][1] - row[metric] for row in mode_rows]
            ax.bar(x + offset, values, 0.38, yerr=[low, high], capsize=3, label=metric, color=_COLORS[metric])
        ax.set_xticks(x, [row["model"] for row in mode_rows], rotation=20, ha="right", fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_title(f"{mode} mode (error bars: 95% bootstrap interval over queries)", fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def speed_chart(rows: list[dict], path: Path) -> None:
    """Documents per second (log scale) against MAP@10 for systems that index on their own."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for mode, marker in (("beir", "o"), ("files", "s")):
        for row in rows:
            if row["mode"] == mode and row.get("docs_per_s"):
                ax.scatter(row["docs_per_s"], row["map@10"], marker=marker, s=50)
                ax.annotate(f"{row['model']} ({mode})", (row["docs_per_s"], row["map@10"]), fontsize=7,
                            xytext=(4, 4), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("documents per second (indexing; log scale)")
    ax.set_ylabel("MAP@10")
    ax.set_title("speed against quality (beir: o, files: s)", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def embedding_space(encoded: EncodedCorpus, qrels: Qrels, model: str, path: Path, clusters: int = 8) -> None:
    """Left: documents projected to 2-D (PCA), coloured by k-means cluster. Right: cosine
    similarity of relevant query-document pairs against random pairs."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    plt = _pyplot()
    docs = _unit(encoded.doc_vectors)
    queries = _unit(encoded.query_vectors)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    points = PCA(n_components=2, random_state=0).fit_transform(docs)
    labels = KMeans(n_clusters=min(clusters, len(docs)), n_init=4, random_state=0).fit_predict(docs)
    left.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", s=6, alpha=0.7)
    left.set_title(f"{model}: documents, PCA 2-D, {clusters} k-means clusters", fontsize=10)
    left.set_xticks([])
    left.set_yticks([])

    doc_row = {doc_id: i for i, doc_id in enumerate(encoded.doc_ids)}
    query_row = {qid: i for i, qid in enumerate(encoded.query_ids)}
    pairs = [
        (query_row[qid], doc_row[doc]) for qid, judged in qrels.items() for doc, grade in judged.items()
        if grade >= 1 and qid in query_row and doc in doc_row
    ]
    relevant = np.array([queries[q] @ docs[d] for q, d in pairs])
    rng = np.random.default_rng(0)
    random_pairs = rng.integers(0, [len(queries), len(docs)], size=(max(len(pairs), 1000), 2))
    random = np.einsum("ij,ij->i", queries[random_pairs[:, 0]], docs[random_pairs[:, 1]])
    bins = np.linspace(min(relevant.min(initial=1), random.min()), max(relevant.max(initial=-1), random.max()), 50)
    right.hist(random, bins=bins, alpha=0.6, density=True, label=f"random pairs ({len(random)})")
    right.hist(relevant, bins=bins, alpha=0.6, density=True, label=f"relevant pairs ({len(relevant)})")
    right.set_xlabel("cosine similarity")
    right.set_title(f"{model}: query-document similarity", fontsize=10)
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = vectors.astype(np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
