"""The `file` node (Node-RED's "write file"): write, append to or delete a file.

`filename` is a typed input (`filenameType` str, msg, env, jsonata, ...); an empty
static filename means `msg.filename` (Node-RED's pre-3.0 behaviour). Relative
names resolve against the `fileWorkingDirectory` setting when it is set.
`overwriteFile` is "true" (write), "false" (append) or "delete". The payload is
written as is for bytes, JSON for objects and arrays, text otherwise, encoded
with `encoding` ("none" = UTF-8; "setbymsg" takes `msg.encoding`); `appendNewline`
adds the OS line end except after the last part of a string sequence;
`createDir` creates missing directories. Messages are written one at a time in
arrival order, each opening the file for its write (appends therefore follow a
file that was deleted or replaced meanwhile). Blocking file calls run in a thread.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from flowrt import Node, NodeConfigError, register_type
from flowrt.lang.jsvalues import js_join_item, js_json_dumps, js_string
from flowrt.lang.nodefs import codec_for, encode_text, os_error_text
from flowrt.util import filename_property, message_filename

CLOSE_TIMEOUT = 10.0


@register_type("file")
class FileNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "filename": {"type": "string"},
            "filenameType": {"type": "string"},
            "appendNewline": {"type": ["boolean", "string"]},
            "overwriteFile": {"type": ["boolean", "string"]},
            "createDir": {"type": ["boolean", "string"]},
            "encoding": {"type": "string"},
        },
    }

    def setup(self) -> None:
        cfg = self.config
        self.filename, self.filename_type = filename_property(cfg)
        self.static_name = bool(cfg.get("filename")) and self.filename_type in ("str", "env")
        self.append_newline = cfg.get("appendNewline") in (True, "true")
        overwrite = cfg.get("overwriteFile", "false")
        self.overwrite = "true" if overwrite is True else "false" if overwrite is False else str(overwrite)
        self.create_dir = cfg.get("createDir") in (True, "true")
        self.encoding = js_string(cfg.get("encoding") or "none")
        if self.encoding != "setbymsg":
            try:
                codec_for(self.encoding)
            except LookupError as err:
                raise NodeConfigError(f"Unsupported encoding: {self.encoding}") from err
        self._lock = asyncio.Lock()
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def on_input(self, msg: dict, send, done) -> None:
        self._inflight += 1
        self._idle.clear()
        try:
            async with self._lock:  # one write at a time, in arrival order
                await self._process(msg, send, done)
        finally:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.set()

    async def _process(self, msg: dict, send, done) -> None:
        named = await message_filename(self, msg, done, empty_sets_msg=True)
        if named is None:
            return
        filename, full = named
        if self.overwrite == "delete":
            try:
                await asyncio.to_thread(os.unlink, full)
            except OSError as err:
                self.error(f"failed to delete file: {os_error_text(err, 'unlink', full)}", msg)
            else:
                self.debug(f"deleted file: {filename}")
                send(msg)
            done()
            return
        if "payload" not in msg:
            done()
            return
        if self.create_dir:
            try:
                await asyncio.to_thread(os.makedirs, os.path.dirname(full) or ".", exist_ok=True)
            except OSError as err:
                self.error(f"failed to create file: {os_error_text(err, 'mkdir', err.filename)}", msg)
                done()
                return
        data = _payload_data(msg["payload"])
        parts = msg.get("parts")
        last_part = (
            isinstance(parts, dict)
            and parts.get("type") == "string"
            and parts.get("count") is not None
            and parts.get("count") == (parts.get("index") or 0) + 1
        )
        if self.append_newline and isinstance(data, str) and not last_part:
            data += os.linesep
        encoding = (msg.get("encoding") or "none") if self.encoding == "setbymsg" else self.encoding
        try:
            buf = encode_text(data, encoding)
        except LookupError:
            self.error(f"Unsupported encoding: {encoding}", msg)
            done()
            return
        mode = "wb" if self.overwrite == "true" else "ab"
        try:
            await asyncio.to_thread(_write, full, buf, mode)
        except OSError as err:
            what = "failed to write to file" if mode == "wb" else "failed to append to file"
            self.error(f"{what}: {os_error_text(err, 'open', full)}", msg)
            done()
            return
        send(msg)
        done()

    async def on_close(self, removed: bool) -> None:
        # as Node-RED does, messages already queued are written before the node closes
        try:
            await asyncio.wait_for(self._idle.wait(), CLOSE_TIMEOUT)
        except TimeoutError:
            self.warn("closing with writes still pending")
        self.status({})


def _write(path: str, data: bytes, mode: str) -> None:
    with open(path, mode) as fh:
        fh.write(data)


def _payload_data(payload: Any) -> str | bytes:
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    if isinstance(payload, str):
        return payload
    if isinstance(payload, (dict, list)) or payload is None:
        return js_json_dumps(payload)
    return js_join_item(payload)
