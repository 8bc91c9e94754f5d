"""Where a Chroma collection lives: an embedded folder, or a Chroma server over HTTP.

A backend hands :class:`pipeline.stores.chroma.ChromaStore` a client and wraps the collections it
opens; everything else (batching, metadata, one collection per model, sync) is the store's
and so the same for both. The server backend adds what a network needs: a connection check
that fails fast and names the URL, a timeout on every request, retries of transient failures
(connection errors, timeouts, 5xx, 429) with tenacity, and Chroma's HTTP errors mapped into
the project's error tree.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from tenacity import Retrying, before_sleep_log, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from pipeline.config import RetrySettings, StoreSettings
from pipeline.errors import StoreError, StoreUnavailableError

log = logging.getLogger(__name__)

T = TypeVar("T")

# Seconds the first heartbeat may take: a wrong URL should fail in seconds, not minutes.
_CONNECT_TIMEOUT_S = 5.0


class Backend(Protocol):
    """What :class:`~pipeline.stores.chroma.ChromaStore` needs from where its collection lives."""

    where: str  # the folder or URL, as messages name it

    def client(self) -> Any: ...

    def wrap(self, collection: Any) -> Any: ...


def _chroma_settings(**values: Any) -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, **values)


class EmbeddedChroma:
    """A ``PersistentClient`` folder: one writing process at a time (see :mod:`pipeline.state.lock`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.where = str(self.path)

    def client(self) -> Any:
        import chromadb

        self.path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(self.path), settings=_chroma_settings())

    def wrap(self, collection: Any) -> Any:
        return collection


class ChromaServer:
    """A Chroma server (``chroma run``); many processes and machines may write to it at once."""

    def __init__(
        self, url: str, *, token: str | None = None, tls_verify: bool | Path = True, timeout_s: float = 60.0,
        retry: RetrySettings | None = None,
    ) -> None:
        parts = urlsplit(url)
        self.url = url.rstrip("/")
        self.where = self.url
        self.host = parts.hostname or ""
        self.ssl = parts.scheme == "https"
        self.port = parts.port or (443 if self.ssl else 8000)
        self.token = token
        self.tls_verify = str(tls_verify) if isinstance(tls_verify, Path) else tls_verify
        self.timeout_s = timeout_s
        self.retry = retry or RetrySettings()

    @classmethod
    def from_settings(cls, store: StoreSettings, retry: RetrySettings | None = None) -> ChromaServer:
        assert store.url is not None
        return cls(store.url, token=store.token, tls_verify=store.tls_verify, timeout_s=store.timeout_s, retry=retry)

    def client(self) -> Any:
        """A connected ``HttpClient``; an unreachable or refusing server fails at once, by URL."""
        import chromadb
        import httpx

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        settings = _chroma_settings(chroma_server_ssl_verify=self.tls_verify) if self.ssl else _chroma_settings()
        try:
            self._check_heartbeat(httpx)
            client = chromadb.HttpClient(host=self.host, port=self.port, ssl=self.ssl, headers=headers, settings=settings)
        except StoreError:
            raise
        except Exception as error:  # noqa: BLE001 - the client raises ValueError, httpx or Chroma errors
            raise self.map_error(error, "cannot open") from error
        # chromadb's HTTP session has no timeout at all; a hung server would hang the run.
        session = getattr(getattr(client, "_server", None), "_session", None)
        if session is not None:
            session.timeout = httpx.Timeout(self.timeout_s, connect=_CONNECT_TIMEOUT_S)
        return client

    def _check_heartbeat(self, httpx: Any) -> None:
        verify = self.tls_verify if self.ssl else True
        try:
            response = httpx.get(f"{self.url}/api/v2/heartbeat", timeout=_CONNECT_TIMEOUT_S, verify=verify,
                                 headers={"Authorization": f"Bearer {self.token}"} if self.token else None)
        except httpx.TransportError as error:
            raise StoreUnavailableError(
                f"cannot reach the Chroma server at {self.url} ({type(error).__name__}: {error or 'no answer'}); "
                "is `chroma run` started there, and is store.url right?"
            ) from error
        if response.status_code in (401, 403):
            raise StoreUnavailableError(
                f"the Chroma server at {self.url} refused the connection ({response.status_code}); check store.token"
            )
        if response.status_code != 200:
            raise StoreUnavailableError(
                f"{self.url} answered the heartbeat with HTTP {response.status_code}; is it a Chroma server?"
            )

    def wrap(self, collection: Any) -> Any:
        return RetryingCollection(collection, self)

    def call(self, what: str, function: Callable[[], T]) -> T:
        """``function()`` with transient failures retried; what still fails becomes a StoreError."""
        retrying = Retrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(self.retry.attempts),
            wait=wait_exponential_jitter(initial=self.retry.initial_wait_s, max=self.retry.max_wait_s),
            before_sleep=before_sleep_log(log, logging.WARNING),
            reraise=True,
        )
        try:
            return retrying(function)
        except StoreError:
            raise
        except ValueError:
            raise  # the client's own argument checks, e.g. a malformed where filter
        except Exception as error:  # noqa: BLE001 - mapped into the error tree by kind
            raise self.map_error(error, what) from error

    def map_error(self, error: BaseException, what: str) -> StoreError:
        if is_transient(error) or _connection_refused(error):
            return StoreUnavailableError(
                f"the Chroma server at {self.url} is unavailable ({what}, after {self.retry.attempts} tries): "
                f"{type(error).__name__}: {error}"
            )
        return StoreError(f"the Chroma server at {self.url} refused to {what}: {type(error).__name__}: {error}")


class RetryingCollection:
    """A server collection whose reads and writes go through :meth:`ChromaServer.call`.

    Retrying a write is safe: ids are content hashes, so an upsert sent twice stores once.
    """

    _CALLS = ("upsert", "delete", "get", "query", "count")

    def __init__(self, collection: Any, server: ChromaServer) -> None:
        self._collection = collection
        self._server = server

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._collection, name)
        if name not in self._CALLS:
            return attribute
        return lambda *args, **kwargs: self._server.call(name, lambda: attribute(*args, **kwargs))


def _status(error: BaseException) -> int | None:
    """The HTTP status behind a client error, where there is one."""
    import httpx
    from chromadb.errors import ChromaError

    if isinstance(error, httpx.HTTPStatusError):
        return error.response.status_code
    if isinstance(error, ChromaError):
        return error.code()
    # For a response that is not Chroma's JSON (a proxy's 502, say) chromadb raises a bare
    # Exception inside its `except httpx.HTTPStatusError`, so the status is in the context.
    context = error.__context__
    if isinstance(context, httpx.HTTPStatusError):
        return context.response.status_code
    return None


def is_transient(error: BaseException) -> bool:
    """Worth another try: the network, a timeout, the server busy or failing (5xx, 429)."""
    import httpx

    if isinstance(error, (httpx.TransportError, ConnectionError, TimeoutError)):
        return True
    status = _status(error)
    return status is not None and (status >= 500 or status == 429)


def _connection_refused(error: BaseException) -> bool:
    # chromadb turns a refused connection into ValueError("Could not connect to a Chroma server...").
    return isinstance(error, ValueError) and "could not connect" in str(error).lower()
