"""Single-byte code pages Python lacks, taken from the system's iconv (glibc, libiconv).

Node-RED's `file` / `file in` nodes encode through iconv-lite, which knows a number of
single-byte code pages that Python's standard codecs do not (cp922, koi8-ru, viscii, ...).
For each of them this module derives a 256-entry decoding table once, by converting every
byte 0..255 on its own through libc's `iconv` (via ctypes) to UTF-8, and registers a Python
charmap codec under the iconv-lite name (`register()`; lookups ignore case and punctuation,
as iconv-lite does: "KOI8-RU", "koi8_ru" and "koi8ru" are the same).

A byte iconv rejects (EILSEQ) is undefined in the table: decoding it is an error (U+FFFD
with errors="replace"), as it is for iconv-lite. A charset whose single bytes do not each
convert to at most one character (a multi-byte charset, a byte iconv leaves incomplete) is
refused. If iconv or a charset is missing, the name is simply not registered, so callers
keep reporting the encoding as unsupported rather than writing wrongly encoded data.

TCVN 5712 is decoded by glibc with composition (a base letter followed by one of the
combining bytes 0xB0-0xB4 becomes one precomposed character) and encoded with
decomposition. iconv-lite, and so Node-RED, treats it as a plain single-byte table; the
table derived here byte by byte is that same table, so flowrt matches Node-RED (decoding
gives the base letter and a combining mark, which is canonically equivalent).
"""

from __future__ import annotations

import codecs
import ctypes
import ctypes.util
import errno
import re
import threading

# iconv-lite name (lower case, letters and digits only) -> iconv spellings to try in order.
CHARSETS: dict[str, tuple[str, ...]] = {
    "cp808": ("CP808", "IBM808", "IBM-808"),
    "cp922": ("CP922", "IBM922"),
    "cp1046": ("CP1046", "IBM1046"),
    "cp1124": ("CP1124", "IBM1124"),
    "cp1129": ("CP1129", "IBM1129"),
    "cp1133": ("CP1133", "IBM1133"),
    "cp1161": ("CP1161", "IBM1161"),
    "cp1162": ("CP1162", "IBM1162"),
    "cp1163": ("CP1163", "IBM1163"),
    "macthai": ("MACTHAI", "MAC-THAI", "MACINTOSH-THAI"),
    "macukraine": ("MACUKRAINE", "MACUKRAINIAN", "MAC-UKRAINIAN"),
    "koi8ru": ("KOI8-RU",),
    "armscii8": ("ARMSCII-8", "ARMSCII8"),
    "tcvn": ("TCVN5712-1", "TCVN", "TCVN-5712"),
    "georgianacademy": ("GEORGIAN-ACADEMY",),
    "georgianps": ("GEORGIAN-PS",),
    "viscii": ("VISCII",),
    "iso646cn": ("ISO646-CN",),
    "iso646jp": ("ISO646-JP",),
}

_UNDEFINED = "\ufffe"  # charmap tables mark an unmapped byte with U+FFFE
_lock = threading.Lock()
_tables: dict[str, tuple[str, dict[int, int]] | None] = {}
_codecs: dict[str, codecs.CodecInfo | None] = {}
_registered = False


