"""Command-line entry points. Thin: parse arguments, call the library, print, map errors to exit codes.

Exit codes: 0 every file was handled, 1 some file failed, 2 usage or configuration error
(including a store locked by another ingest), 130 stopped by Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from pipeline.config import SEARCH_MODES, load_settings
from pipeline.engines import ENGINES
from pipeline.errors import IngestError
from pipeline.ingestor import Ingestor
from pipeline.paths import readable_path
from pipeline.query import Hit, Retriever
from pipeline.records import RunReport

EXIT_OK, EXIT_FILES_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # the shell's code for a run stopped by Ctrl-C
_ERRORS_SHOWN = 20


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep its usage line
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


CONFIG_HELP = "settings file (default: $INGEST_CONFIG, else ./config.yaml, else built-in defaults)"


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    parser.add_argument("--model", metavar="NAME", help="model name from the config's registry (default: default_model)")
    parser.add_argument("--collection", metavar="NAME", help="Chroma collection (default: <store.collection_prefix>-<model>)")
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout instead of text")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what each stage does")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # pypdf warns about every recoverable defect of a PDF; the run report says what matters.
    logging.getLogger("pypdf").setLevel(logging.INFO if verbose else logging.ERROR)


def ingest_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ingest",
        description="Read PDF, Word, HTML, text and Markdown files, chunk them, embed them and store them in Chroma.",
        epilog="example: ingest docs/ reports/2024.pdf --model minilm --json > report.json\n"
        "         ingest docs/ --engine ray --ray-address auto   (store.url set to a Chroma server)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (folders are walked recursively)")
    parser.add_argument(
        "--no-prune", action="store_true",
        help="keep the chunks of files that were deleted from these folders (default: delete them)",
    )
    parser.add_argument("--wait", action="store_true", help="if another ingest is writing the store, wait for it")
    parser.add_argument(
        "--engine", choices=ENGINES, default="local",
        help="local: this machine's processes (default); ray: a Ray cluster, writing into the Chroma "
        "server of store.url (pip install 'rag-ingest[distributed]')",
    )
    parser.add_argument(
        "--ray-address", metavar="ADDR",
        help="with --engine ray: 'auto' joins the cluster this machine is in, ray://HOST:10001 a remote one "
        "(default: ray.address in the config, else a local cluster for this run)",
    )
    parser.add_argument(
        "--no-ocr", action="store_true",
        help="do not OCR PDF pages that have no text layer (default: connectors.ocr in the config, on)",
    )
    _common(parser)
    return parser


def _print_summary(report: RunReport) -> None:
    print(
        f"{report.files_seen} files in '{report.collection}' ({report.seconds:.1f} s): "
        f"{report.files_ingested - report.files_updated} new, {report.files_updated} updated, "
        f"{report.files_unchanged} unchanged, {report.files_removed} removed, {report.files_failed} failed; "
        f"chunks: {report.chunks_added} added ({report.chunks_embedded} embedded, {report.chunks_reused} from cache), "
        f"{report.chunks_deleted} deleted, {report.truncated_chunks} truncated"
    )
    if report.pages_ocr:
        print(f"OCR: {report.pages_ocr} pages in {report.ocr_seconds:.1f} s (in the parse workers)")
    if report.pages_garbled:
        print(f"garbled text layers: {report.pages_garbled} pages (read by OCR where it did better)")
    if report.interrupted:
        print("interrupted: every file written so far is complete; run the same command again to resume")
    if not report.errors:
        return
    counts = ", ".join(f"{name} {count}" for name, count in report.error_counts().items())
    print(f"{report.files_failed} files not ingested ({counts}):")
    for error in report.errors[:_ERRORS_SHOWN]:
        print(f"  [{error.category}] {error.path}: {error.message}")
    if len(report.errors) > _ERRORS_SHOWN:
        print(f"  ... and {len(report.errors) - _ERRORS_SHOWN} more")
    print(f"all errors: {report.errors_file}")


def ingest_main(argv: Sequence[str] | None = None) -> int:
    args = ingest_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        settings = load_settings(args.config)
        if args.no_ocr:
            settings = settings.model_copy(update={"connectors": settings.connectors.model_copy(update={"ocr": False})})
        ingestor = Ingestor(settings=settings, model=args.model, collection=args.collection)
        report = ingestor.run(
            args.paths, progress=sys.stderr.isatty() and not args.json, prune=not args.no_prune, wait=args.wait,
            engine=args.engine, ray_address=args.ray_address,
        )
    except IngestError as error:
        print(f"ingest: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # a second Ctrl-C, or one before any file was read
        print("ingest: interrupted; every file written is complete, run the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_summary(report)
    if report.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FILES_FAILED if report.files_failed else EXIT_OK


def query_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ingest-query",
        description="Find the stored chunks most similar to a question.",
        epilog='example: ingest-query "how is the budget approved?" -k 5 --where \'{"file_type": "pdf"}\'',
    )
    parser.add_argument("text", metavar="TEXT", help="the question or search text")
    parser.add_argument("-k", type=int, default=10, metavar="N", help="how many chunks to return (default: 10)")
    parser.add_argument("--where", metavar="JSON", help='metadata filter in Chroma syntax, e.g. \'{"file_type": "pdf"}\'')
    parser.add_argument(
        "--mode", choices=SEARCH_MODES,
        help="hybrid: the model's vectors and BM25, fused; dense: vectors only; lexical: BM25 only "
        "(default: retrieval.mode in the config, hybrid)",
    )
    _common(parser)
    return parser


def query_main(argv: Sequence[str] | None = None) -> int:
    args = query_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        where = json.loads(args.where) if args.where else None
    except json.JSONDecodeError as error:
        print(f"ingest-query: error: --where is not valid JSON: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        retriever = Retriever(
            settings=load_settings(args.config), model=args.model, collection=args.collection, mode=args.mode
        )
        hits = retriever.search(args.text, k=args.k, where=where)
    except IngestError as error:
        print(f"ingest-query: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as error:  # Chroma rejects a malformed filter with ValueError
        print(f"ingest-query: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps([hit.to_dict() for hit in hits], ensure_ascii=False, indent=2))
        return EXIT_OK
    if hits and hits[0].note:
        print(f"note: {hits[0].note}")
    best = hits[0].score if hits else 0.0
    for rank, hit in enumerate(hits, 1):
        where_found = readable_path(hit.source) + (f", page {hit.page}" if hit.page else "")
        if hit.heading_path:
            where_found += f", {hit.heading_path}"
        snippet = " ".join(hit.text.split())
        print(f"{rank:2d}. {_shown_score(hit, best)}  {where_found}\n    {snippet[:300]}{'...' if len(snippet) > 300 else ''}")
    if not hits:
        print("no matching chunks")
    return EXIT_OK


def _shown_score(hit: Hit, best: float) -> str:
    """A score that tells hits apart. A fused (RRF) score is about 1/60 for every hit, so a hybrid
    hit shows its score relative to the best hit, then the sides' own scores; --json has them all."""
    if hit.mode != "hybrid":
        return f"{hit.score:.3f}"
    parts = [f"{hit.score / best if best else 0.0:.3f}"]
    if hit.dense_score is not None:
        parts.append(f"dense {hit.dense_score:.3f}")
    if hit.lexical_score is not None:
        parts.append(f"bm25 {hit.lexical_score:.2f}")
    return parts[0] + (f" ({', '.join(parts[1:])})" if len(parts) > 1 else "")


