"""The filename typed input shared by the `file` (write) and `file in` (read) nodes."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from flowrt import Node
from flowrt.lang.jsvalues import js_join_item as js_to_string


def resolve_filename(node: Node, filename: str) -> str:
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


def filename_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else js_to_string(value)


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
    filename = filename_text(value)
    if strip_line_breaks:
        filename = filename.replace("\t", "").replace("\r", "").replace("\n", "")
    full = resolve_filename(node, filename)
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
