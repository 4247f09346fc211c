"""What a node module needs besides `flowrt.Node`: Node-RED's `RED.util`, in Python names.

Built-in and user node modules import helpers from here (and from `flowrt`), never from engine
modules, so the engine can change inside without breaking a node.

| Node-RED `RED.util`          | here                                   |
|------------------------------|----------------------------------------|
| getMessageProperty           | get_message_property                   |
| setMessageProperty           | set_message_property                   |
| (delete via setMessageProperty undefined) | delete_message_property   |
| getObjectProperty / set...   | get_object_property / set_object_property |
| normalisePropertyExpression  | normalise_property_expression          |
| cloneMessage / generateId    | clone_message / generate_id            |
| evaluateNodeProperty         | evaluate_node_property                 |
| prepareJSONataExpression     | prepare_jsonata                        |
| evaluateJSONataExpression    | evaluate_jsonata                       |
| parseContextStore            | parse_context_store                    |
| ensureString                 | ensure_string                          |
| mustache.render (templates)  | render_mustache                        |
| proxyHelper.getProxyForUrl   | proxy_for_url                          |

Besides RED.util, what several built-in nodes share (so no node module imports another):
`error_text` (an error as Node-RED shows it), `monotonic` / `wall_time` (the runtime's clock,
virtual under `flowrt.testing`), `answer_if_open` (answer a live HTTP response nothing was sent
on), `drop_wired_targets` (the `scope` rule of `status` and `complete`), `unescape_separator`
(the editor's `\\n`-style escapes in a separator), and the filename typed input of the
`file` / `file in` nodes (`filename_property`, `message_filename`).

`flowrt.util.js` holds JavaScript's value semantics (`String()`, `Number()`, `typeof`, `undefined`,
`JSON.stringify`, comparisons) for nodes that must treat values as Node-RED's JavaScript does.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from flowrt.engine.clock import monotonic, wall_time
from flowrt.engine.live import answer_if_open
from flowrt.engine.message import clone_message, clone_value, generate_id
from flowrt.engine.node import Node, error_text
from flowrt.http.proxyenv import proxy_for_url
from flowrt.lang import jsvalues as js
from flowrt.lang.jsvalues import UNDEFINED, ensure_string, is_undefined, js_join_item
from flowrt.lang.mustache import render as render_mustache
from flowrt.lang.propertypath import (
    PropertyPathError,
    delete_message_property,
    delete_object_property,
    get_message_property,
    get_object_property,
    get_property_or_undefined,
    has_message_property,
    normalise_property_expression,
    parse_context_store,
    set_message_property,
    set_object_property,
)
from flowrt.lang.typedinput import (
    JsonataError,
    TypedInputError,
    evaluate_jsonata,
    evaluate_node_property,
    prepare_jsonata,
)

__all__ = [
    "UNDEFINED",
    "JsonataError",
    "PropertyPathError",
    "TypedInputError",
    "answer_if_open",
    "clone_message",
    "clone_value",
    "delete_message_property",
    "delete_object_property",
    "drop_wired_targets",
    "ensure_string",
    "error_text",
    "evaluate_jsonata",
    "evaluate_node_property",
    "filename_property",
    "generate_id",
    "get_message_property",
    "get_object_property",
    "get_property_or_undefined",
    "has_message_property",
    "is_undefined",
    "js",
    "message_filename",
    "monotonic",
    "normalise_property_expression",
    "parse_context_store",
    "prepare_jsonata",
    "proxy_for_url",
    "render_mustache",
    "set_message_property",
    "set_object_property",
    "unescape_separator",
    "wall_time",
]


def drop_wired_targets(node: Node) -> None:
    """Remove from the node's `scope` list the nodes it is wired to (no simple loopback): the
    rule of the `status` and `complete` nodes."""
    scope = node.config.get("scope")
    if not isinstance(scope, list):
        return
    wired = {target for port in node.wires for target in port}
    node.config["scope"] = [source for source in scope if source not in wired]


_SEPARATOR_ESCAPES = (
    ("\\n", "\n"),
    ("\\r", "\r"),
    ("\\t", "\t"),
    ("\\e", "\x1b"),
    ("\\f", "\f"),
    ("\\0", "\0"),
)


def unescape_separator(text: str) -> str:
    """The editor writes control characters as backslash escapes: \\n, \\r, \\t, \\e, \\f, \\0."""
    for escaped, char in _SEPARATOR_ESCAPES:
        text = text.replace(escaped, char)
    return text


# The filename typed input of the `file` (write) and `file in` (read) nodes.


def _resolve_filename(node: Node, filename: str) -> str:
    cwd = node.settings.get("fileWorkingDirectory")
    if filename and cwd and not os.path.isabs(filename):
        return os.path.abspath(os.path.join(str(cwd), filename))
    return filename


def filename_property(config: dict) -> tuple[str, str]:
    """(value, type) of the filename typed input, upgrading pre-3.0 configs as Node-RED does."""
    filename = config.get("filename") or ""
    ftype = config.get("filenameType") or ""
    if not ftype:
        if filename == "":
            return "filename", "msg"
        return filename, "str"
    return filename, ftype


def _filename_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else js_join_item(value)


async def message_filename(
    node: Node,
    msg: dict,
    done: Callable[[], None],
    *,
    strip_line_breaks: bool = False,
    empty_sets_msg: bool = False,
) -> tuple[str, str] | None:
    """(filename, full path) for `msg` from the node's `filename`/`filename_type` typed input,
    with `msg.filename` set to it; the node's status shows it when no static filename is set.

    None once the message is finished (`done()` called) because the evaluation failed (node
    error) or the name is empty (warning "No filename specified").
    `strip_line_breaks`: tabs and line breaks are dropped from the name (`file in`).
    `empty_sets_msg`: an empty name is still stored in `msg.filename` (the write node does so
    before it checks the name, as Node-RED's does)."""
    try:
        value = node.evaluate(node.filename, node.filename_type, msg)
        if asyncio.iscoroutine(value):
            value = await value
    except Exception as err:
        node.error(err, msg)
        done()
        return None
    filename = _filename_text(value)
    if strip_line_breaks:
        filename = filename.replace("\t", "").replace("\r", "").replace("\n", "")
    full = _resolve_filename(node, filename)
    if not node.config.get("filename"):
        node.status({"fill": "grey", "shape": "dot", "text": filename})
    if filename == "":
        if empty_sets_msg:
            msg["filename"] = filename
        node.warn("No filename specified")
        done()
        return None
    msg["filename"] = filename
    return filename, full
