"""How fast the whole pipeline is, against the bare model, the machine and the alternatives.

Ingests a folder (parse + clean + chunk + embed + upsert) into a fresh store, then, in
the same process, encodes exactly the texts that were stored with the bare
``SentenceTransformer.encode`` at the same batch size, and prints both rates and their
ratio, averaged over ``--repeat`` alternating pairs. Model loading is excluded. It also prints:

- the physical ceiling: (CPU-seconds of the bare encode + CPU-seconds of the parse workers)
  over the cores. No pipeline that parses and embeds these files on this machine can beat it;
- an unchanged re-run, as a user runs it (``ingest`` in a fresh process, imports included);
- with ``--anchors``: LlamaIndex ``IngestionPipeline`` and LangChain ``index()`` on the same
  folder and weights (first ingest without the model load, and an unchanged re-run in a fresh
  process), installed by this script into ``.bench-anchors/`` (see ``bench/anchors.py``).

    .venv/bin/python bench/ingest_speed.py                 # default: ~300 real PDF pages
    .venv/bin/python bench/ingest_speed.py my/folder --model minilm --anchors
    .venv/bin/python bench/ingest_speed.py --preparsed      # the line without parsing
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline import Ingestor, load_settings  # noqa: E402
from pipeline.embedders.precision import cpu_flags  # noqa: E402
from pipeline.engines.pool import prepare_all  # noqa: E402
from pipeline.steps.walk import walk_files  # noqa: E402

DEFAULT_FOLDERS = [
    REPO.parent / "shared/data/docs/pdfminer-samples/samples",
    REPO.parent / "shared/data/docs/py-pdf-sample-files",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", type=Path, default=DEFAULT_FOLDERS, help="folders or files to ingest")
    parser.add_argument("--config", type=Path, default=REPO / "config.yaml")
    parser.add_argument("--model", help="model name from the registry (default: default_model)")
    parser.add_argument("--repeat", type=int, default=2, help="pipeline/bare pairs to average (default: 2)")
    parser.add_argument("--preparsed", action="store_true",
                        help="parse and chunk every file before the clock starts, to time the rest of the line alone")
    parser.add_argument("--anchors", action="store_true",
                        help="also run LlamaIndex and LangChain on the same folder (installs .bench-anchors/ once)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pypdf").setLevel(logging.ERROR)

    settings = load_settings(args.config)
    pipeline_runs: list[float] = []
    bare_runs: list[float] = []
    parse_cpu: list[float] = []
    embed_cpu: list[float] = []
    # Alternate pipeline and bare runs, so a slow or fast spell of a shared machine
    # does not fall on one side only.
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as store:
            fresh = settings.model_copy(update={"store": settings.store.model_copy(update={"path": Path(store)})})
            ingestor = Ingestor(settings=fresh, model=args.model)
            ingestor.warm_up()
            embedder = ingestor.embedder
            embedder.encode(["warm-up"] * 4)

            if args.preparsed:
                entries = list(walk_files(args.paths, fresh.walk))
                prepared = list(prepare_all(ingestor.preparer, entries, window=len(entries) or 1, workers=0))
                # The ingest module's own name for it, so Ingestor.run picks up the ready files.
                importlib.import_module("pipeline.engines.local").prepare_all = lambda *_, ready=prepared, **__: (file for file in ready)
            workers_before = _cpu(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            report = ingestor.run(args.paths)
            pipeline_runs.append(time.perf_counter() - started)
            parse_cpu.append(_cpu(resource.RUSAGE_CHILDREN) - workers_before)

            texts = ingestor.store.collection.get(include=["documents"])["documents"]
            self_before = _cpu(resource.RUSAGE_SELF)
            started = time.perf_counter()
            embedder.model.encode(texts, batch_size=embedder.spec.batch_size,
                                  normalize_embeddings=embedder.spec.normalize, show_progress_bar=False)
            bare_runs.append(time.perf_counter() - started)
            embed_cpu.append(_cpu(resource.RUSAGE_SELF) - self_before)
            rerun = _unchanged_rerun(fresh, args.paths, args.model)

    pipeline_s, bare_s = statistics.mean(pipeline_runs), statistics.mean(bare_runs)
    cores = len(os.sched_getaffinity(0))
    ceiling_s = (statistics.mean(embed_cpu) + statistics.mean(parse_cpu)) / cores
    figures = {
        "model": report.model,
        "files_ingested": report.files_ingested,
        "files_failed": report.files_failed,
        "chunks": len(texts),
        "truncated_chunks": report.truncated_chunks,
        "pipeline_runs_s": [round(run, 2) for run in pipeline_runs],
        "bare_encode_runs_s": [round(run, 2) for run in bare_runs],
        "pipeline_chunks_per_s": round(len(texts) / pipeline_s, 2),
        "bare_chunks_per_s": round(len(texts) / bare_s, 2),
        "ratio": round(bare_s / pipeline_s, 3),
        "embed_cpu_s": round(statistics.mean(embed_cpu), 1),
        "parse_cpu_s": round(statistics.mean(parse_cpu), 1),
        "cores": cores,
        "ceiling_chunks_per_s": round(len(texts) / ceiling_s, 2),
        "share_of_ceiling": round(ceiling_s / pipeline_s, 3),
        "unchanged_rerun_s": rerun["run_s"],
        "unchanged_rerun_process_s": rerun["process_s"],
        "unchanged_model_loaded": rerun["model_loaded"],
        "first_over_rerun_process": round(pipeline_s / rerun["process_s"], 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    if args.anchors:
        figures.update(_anchors(args.paths, embedder, len(texts) / pipeline_s, pipeline_s))
    figures["load_average"] = " ".join(f"{load:.2f}" for load in os.getloadavg())
    flags = cpu_flags()
    figures["cpu_flags"] = " ".join(flag for flag in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16") if flag in flags)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:>24}: {value}")
    return 0


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _unchanged_rerun(settings, paths: list[Path], model: str | None) -> dict:
    """``ingest`` on the same folder and store in a fresh process: what a user waits for."""
    config = settings.store.path / "bench-config.json"  # JSON is YAML
    config.write_text(json.dumps(settings.model_dump(mode="json")))
    command = [sys.executable, "-m", "pipeline.cli", *map(str, paths), "--config", str(config), "--json", "-v"]
    started = time.perf_counter()
    done = subprocess.run(command + (["--model", model] if model else []), capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - started
    report = json.loads(done.stdout)
    return {"run_s": round(report["seconds"], 2), "process_s": round(seconds, 2),
            "model_loaded": "was not loaded" not in done.stderr}


ANCHOR_VENV = REPO / ".bench-anchors"
ANCHOR_PACKAGES = [
    "llama-index-core", "llama-index-vector-stores-chroma", "llama-index-embeddings-huggingface",
    "llama-index-readers-file", "langchain", "langchain-community", "langchain-chroma", "langchain-huggingface",
    "pypdf",
]


def _anchor_python() -> Path:
    """The anchors' interpreter; made once. torch is pinned first and again with every install,
    so no package can swap in a multi-GB CUDA build."""
    python = ANCHOR_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(ANCHOR_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "torch==2.13.0"], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "torch==2.13.0", *ANCHOR_PACKAGES], check=True)
    cuda = subprocess.run([str(python), "-c", "import torch; print(torch.version.cuda)"], capture_output=True, text=True)
    if cuda.stdout.strip() != "None":
        raise SystemExit(f"{ANCHOR_VENV} holds a CUDA build of torch ({cuda.stdout.strip()}); remove it and run again")
    return python


def _anchors(paths: list[Path], embedder, ours_chunks_per_s: float, ours_s: float) -> dict:
    """Each anchor: a first ingest (model load excluded) and an unchanged re-run in a fresh process.

    Compared by wall time on the same folder (what a user waits for) and by chunks per second
    (the anchors cut the same text into other numbers of chunks)."""
    python = _anchor_python()
    figures: dict[str, object] = {"precision": getattr(embedder, "precision", None) or "fp32", "anchors_precision": "fp32"}
    rates, walls = [], []
    for which in ("llamaindex", "langchain"):
        with tempfile.TemporaryDirectory() as work:
            runs = []
            for _ in range(2):
                command = [str(python), str(REPO / "bench" / "anchors.py"), which, *map(str, paths),
                           "--model", str(embedder._source), "--work", work]
                started = time.perf_counter()
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    figures[f"{which}_error"] = done.stderr.strip().splitlines()[-1:]
                    break
                runs.append((json.loads(done.stdout.strip().splitlines()[-1]), time.perf_counter() - started))
            if len(runs) == 2:
                (first, _), (rerun, rerun_process_s) = runs
                rate = first["chunks_stored"] / first["seconds"]
                rates.append(rate)
                walls.append(first["seconds"])
                figures[f"{which}_first_s"] = round(first["seconds"], 2)
                figures[f"{which}_chunks"] = first["chunks_stored"]
                figures[f"{which}_chunks_per_s"] = round(rate, 2)
                figures[f"{which}_rerun_s"] = round(rerun["seconds"], 2)
                figures[f"{which}_rerun_process_s"] = round(rerun_process_s, 2)
                figures[f"{which}_rerun_wrote"] = rerun["chunks_written"]
    if rates:
        figures["ours_first_s"] = round(ours_s, 2)
        figures["ours_over_faster_anchor_by_wall"] = round(min(walls) / ours_s, 2)
        figures["ours_over_faster_anchor_by_chunks_per_s"] = round(ours_chunks_per_s / max(rates), 2)
    return figures


if __name__ == "__main__":
    sys.exit(main())
