"""JSON-RPC 2.0 as MCP uses it: message shapes, error codes, protocol revisions, log levels."""

from __future__ import annotations

import base64
import json
from typing import Any

#: Protocol revisions this server speaks, newest first (the first is offered to a client asking
#: for one we do not know, as the lifecycle section of each revision says).
SUPPORTED_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
LATEST_VERSION = SUPPORTED_VERSIONS[0]
#: A Streamable HTTP request without MCP-Protocol-Version is read as this revision (2025-06-18).
DEFAULT_HTTP_VERSION = "2025-03-26"
#: Revisions whose transport accepts JSON-RPC batches (2025-06-18 removed them).
BATCH_VERSIONS = frozenset({"2024-11-05", "2025-03-26"})

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
#: MCP's own codes.
RESOURCE_NOT_FOUND = -32002
CONNECTION_CLOSED = -32000
REQUEST_TIMEOUT = -32001

#: RFC 5424 severities, lowest first (logging/setLevel).
LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
LOG_RANK = {name: rank for rank, name in enumerate(LOG_LEVELS)}


class McpError(Exception):
    """A request that gets a JSON-RPC error reply."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_error(self) -> dict:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def version_at_least(version: str | None, wanted: str) -> bool:
    """Revisions are dates: comparing the strings compares the dates."""
    return bool(version) and version >= wanted  # type: ignore[operator]


def negotiate(requested: Any) -> str:
    """The revision to answer an initialize with: the client's if we speak it, else our latest."""
    return requested if isinstance(requested, str) and requested in SUPPORTED_VERSIONS else LATEST_VERSION


def result(request_id: Any, value: dict) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "result": value}


def error(request_id: Any, code: int, message: str, data: Any = None) -> dict:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": err}


def notification(method: str, params: dict | None = None) -> dict:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    return message


def request(request_id: Any, method: str, params: dict | None = None) -> dict:
    message = notification(method, params)
    message["id"] = request_id
    return message


def kind(message: Any) -> str:
    """'request', 'notification', 'response' or 'invalid' (with no reply possible for the last)."""
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return "invalid"
    if "method" in message:
        if not isinstance(message["method"], str):
            return "invalid"
        if "params" in message and not isinstance(message["params"], (dict, list)):
            return "invalid"
        if "id" not in message:
            return "notification"
        return "request" if valid_id(message["id"]) else "invalid"
    if "id" in message and ("result" in message or "error" in message):
        return "response"
    return "invalid"


def valid_id(value: Any) -> bool:
    """MCP request ids are strings or integers (never null)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def invalid_reply(message: Any) -> dict:
    """The error reply to a message that is no JSON-RPC 2.0 message (its id if it had a usable one)."""
    request_id = message.get("id") if isinstance(message, dict) and valid_id(message.get("id")) else None
    return error(request_id, INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 request or notification")


_DECODER = json.JSONDecoder()


def parse(body: bytes) -> Any:
    """A POST body as JSON; McpError(PARSE_ERROR) if it is not JSON."""
    try:
        return _DECODER.decode(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as err:
        raise McpError(PARSE_ERROR, f"Parse error: {str(err)[:200]}") from None


def dumps(message: Any) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode("ascii")


def decode_cursor(cursor: Any) -> int:
    """A cursor we made back to an offset; McpError(INVALID_PARAMS) for any other value."""
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(str(cursor).encode("ascii")).decode("ascii")
        if text.startswith("o") and text[1:].isdigit():
            return int(text[1:])
    except (ValueError, UnicodeError):
        pass
    raise McpError(INVALID_PARAMS, f"Invalid params: unknown cursor {str(cursor)[:60]!r}")
