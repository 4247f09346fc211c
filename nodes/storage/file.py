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
import base64
import binascii
import codecs
import os
from typing import Any

from flowrt import Node, NodeConfigError, register_type
from flowrt.lang import iconv_codecs
from flowrt.lang.jsvalues import js_join_item as js_to_string
from flowrt.lang.jsvalues import js_json_dumps, js_string

from .filename import filename_property, message_filename

CLOSE_TIMEOUT = 10.0

# iconv-lite names that Python spells differently.
_ALIASES = {
    "none": "utf-8",
    "ucs2": "utf-16-le",
    "ucs-2": "utf-16-le",
    "binary": "latin-1",
    "windows-31j": "cp932",
    "windows932": "cp932",
    "windows936": "gbk",
    "windows949": "cp949",
    "windows950": "cp950",
    "maccroatian": "mac-croatian",
    "macromania": "mac-romanian",
    "maccenteuro": "mac-latin2",
    "macintosh": "mac-roman",
    "macroman": "mac-roman",
    "hproman8": "hp-roman8",
}

# iconv-lite's single-byte code pages Python lacks (cp922, koi8-ru, viscii, ...), from the
# system's iconv where it has them; the others stay "Unsupported encoding".
iconv_codecs.register()


def codec_for(encoding: str | None) -> str:
    """The Python codec name for an iconv-lite encoding name; raises LookupError if unsupported."""
    name = (encoding or "none").strip()
    low = name.lower()
    if low in ("base64", "hex"):
        return low
    codec = _ALIASES.get(low, name)
    codecs.lookup(codec)
    return codec


def encode_text(data: str | bytes, encoding: str | None) -> bytes:
    """iconv.encode: text to bytes in `encoding` ("base64"/"hex" decode the text to bytes)."""
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    codec = codec_for(encoding)
    if codec == "base64":
        return base64.b64decode(data + "=" * (-len(data) % 4), validate=False)
    if codec == "hex":
        even = data[: len(data) - len(data) % 2]
        try:
            return binascii.unhexlify(even)
        except binascii.Error:
            return b""
    return data.encode(codec, errors="replace")


def decode_bytes(data: bytes, encoding: str | None) -> str:
    """iconv.decode: bytes in `encoding` to text ("base64"/"hex" encode the bytes as text)."""
    codec = codec_for(encoding)
    if codec == "base64":
        return base64.b64encode(data).decode("ascii")
    if codec == "hex":
        return data.hex()
    return data.decode(codec, errors="replace")


# libuv's uv_strerror texts, which Node's fs errors carry (Python's strerror words them otherwise)
_UV_TEXT = {
    "E2BIG": "argument list too long",
    "EACCES": "permission denied",
    "EAGAIN": "resource temporarily unavailable",
    "EBADF": "bad file descriptor",
    "EBUSY": "resource busy or locked",
    "EEXIST": "file already exists",
    "EFBIG": "file too large",
    "EINTR": "interrupted system call",
    "EINVAL": "invalid argument",
    "EIO": "i/o error",
    "EISDIR": "illegal operation on a directory",
    "ELOOP": "too many symbolic links encountered",
    "EMFILE": "too many open files",
    "EMLINK": "too many links",
    "ENAMETOOLONG": "name too long",
    "ENFILE": "file table overflow",
    "ENODEV": "no such device",
    "ENOENT": "no such file or directory",
    "ENOMEM": "not enough memory",
    "ENOSPC": "no space left on device",
    "ENOTDIR": "not a directory",
    "ENOTEMPTY": "directory not empty",
    "ENXIO": "no such device or address",
    "EPERM": "operation not permitted",
    "EPIPE": "broken pipe",
    "EROFS": "read-only file system",
    "ESPIPE": "invalid seek",
    "ETXTBSY": "text file is busy",
    "EXDEV": "cross-device link not permitted",
}


def node_fs_error(err: OSError, syscall: str, path: str | None = None) -> dict:
    """An OSError as Node's fs error object: {message, code, errno, syscall, path}, the message
    worded as Node does: "ENOENT: no such file or directory, open '/x/y'" (no path: "..., read")."""
    import errno

    code = errno.errorcode.get(err.errno or 0, "EIO")
    text = _UV_TEXT.get(code) or (err.strerror or str(err)).lower()
    where = f" '{path}'" if path is not None else ""
    error = {"message": f"{code}: {text}, {syscall}{where}", "code": code, "errno": -(err.errno or 0)}
    error["syscall"] = syscall
    if path is not None:
        error["path"] = path
    return error


def os_error_text(err: OSError, syscall: str, path: str | None = None) -> str:
    """The error's toString() as Node-RED prints it: "Error: ENOENT: ..., open '/x/y'"."""
    return "Error: " + node_fs_error(err, syscall, path)["message"]


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
    return js_to_string(payload)