def eval_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ingest-eval",
        description=(
            "Compare embedding models, BM25 and hybrids on a retrieval dataset: MAP@10, hit@1, nDCG@10, "
            "recall@10/100, MRR@10 and long-document miss rate, with a Markdown, JSON and HTML report."
        ),
        epilog="example: ingest-eval --dataset data/ir/cranfield --models all --out eval-report/cranfield",
    )
    parser.add_argument(
        "--dataset", required=True, metavar="DIR",
        help="a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv), or a folder of files with "
        "queries.jsonl and qrels/<split>.tsv whose document ids are paths relative to the folder",
    )
    parser.add_argument(
        "--models", default="default", metavar="NAMES",
        help="'default', 'all', or registry names separated by commas; BM25 and hybrids are always added",
    )
    parser.add_argument(
        "--mode", default="both", choices=["beir", "files", "both"],
        help="beir: whole documents, exact search (the standard protocol); files: the corpus as PDF/Word/HTML "
        "files through the whole pipeline; both (default)",
    )
    parser.add_argument("--split", default="test", help="qrels split (default: test)")
    parser.add_argument("--out", metavar="DIR", help="report folder (default: eval-report/<dataset>)")
    parser.add_argument("--cache", metavar="DIR", help="cache of vectors and rendered files (default: .eval-cache beside the store)")
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object on stdout")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what each stage does")
    return parser


def eval_main(argv: Sequence[str] | None = None) -> int:
    args = eval_parser().parse_args(argv)
    _setup_logging(args.verbose)
    # Each step of a comparison takes minutes; say which one is running.
    logging.getLogger("pipeline.evaluation").setLevel(logging.INFO)
    from pathlib import Path

    from pipeline.evaluation import evaluate_models

    out = Path(args.out) if args.out else Path("eval-report") / Path(args.dataset).resolve().name
    command = "ingest-eval " + " ".join(sys.argv[1:] if argv is None else argv)
    try:
        data = evaluate_models(
            args.dataset, models=args.models, mode=args.mode, split=args.split, out=out,
            config=args.config, cache_dir=args.cache, progress=sys.stderr.isatty() and not args.json,
            command=command,
        )
    except IngestError as error:
        print(f"ingest-eval: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return EXIT_OK
    for warning in data["warnings"]:
        print(f"warning: {warning}")
    for row in data["results"]:
        print(
            f"{row['mode']:5s} {row['model']:32s} map@10 {row['map@10']:.4f}  hit@1 {row['hit@1']:.4f}  "
            f"ndcg@10 {row['ndcg@10']:.4f}  docs/s {row['docs_per_s'] if row['docs_per_s'] is not None else '-'}"
        )
    print(f"report: {out / 'report.html'} (also report.md, results.json, per_query.csv, runs/)")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(ingest_main())
