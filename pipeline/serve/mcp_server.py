"""The store as MCP tools, for assistants and desktop MCP clients: ``search``, ``list_files``
and ``list_collections``, over stdio, through the official ``mcp`` package (its high-level
server, ``MCPServer``, which mcp 1.x called FastMCP).

A tool that gets bad input answers with an MCP tool error carrying the same message the HTTP API
gives, so the assistant can correct its call; the server goes on serving. Over stdio, standard
output is the protocol's: logging goes to standard error.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from pipeline.config import SearchMode
from pipeline.errors import IngestError
from pipeline.serve.service import SearchService

INSTRUCTIONS = (
    "Search documents (PDF, Word, HTML, text...) ingested into a local store. `search` returns the best "
    "chunks with their source file, page and heading path; cite them. `list_files` shows which files are "
    "in the store and why others could not be ingested."
)


def build_server(service: SearchService) -> MCPServer:
    """An MCP server whose tools answer from ``service``."""
    server = MCPServer(name="rag-ingest", instructions=INSTRUCTIONS)

    @server.tool()
    def search(
        query: str, k: int = 5, mode: SearchMode | None = None, where: dict[str, Any] | None = None,
        collection: str | None = None,
    ) -> dict[str, Any]:
        """Find the chunks of the ingested documents that best answer `query` (any language).

        k: how many chunks, best first. mode: hybrid (default: vectors and BM25 fused), dense or
        lexical. where: a Chroma metadata filter such as {"file_type": "pdf"}. collection: default
        the default model's (see list_collections). Each hit has text, source, page, heading_path,
        score (and the dense and lexical scores it was fused from), language and note.
        """
        try:
            return service.search(query, k=k, mode=mode, where=where, collection=collection).to_dict()
        except IngestError as error:
            raise ToolError(str(error)) from error

    @server.tool()
    def list_files(
        status: str | None = None, category: str | None = None, path_contains: str | None = None,
        limit: int = 50, offset: int = 0, collection: str | None = None,
    ) -> dict[str, Any]:
        """The collection's files by path with their state: ingested (with its chunk count), being
        written, or failed (with an error category such as corrupt, encrypted, timeout, and a message).

        status: ingested, writing or failed. category: only files failed that way. path_contains:
        only paths containing this text. limit (1-1000) and offset page through them; counts covers
        all files.
        """
        try:
            return service.files(
                collection=collection, status=status, category=category, path_contains=path_contains,
                limit=limit, offset=offset,
            ).to_dict()
        except IngestError as error:
            raise ToolError(str(error)) from error

    @server.tool()
    def list_collections() -> dict[str, Any]:
        """The store's collections: name, model, chunk and file counts, and which one is the default."""
        try:
            return {"default": service.default_collection, "collections": service.collections()}
        except IngestError as error:
            raise ToolError(str(error)) from error

    return server
