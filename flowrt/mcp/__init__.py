"""MCP (the Model Context Protocol) as part of the runtime: the protocol core the `mcp-*` nodes use.

* `protocol`: JSON-RPC 2.0 messages, error codes, revisions, log levels, cursors;
* `session`: sessions, their resumable SSE streams, the calls a flow is answering;
* `features`: tools, resources, prompts, and how a flow's value becomes a result;
* `server`: `McpServer` (what each method does) and the runtime's registry of servers;
* `transport`: Streamable HTTP and the legacy HTTP+SSE pair as routes on flowrt.http's server;
* `auth` (when present): bearer tokens and OAuth 2.1 resource-server checks.

It uses flowrt.http, flowrt.lang and (when a schema needs it, or a call is validated) jsonschema; node modules (nodes/mcp) use it. See docs/mcp.md.
"""
