"""What Node's `fs` module and iconv-lite do for the file nodes, in Python.

Encoding names as iconv-lite spells them (`codec_for`), `iconv.encode` / `iconv.decode`
(`encode_text`, `decode_bytes`), and an OSError as Node's fs error object, worded with libuv's
texts (`node_fs_error`, `os_error_text`). Pure functions: no engine imports.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import errno

from flowrt.lang import iconv_codecs

# iconv-lite's single-byte code pages Python lacks (cp922, koi8-ru, viscii, ...), from the
# system's iconv where it has them; the others stay "Unsupported encoding".
iconv_codecs.register()

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
