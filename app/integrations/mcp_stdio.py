"""``chronorag mcp``: the MCP server on stdio, for agents that launch their tools as processes.

It relays to the streamable HTTP endpoint of a running ``chronorag serve`` (``--url``,
``--api-key``) instead of building the service in-process, because:

- one implementation of the tools: the relay forwards ``tools/list`` and ``tools/call`` to
  ``/mcp`` (`app.api.mcp_server`), so stdio and HTTP cannot drift apart;
- one process per embedded data folder: embedded Qdrant is opened by one process only, so an
  in-process stdio server could not run beside ``serve`` on the same folder, and each agent
  would load the embedding model again;
- the key is checked, and the tenant chosen, by the server, exactly as for REST.

Each relayed request opens its own short connection (the endpoint is stateless), so a
restarted ``serve`` is transparent to the agent. The relay checks the URL and key once at
start and exits with a fix-it message on stderr when either is wrong; stdout carries only
the protocol.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

__all__ = ["McpRelay", "innermost", "run_stdio"]

T = TypeVar("T")


def innermost(exc: BaseException) -> BaseException:
    """The one exception inside (nested) single-exception groups, as task groups wrap them."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


class McpRelay:
    """Forwards MCP requests to ``{url}/mcp`` with the API key as ``Authorization: Bearer``."""

    def __init__(self, url: str, api_key: str | None, timeout_s: float = 120.0) -> None:
        self.endpoint = url.rstrip("/") + "/mcp"
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout_s = timeout_s

    async def _call(self, op: Callable[[Client], Awaitable[T]]) -> T:
        """Run ``op`` on a fresh connection; the service's JSON-RPC errors pass through
        unchanged, a failure to reach it becomes an internal error naming the URL."""
        http = httpx2.AsyncClient(headers=self._headers, timeout=httpx2.Timeout(self._timeout_s))
        try:
            async with (
                http,
                Client(
                    streamable_http_client(self.endpoint, http_client=http),
                    read_timeout_seconds=self._timeout_s,
                    cache=None,
                ) as upstream,
            ):
                return await op(upstream)
        except Exception as exc:
            inner = innermost(exc)
            if isinstance(inner, MCPError):
                raise inner from None
            raise MCPError(
                types.INTERNAL_ERROR,
                f"chronorag at {self.endpoint} did not answer ({type(inner).__name__}: {inner}); "
                "is `chronorag serve` running there? (another address: --url or CHRONORAG_URL)",
            ) from None

    async def instructions(self) -> str | None:
        """The service's instructions; raises `MCPError` when the URL or key is wrong."""

        async def probe(upstream: Client) -> str | None:
            await upstream.list_tools()  # the key is checked on every request
            return upstream.instructions

        return await self._call(probe)

    async def list_tools(
        self, _ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        cursor = params.cursor if params is not None else None
        return await self._call(lambda upstream: upstream.list_tools(cursor=cursor))

    async def call_tool(
        self, _ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        return await self._call(
            lambda upstream: upstream.call_tool(params.name, params.arguments or {})
        )

    async def serve(self) -> None:
        """Serve stdin/stdout until the agent closes them."""
        server: Server[Any] = Server(
            "chronorag",
            instructions=await self.instructions(),
            on_list_tools=self.list_tools,
            on_call_tool=self.call_tool,
        )
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())


def run_stdio(url: str, api_key: str | None, timeout_s: float = 120.0) -> int:
    """Relay stdio to ``url``; 0 when the agent hangs up, 2 (after a message) when the
    service cannot be reached or refuses the key."""
    relay = McpRelay(url, api_key, timeout_s)
    try:
        anyio.run(relay.serve)
    except MCPError as exc:
        print(f"chronorag mcp: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0
