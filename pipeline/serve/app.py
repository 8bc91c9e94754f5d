"""The HTTP service: a search API over a store, and a page to search it and check its files.

    GET  /health                 liveness, no token needed
    POST /search                 {"query", "k", "mode", "where", "collection"} -> {"hits": [...]}
    GET  /collections            the store's collections, their models and sizes
    GET  /files                  each file's state, paged (?limit=&offset=&status=&category=&q=)
    GET  /files/{doc_id}/chunks  one file's chunks in the order they were cut
    GET  /reports                ingest-eval reports found; /reports/{name}/... serves them
    GET  /                       the page (static files under /static, no build step, no CDN)
    GET  /docs, /openapi.json    the API's reference, made by FastAPI

The endpoints that touch the store are plain functions: FastAPI runs them in its thread pool,
and each hands its work to the collection's own thread (see :mod:`pipeline.serve.service`).
"""

# No `from __future__ import annotations` here: FastAPI reads the endpoints' annotations at
# run time, and the search body's class is made inside create_app (its k bound is a setting).

import importlib.metadata
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from pipeline.config import Settings
from pipeline.serve import problems
from pipeline.serve.files import FILE_STATUSES
from pipeline.serve.guards import BodyLimit, TokenCheck
from pipeline.serve.reports import list_reports, report_file, reports_folder
from pipeline.serve.schemas import (
    CollectionsResponse,
    FileChunksResponse,
    FilesResponse,
    Health,
    Problem,
    ReportsResponse,
    SearchResponse,
    search_request,
)
from pipeline.serve.service import MAX_FILES_PAGE, NotFound, SearchService

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
# The page loads nothing from elsewhere; say so to the browser, so injected markup could not either.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": text}
    for status, text in (
        (400, "bad input: broken JSON, a query with no words, a 'where' Chroma refuses"),
        (401, "the bearer token is missing or wrong"),
        (404, "no such collection or file"),
        (409, "the collection cannot be searched with this configuration's model"),
        (413, "the request body is over serve.max_body_kb"),
        (422, "a field is missing, of the wrong type or out of range (k, mode...)"),
        (503, "the store or the model cannot be used right now"),
    )
}


def _version() -> str:
    try:
        return importlib.metadata.version("rag-ingest")
    except importlib.metadata.PackageNotFoundError:
        return "0"


def create_app(settings: Settings, *, service: SearchService | None = None, warm_up: bool = True) -> FastAPI:
    """The app over the store of ``settings``; ``service`` shares one already open (tests, benchmarks)."""
    service = service or SearchService(settings)
    token = settings.serve.resolved_token()
    reports = reports_folder(settings.serve.eval_reports)
    search_body = search_request(settings.serve.max_k)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm_up:
            service.warm_up()  # in the collection's thread: the first search finds everything loaded
        yield
        service.close()

    app = FastAPI(
        title="rag-ingest search",
        version=_version(),
        description="Search a store built by `ingest`, list its collections and the state of each file. "
        "When the server has a token, every endpoint but /health, / and the docs needs "
        "`Authorization: Bearer <token>`.",
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.serve.max_body_kb * 1024)
    problems.install(app)
    api = APIRouter(dependencies=[Depends(TokenCheck(token))], responses=_ERRORS)

    @api.post("/search", response_model=SearchResponse, summary="Search the store")
    def search(body: search_body) -> dict[str, Any]:  # type: ignore[valid-type] - a class made above
        """The `k` best chunks for `query`, best first, with where each came from and its scores."""
        return service.search(
            body.query, k=body.k, mode=body.mode, where=body.where, collection=body.collection
        ).to_dict()

    @api.get("/collections", response_model=CollectionsResponse, summary="The store's collections")
    def collections() -> dict[str, Any]:
        return {"default": service.default_collection, "max_k": service.max_k, "collections": service.collections()}

    @api.get("/files", response_model=FilesResponse, summary="Each file's state, paged")
    def files(
        collection: str | None = None,
        status: str | None = Query(None, description=f"one of {', '.join(FILE_STATUSES)}"),
        category: str | None = Query(None, description="an error category: corrupt, encrypted, timeout..."),
        q: str | None = Query(None, max_length=500, description="only paths containing this text"),
        limit: int = Query(100, ge=1, le=MAX_FILES_PAGE),
        offset: int = Query(0, ge=0),
    ) -> dict[str, Any]:
        """Ingested files with their chunk counts, and files not ingested with the category and
        message of their failure (remembered by the manifest, or from the last run's errors file)."""
        page = service.files(
            collection=collection, status=status, category=category, path_contains=q, limit=limit, offset=offset
        )
        return page.to_dict()

    @api.get("/files/{doc_id}/chunks", response_model=FileChunksResponse, summary="A file's chunks, in order")
    def file_chunks(doc_id: str, collection: str | None = None) -> dict[str, Any]:
        """How the file was cut: its chunks by `chunk_index`, with page, headings and token counts."""
        return service.file_chunks(doc_id, collection=collection)

    @api.get("/reports", response_model=ReportsResponse, summary="Evaluation reports found")
    def report_list() -> dict[str, Any]:
        return {"reports": [vars(report) for report in list_reports(reports)]}

    app.include_router(api)

    @app.get(
        "/reports/{name}/{path:path}", dependencies=[Depends(TokenCheck(token, cookie=True))],
        include_in_schema=False,
    )
    def report_page(name: str, path: str) -> FileResponse:
        found = report_file(reports, name, path)
        if found is None:
            raise NotFound(f"no file '{path}' in report '{name}'")
        return FileResponse(found, headers={"X-Content-Type-Options": "nosniff"})

    @app.get("/health", response_model=Health, summary="Liveness (no token needed)")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": _version()}

    @app.get("/", include_in_schema=False)
    def page() -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers=_PAGE_HEADERS)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
