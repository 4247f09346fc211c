"""The `file in` node (Node-RED's "read file").

`format`: "utf8" one string (decoded with `encoding`), "" one bytes payload,
"lines" one message per line with `msg.parts` (type "string", ch "\\n"),
"stream" 64 KiB byte chunks with `msg.parts` (type "buffer"). Split messages
carry only `topic` and `filename` unless `allProps`. A read error is a
catchable node error and, with `sendError` (default), a message without a
payload and with `msg.error` = {message, code, errno, syscall, path}.
The file is read in a thread, chunk by chunk, so large files do not block the loop.
"""

from __future__ import annotations

import asyncio
import codecs

from flowrt import Node, NodeConfigError, register_type
from flowrt.lang.jsvalues import js_string
from flowrt.lang.nodefs import codec_for, decode_bytes, node_fs_error
from flowrt.util import clone_message, filename_property, message_filename

CHUNK = 64 * 1024  # Node's default highWaterMark for file streams


@register_type("file in")
class FileInNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "filename": {"type": "string"},
            "filenameType": {"type": "string"},
            "format": {"enum": ["", "utf8", "lines", "stream"]},
            "encoding": {"type": "string"},
            "allProps": {"type": ["boolean", "string"]},
            "sendError": {"type": ["boolean", "string"]},
        },
    }

    def setup(self) -> None:
        cfg = self.config
        self.filename, self.filename_type = filename_property(cfg)
        self.format = cfg.get("format") or ""
        self.encoding = js_string(cfg.get("encoding") or "none")
        try:
            codec_for(self.encoding)
        except LookupError as err:
            raise NodeConfigError(f"Unsupported encoding: {self.encoding}") from err
        self.all_props = cfg.get("allProps") in (True, "true")
        send_error = cfg.get("sendError")
        self.send_error = True if send_error is None else send_error in (True, "true")

    async def on_input(self, msg: dict, send, done) -> None:
        named = await message_filename(self, msg, done, strip_line_breaks=True)
        if named is None:
            return
        _filename, full = named
        try:
            fh = await asyncio.to_thread(open, full, "rb")
        except OSError as err:
            self._read_error(err, full, msg, send)
            done()
            return
        try:
            if self.format == "lines":
                await self._lines(fh, msg, send)
            elif self.format == "stream":
                await self._stream(fh, msg, send)
            else:
                data = await asyncio.to_thread(fh.read)
                msg["payload"] = decode_bytes(data, self.encoding) if self.format == "utf8" else data
                send(msg)
        except OSError as err:
            self._read_error(err, full, msg, send, "read")
        finally:
            await asyncio.to_thread(fh.close)
        done()

    def _part_msg(self, msg: dict) -> dict:
        if self.all_props:
            return clone_message(msg)
        return {"topic": msg.get("topic"), "filename": msg.get("filename")}

    async def _lines(self, fh, msg: dict, send) -> None:
        codec = codec_for(self.encoding)
        incremental = (
            None if codec in ("base64", "hex") else codecs.getincrementaldecoder(codec)(errors="replace")
        )
        spare = ""
        count = 0
        while True:
            chunk = await asyncio.to_thread(fh.read, CHUNK)
            if not chunk:
                break
            spare += incremental.decode(chunk) if incremental else decode_bytes(chunk, self.encoding)
            bits = spare.split("\n")
            for bit in bits[:-1]:
                m = self._part_msg(msg)
                m["payload"] = bit
                m["parts"] = {"index": count, "ch": "\n", "type": "string", "id": msg.get("_msgid")}
                count += 1
                send(m)
            spare = bits[-1]
        if incremental:
            spare += incremental.decode(b"", final=True)
        m = self._part_msg(msg)
        m["payload"] = spare
        m["parts"] = {
            "index": count,
            "count": count + 1,
            "ch": "\n",
            "type": "string",
            "id": msg.get("_msgid"),
        }
        send(m)

    async def _stream(self, fh, msg: dict, send) -> None:
        count = 0
        pending_end = False
        while True:
            chunk = await asyncio.to_thread(fh.read, CHUNK)
            if not chunk:
                break
            m = self._part_msg(msg)
            m["payload"] = chunk
            m["parts"] = {"index": count, "ch": "", "type": "buffer", "id": msg.get("_msgid")}
            count += 1
            pending_end = True
            if len(chunk) < CHUNK:
                pending_end = False
                m["parts"]["count"] = count
            send(m)
        if pending_end:
            # the last chunk filled a whole block: an extra part without payload closes the sequence
            send(
                {
                    "parts": {
                        "index": count,
                        "count": count,
                        "ch": "",
                        "type": "buffer",
                        "id": msg.get("_msgid"),
                    }
                }
            )

    def _read_error(self, err: OSError, path: str, msg: dict, send, syscall: str = "open") -> None:
        if syscall == "read" or isinstance(err, IsADirectoryError):
            # Node opens a directory for reading and fails at the first read; read errors name no path
            error = node_fs_error(err, "read")
        else:
            error = node_fs_error(err, "open", path)
        self.error("Error: " + error["message"], msg)
        if self.send_error:
            out = clone_message(msg)
            out.pop("payload", None)
            out["error"] = error
            send(out)

    def on_close(self, removed: bool) -> None:
        self.status({})
