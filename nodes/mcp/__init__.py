"""MCP servers as flow nodes (flowrt.mcp is the protocol)."""
