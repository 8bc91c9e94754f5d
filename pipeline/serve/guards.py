"""What stands between a client and the store: the bearer token, a limit on request bodies, and
the refusal to listen beyond this machine without a token.

The token is compared in constant time. The page's links to evaluation reports cannot carry a
header, so report files also accept the token from a cookie the page sets (``SameSite=Strict``:
another site's page never sends it); the API itself takes the header only.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.errors import ConfigError

TOKEN_COOKIE = "ingest_serve_token"
# Declared as a security scheme, so /docs shows the API's token and has an "Authorize" button.
_BEARER = HTTPBearer(auto_error=False, description="serve.token or $INGEST_SERVE_TOKEN, when the server has one")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class Unauthorized(Exception):
    """A request without the right token (401)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name may resolve to anything


def check_exposure(host: str, token: str | None) -> None:
    """Refuse to serve the store beyond this machine without a token."""
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"refusing to listen on {host} without a token: set serve.token or $INGEST_SERVE_TOKEN, "
            "or listen on 127.0.0.1"
        )


class TokenCheck:
    """A FastAPI dependency: the request must carry ``Authorization: Bearer <token>`` (or, with
    ``cookie=True``, the page's cookie) when a token is set; with none set, every request passes."""

    def __init__(self, token: str | None, *, cookie: bool = False) -> None:
        self.token = token
        self.cookie = cookie

    async def __call__(
        self, request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)] = None
    ) -> None:
        if not self.token:
            return
        given = credentials.credentials if credentials is not None else None
        if given is None and self.cookie:
            given = request.cookies.get(TOKEN_COOKIE)
        if given is None:
            raise Unauthorized("this server needs a bearer token: send 'Authorization: Bearer <token>'")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            raise Unauthorized("the bearer token is not the server's")


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets 413 before the app sees it.

    A declared Content-Length is checked first; a chunked body is counted as it arrives, and
    read whole (it is small by then) before the app is called with it.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._refuse(send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        limit_kb = self.max_bytes // 1024
        body = json.dumps(
            {"error": {"status": 413, "type": "BodyTooLarge",
                       "message": f"the request body is over {limit_kb} KiB (serve.max_body_kb)"}}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
