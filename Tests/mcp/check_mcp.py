"""An MCP client, the official Python SDK's, against `orchestrate mcp`: starts it on stdio for a manifest, lists the
tools, and calls status, trigger (waiting for the run) and logs. Prints one JSON document with what it saw, which the
end-to-end test (Tests/EndToEndTests/MCPEndToEndTests.swift) checks.

Usage: check_mcp.py BINARY MANIFEST DAEMON
"""
import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def field(value, *names):
    """The first of `names` that `value` has: the SDK's 1.x spells them camelCase, its 2.x snake_case."""
    for name in names:
        if hasattr(value, name):
            return getattr(value, name)
    raise AttributeError(names[0])


def text(result) -> dict:
    return {
        "text": "".join(part.text for part in result.content if part.type == "text"),
        "is_error": field(result, "is_error", "isError"),
    }


async def main(binary: str, manifest: str, daemon: str) -> None:
    server = StdioServerParameters(command=binary, args=["-f", manifest, "mcp"])
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            initialized = await session.initialize()
            tools = await session.list_tools()
            seen = {
                "server": field(initialized, "server_info", "serverInfo").name,
                "protocol": field(initialized, "protocol_version", "protocolVersion"),
                "tools": sorted(tool.name for tool in tools.tools),
                "schemas": {tool.name: field(tool, "input_schema", "inputSchema") for tool in tools.tools},
                "status": text(await session.call_tool("status", {})),
                "trigger": text(await session.call_tool("trigger", {"name": daemon, "wait": True})),
                "logs": text(await session.call_tool("logs", {"name": daemon, "lines": 20})),
                "unknown": text(await session.call_tool("trigger", {"name": "no-such-daemon"})),
                "scale": text(await session.call_tool("scale", {"name": daemon, "replicas": 2})),
            }
    print(json.dumps(seen))


asyncio.run(main(*sys.argv[1:4]))
