"""How close the whole pipeline comes to the bare model's speed.

Ingests a folder (parse + clean + chunk + embed + upsert) into a fresh store, then, in
the same process, encodes exactly the texts that were stored with the bare
``SentenceTransformer.encode`` at the same batch size, and prints both rates and their
ratio, averaged over ``--repeat`` alternating pairs. Model loading is excluded.

    .venv/bin/python bench/ingest_speed.py                 # default: ~300 real PDF pages
    .venv/bin/python bench/ingest_speed.py my/folder --model minilm
    .venv/bin/python bench/ingest_speed.py --preparsed      # the line without parsing
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline import Ingestor, load_settings  # noqa: E402
from pipeline.preparer import prepare_all  # noqa: E402
from pipeline.walk import walk_files  # noqa: E402

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
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pypdf").setLevel(logging.ERROR)

    settings = load_settings(args.config)
    pipeline_runs: list[float] = []
    bare_runs: list[float] = []
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
                importlib.import_module("pipeline.ingest").prepare_all = lambda *_, ready=prepared, **__: (file for file in ready)
            started = time.perf_counter()
            report = ingestor.run(args.paths)
            pipeline_runs.append(time.perf_counter() - started)

            texts = ingestor.store.collection.get(include=["documents"])["documents"]
            started = time.perf_counter()
            embedder.model.encode(texts, batch_size=embedder.spec.batch_size,
                                  normalize_embeddings=embedder.spec.normalize, show_progress_bar=False)
            bare_runs.append(time.perf_counter() - started)

    pipeline_s, bare_s = statistics.mean(pipeline_runs), statistics.mean(bare_runs)
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
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:>24}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
