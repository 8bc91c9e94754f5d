"""`ingest-mcp`: the tools over stdio, called with the MCP package's own client from a real
subprocess, as a desktop MCP client would."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import anyio
import yaml
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.serve.conftest import ServedStore


def _server(config: Path) -> StdioServerParameters:
    """The installed `ingest-mcp` script where there is one, else the same entry point by module."""
    script = shutil.which("ingest-mcp", path=str(Path(sys.executable).parent))
    if script:
        return StdioServerParameters(command=script, args=["--config", str(config)])
    code = "import sys; from pipeline.serve.cli import mcp_main; sys.exit(mcp_main())"
    return StdioServerParameters(command=sys.executable, args=["-c", code, "--config", str(config)])


def _config(served: ServedStore, tmp_path: Path) -> Path:
    """The session store's settings as a config file for the subprocess."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(served.settings.model_dump(mode="json", exclude_none=True)), encoding="utf-8")
    return path


def _payload(result: Any) -> dict[str, Any]:
    """A tool's answer: its structured content, else the JSON of its text."""
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


async def _session_calls(config: Path) -> dict[str, Any]:
    found: dict[str, Any] = {}
    with (config.parent / "mcp-stderr.log").open("w") as errors:
        async with stdio_client(_server(config), errlog=errors) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            found["tools"] = {tool.name for tool in (await session.list_tools()).tools}
            found["zh"] = await session.call_tool("search", {"query": "采购单位是哪个政府？", "k": 3})
            found["en"] = await session.call_tool("search", {"query": "council approved budget", "k": 2, "mode": "lexical"})
            found["bad"] = await session.call_tool("search", {"query": "？！"})
            found["bad_where"] = await session.call_tool("search", {"query": "budget", "where": {"$nope": 1}})
            found["files"] = await session.call_tool("list_files", {"status": "failed"})
            found["collections"] = await session.call_tool("list_collections", {})
            found["after"] = await session.call_tool("search", {"query": "budget", "k": 1})
    return found


def test_the_mcp_tools_answer_over_stdio(served: ServedStore, tmp_path: Path) -> None:
    found = anyio.run(_session_calls, _config(served, tmp_path))
    assert {"search", "list_files", "list_collections"} <= found["tools"]
    zh = _payload(found["zh"])
    assert not found["zh"].is_error and zh["hits"][0]["source"].endswith("procurement-zh.docx")
    assert {"text", "source", "page", "heading_path", "score", "language", "note"} <= set(zh["hits"][0])
    en = _payload(found["en"])
    assert len(en["hits"]) == 2 and all("/notes/" in hit["source"] for hit in en["hits"])
    assert found["bad"].is_error and "no words" in found["bad"].content[0].text
    assert found["bad_where"].is_error and "where" in found["bad_where"].content[0].text
    files = _payload(found["files"])
    assert files["total"] == 3 and {item["category"] for item in files["files"]} == {"corrupt", "empty", "unsupported"}
    assert _payload(found["collections"])["default"] == "docs-fake"
    assert not found["after"].is_error  # an error did not stop the server
