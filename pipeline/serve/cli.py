"""``ingest-serve`` (the HTTP API and the page) and ``ingest-mcp`` (MCP over stdio).

Exit codes as for the other commands: 0 a clean stop, 2 a usage or configuration error (an
unknown key, a non-loopback host without a token). Neither command takes the writer's lock, so
both run beside an ``ingest`` that is writing the store.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pipeline.config import load_settings
from pipeline.errors import IngestError
from pipeline.serve.guards import check_exposure

EXIT_OK, EXIT_USAGE = 0, 2
CONFIG_HELP = "settings file (default: $INGEST_CONFIG, else ./config.yaml, else built-in defaults)"


def serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ingest-serve",
        description="Serve a store over HTTP: a search API (POST /search), collections, file states, "
        "and a search page at /. API reference at /docs.",
        epilog="example: ingest-serve --config config.yaml --port 8000\n"
        '         curl -s localhost:8000/search -H "Content-Type: application/json" -d \'{"query": "budget", "k": 3}\'',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    parser.add_argument(
        "--host", help="address to listen on (default: serve.host, 127.0.0.1); any other than loopback needs a token"
    )
    parser.add_argument("--port", type=int, help="port (default: serve.port, 8000)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each request and what each stage does")
    return parser


def mcp_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ingest-mcp",
        description="Serve a store to MCP clients over stdio: tools search, list_files and list_collections.",
        epilog='example (a desktop client\'s config): {"command": "ingest-mcp", "args": ["--config", "/path/config.yaml"]}',
    )
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    parser.add_argument("-v", "--verbose", action="store_true", help="log to standard error what each stage does")
    return parser


def _logging(verbose: bool) -> None:
    # To standard error: over MCP's stdio, standard output carries the protocol.
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


def serve_main(argv: Sequence[str] | None = None) -> int:
    args = serve_parser().parse_args(argv)
    _logging(args.verbose)
    try:
        settings = load_settings(args.config)
        host = args.host or settings.serve.host
        port = args.port or settings.serve.port
        check_exposure(host, settings.serve.resolved_token())
    except IngestError as error:
        print(f"ingest-serve: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    import uvicorn

    from pipeline.serve.app import create_app

    uvicorn.run(
        create_app(settings), host=host, port=port, log_level="info" if args.verbose else "warning",
        access_log=args.verbose, server_header=False,
    )
    return EXIT_OK


def mcp_main(argv: Sequence[str] | None = None) -> int:
    args = mcp_parser().parse_args(argv)
    _logging(args.verbose)
    try:
        settings = load_settings(args.config)
    except IngestError as error:
        print(f"ingest-mcp: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    from pipeline.serve.mcp_server import build_server
    from pipeline.serve.service import SearchService

    service = SearchService(settings)
    service.warm_up()
    try:
        build_server(service).run("stdio")
    finally:
        service.close()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(serve_main())