def _normalize(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


class _Iconv:
    """The three iconv functions of the C library, or unavailable."""

    def __init__(self) -> None:
        self.ok = False
        for libname in (ctypes.util.find_library("c"), ctypes.util.find_library("iconv")):
            if not libname:
                continue
            try:
                lib = ctypes.CDLL(libname, use_errno=True)
                open_, conv, close = lib.iconv_open, lib.iconv, lib.iconv_close
            except (OSError, AttributeError):
                continue
            open_.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
            open_.restype = ctypes.c_void_p
            pp = ctypes.POINTER(ctypes.POINTER(ctypes.c_char))
            sp = ctypes.POINTER(ctypes.c_size_t)
            conv.argtypes = [ctypes.c_void_p, pp, sp, pp, sp]
            conv.restype = ctypes.c_size_t
            close.argtypes = [ctypes.c_void_p]
            close.restype = ctypes.c_int
            self.open, self.conv, self.close = open_, conv, close
            self.ok = True
            return


_iconv: _Iconv | None = None
_FAIL_HANDLE = ctypes.c_void_p(-1).value
_FAIL_SIZE = ctypes.c_size_t(-1).value


def _lib() -> _Iconv:
    global _iconv
    if _iconv is None:
        _iconv = _Iconv()
    return _iconv


def _convert(lib: _Iconv, cd: int, data: bytes) -> bytes | None:
    """`data` through the open descriptor from the initial state, flushed: the converted
    bytes, or None if iconv rejects the input (EILSEQ). Raises ValueError if `data` is
    not complete on its own or iconv fails otherwise."""
    lib.conv(cd, None, None, None, None)  # back to the initial state
    size = 64
    inbuf = ctypes.create_string_buffer(data, len(data))
    outbuf = ctypes.create_string_buffer(size)
    inptr = ctypes.cast(inbuf, ctypes.POINTER(ctypes.c_char))
    outptr = ctypes.cast(outbuf, ctypes.POINTER(ctypes.c_char))
    inleft, outleft = ctypes.c_size_t(len(data)), ctypes.c_size_t(size)
    ctypes.set_errno(0)
    res = lib.conv(cd, ctypes.byref(inptr), ctypes.byref(inleft), ctypes.byref(outptr), ctypes.byref(outleft))
    if res == _FAIL_SIZE:
        err = ctypes.get_errno()
        if err == errno.EILSEQ:
            return None
        raise ValueError(f"{data!r}: iconv errno {err}")
    # flush what a stateful converter holds back (glibc's TCVN waits for a combining mark)
    if lib.conv(cd, None, None, ctypes.byref(outptr), ctypes.byref(outleft)) == _FAIL_SIZE:
        raise ValueError(f"{data!r}: iconv flush errno {ctypes.get_errno()}")
    if inleft.value:
        raise ValueError(f"{data!r}: not consumed")
    return outbuf.raw[: size - outleft.value]


def _decode_all(lib: _Iconv, spelling: str) -> str | None:
    """The decoding table of one iconv charset, None if iconv lacks it or it is not
    one byte, one character."""
    cd = lib.open(b"UTF-8", spelling.encode("ascii"))
    if cd is None or cd == _FAIL_HANDLE:
        return None
    try:
        chars = []
        for byte in range(256):
            out = _convert(lib, cd, bytes([byte]))
            text = None if out is None else out.decode("utf-8")
            if text is None:
                chars.append(_UNDEFINED)
            elif len(text) == 1 and text != _UNDEFINED:
                chars.append(text)
            else:
                return None
        return "".join(chars)
    except (ValueError, UnicodeDecodeError):
        return None
    finally:
        lib.close(cd)


def _encoding_map(lib: _Iconv, spelling: str, table: str) -> dict[int, int] | None:
    """Character -> byte. A character that several bytes decode to is encoded as iconv
    encodes it (glibc's CP1046 takes the first such byte, its CP1161 the last)."""
    bytes_of: dict[str, list[int]] = {}
    for byte, char in enumerate(table):
        if char != _UNDEFINED:
            bytes_of.setdefault(char, []).append(byte)
    mapping = {ord(char): found[0] for char, found in bytes_of.items()}
    duplicates = [char for char, found in bytes_of.items() if len(found) > 1]
    if not duplicates:
        return mapping
    cd = lib.open(spelling.encode("ascii"), b"UTF-8")
    if cd is None or cd == _FAIL_HANDLE:
        return None
    try:
        for char in duplicates:
            out = _convert(lib, cd, char.encode("utf-8"))
            if out is None or len(out) != 1 or out[0] not in bytes_of[char]:
                return None
            mapping[ord(char)] = out[0]
        return mapping
    except ValueError:
        return None
    finally:
        lib.close(cd)


def _build(spellings: tuple[str, ...]) -> tuple[str, dict[int, int]] | None:
    lib = _lib()
    if not lib.ok:
        return None
    for spelling in spellings:
        table = _decode_all(lib, spelling)
        if table is None:
            continue
        mapping = _encoding_map(lib, spelling, table)
        return (table, mapping) if mapping is not None else None
    return None


def _built(key: str) -> tuple[str, dict[int, int]] | None:
    with _lock:
        if key not in _tables:
            _tables[key] = _build(CHARSETS[key])
        return _tables[key]


def decoding_table(name: str) -> str | None:
    """The 256-character decoding table of an iconv-lite charset name (U+FFFE = undefined),
    or None if the name is not one of CHARSETS or the system's iconv cannot provide it."""
    key = _normalize(name)
    if key not in CHARSETS:
        return None
    built = _built(key)
    return built[0] if built else None


def _make_codec(key: str, table: str, encoding_table: dict[int, int]) -> codecs.CodecInfo:

    def encode(text: str, errors: str = "strict") -> tuple[bytes, int]:
        return codecs.charmap_encode(text, errors, encoding_table)

    def decode(data: bytes, errors: str = "strict") -> tuple[str, int]:
        return codecs.charmap_decode(data, errors, table)

    class IncrementalEncoder(codecs.IncrementalEncoder):
        def encode(self, text: str, final: bool = False) -> bytes:
            return codecs.charmap_encode(text, self.errors, encoding_table)[0]

    class IncrementalDecoder(codecs.IncrementalDecoder):
        def decode(self, data: bytes, final: bool = False) -> str:
            return codecs.charmap_decode(data, self.errors, table)[0]

    class StreamWriter(codecs.StreamWriter):
        def encode(self, text: str, errors: str = "strict") -> tuple[bytes, int]:
            return codecs.charmap_encode(text, errors, encoding_table)

    class StreamReader(codecs.StreamReader):
        def decode(self, data: bytes, errors: str = "strict") -> tuple[str, int]:
            return codecs.charmap_decode(data, errors, table)

    return codecs.CodecInfo(
        name=f"iconv-{key}",
        encode=encode,
        decode=decode,
        incrementalencoder=IncrementalEncoder,
        incrementaldecoder=IncrementalDecoder,
        streamwriter=StreamWriter,
        streamreader=StreamReader,
    )


def _search(name: str) -> codecs.CodecInfo | None:
    key = _normalize(name.removeprefix("iconv-").removeprefix("iconv_"))
    if key not in CHARSETS:
        return None
    with _lock:
        if key in _codecs:
            return _codecs[key]
    built = _built(key)
    info = _make_codec(key, *built) if built is not None else None
    with _lock:
        _codecs.setdefault(key, info)
        return _codecs[key]


def register() -> None:
    """Make the charsets of CHARSETS that the system's iconv provides known to `codecs`
    (idempotent; tables are built on first lookup)."""
    global _registered
    with _lock:
        if _registered:
            return
        _registered = True
    codecs.register(_search)


def available(name: str) -> bool:
    """Whether `name` is one of CHARSETS and the system's iconv provides it."""
    return decoding_table(name) is not None
