"""The pipeline's error tree mapped to HTTP status codes, and one JSON shape for every error.

    body not JSON, or not the JSON the API expects ....... 400 / 422
    ConfigError (a query with no words, a bad ``where``) .. 400
    missing or wrong bearer token ......................... 401
    NotFound (no such collection, file or route) .......... 404
    NotSearchable, CollectionMismatchError, StoreLockedError 409
    body over serve.max_body_kb ........................... 413
    StoreUnavailableError, StoreError, ModelError, EmbeddingError 503
    anything else ......................................... 500 (logged with its traceback)

Every error answers ``{"error": {"status": ..., "type": ..., "message": ...}}`` (validation
errors add ``details``), and the server goes on serving.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipeline.errors import (
    CollectionMismatchError,
    ConfigError,
    EmbeddingError,
    IngestError,
    ModelError,
    StoreError,
    StoreLockedError,
)
from pipeline.serve.guards import Unauthorized
from pipeline.serve.service import NotFound, NotSearchable

log = logging.getLogger(__name__)

# Most specific first: the first class an error is an instance of decides its status.
STATUS_OF: tuple[tuple[type[IngestError], int], ...] = (
    (ConfigError, 400),
    (NotFound, 404),
    (NotSearchable, 409),
    (CollectionMismatchError, 409),
    (StoreLockedError, 409),
    (StoreError, 503),
    (ModelError, 503),
    (EmbeddingError, 503),
)


def status_of(error: IngestError) -> int:
    return next((status for kind, status in STATUS_OF if isinstance(error, kind)), 500)


def problem(status: int, kind: str, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """The JSON error response every failure gets."""
    return JSONResponse({"error": {"status": status, "type": kind, "message": message, **extra}}, status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers that turn each kind of failure into its status and JSON body."""

    @app.exception_handler(IngestError)
    async def pipeline_error(request: Request, error: IngestError) -> JSONResponse:
        status = status_of(error)
        if status >= 500:
            log.warning("%s %s: %s: %s", request.method, request.url.path, type(error).__name__, error)
        return problem(status, type(error).__name__, str(error))

    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, error: Unauthorized) -> JSONResponse:
        return problem(401, "Unauthorized", str(error), headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type", "")}
            for item in error.errors()
        ]
        if any(item["type"] == "json_invalid" for item in details):
            return problem(400, "InvalidJSON", "the request body is not valid JSON", details=details)
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"] if part != "body") or "request"
        return problem(422, "InvalidRequest", f"{where}: {first['msg']}", details=details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        kind = "NotFound" if error.status_code == 404 else "HTTPError"
        return problem(error.status_code, kind, str(error.detail), headers=getattr(error, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return problem(500, "InternalError", f"the server failed on this request: {type(error).__name__}")
