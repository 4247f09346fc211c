"""The baseline MCP servers of bench/scenarios_mcp.py: the `add` tool on uvicorn, served by the
official Python SDK (`mcp` 2.x MCPServer) or by the `fastmcp` package.

    python bench/mcp_baseline.py mcp-sdk|fastmcp PORT

Prints "Started flows ..." once uvicorn listens (the line bench/nodered.py waits for). Imports
nothing of flowrt or of the bench: the fastmcp server runs in a venv of its own.
"""

from __future__ import annotations

import asyncio
import sys

HOST = "127.0.0.1"
PATH = "/mcp"


def _add_tool_server(kind: str):
    """The MCP server object of `kind` with the one tool, `add`."""
    if kind == "mcp-sdk":
        from mcp.server.mcpserver import MCPServer

        server = MCPServer("bench", log_level="WARNING")
    else:
        from fastmcp import FastMCP

        server = FastMCP("bench")

    def add(a: float, b: float) -> float:
        """Add two numbers and return the sum."""
        return a + b

    server.tool()(add)
    return server


def _asgi_app(kind: str, server):
    if kind == "mcp-sdk":
        return server.streamable_http_app(streamable_http_path=PATH, json_response=True)
    return server.http_app(path=PATH, json_response=True, transport="http")


def serve(kind: str, port: int) -> None:
    """Serve the add tool with `kind` (mcp-sdk or fastmcp) on HOST:port until SIGTERM."""
    import uvicorn

    app = _asgi_app(kind, _add_tool_server(kind))
    config = uvicorn.Config(app, host=HOST, port=port, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)

    async def main() -> None:
        task = asyncio.get_running_loop().create_task(server.serve())
        while not server.started:
            if task.done():
                await task
                raise SystemExit(f"{kind}: uvicorn stopped before it started")
            await asyncio.sleep(0.05)
        print(f"Started flows ({kind} add tool on {HOST}:{port}{PATH})", flush=True)
        await task

    asyncio.run(main())  # uvicorn stops on SIGTERM by itself


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("mcp-sdk", "fastmcp"):
        serve(sys.argv[1], int(sys.argv[2]))
    else:
        print(__doc__)
        sys.exit(2)
