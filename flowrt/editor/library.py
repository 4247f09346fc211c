"""The editor's local library: `<userDir>/lib/<type>/...`, as Node-RED's local library
(runtime/lib/library, storage/localfilesystem/library.js, editor-api/lib/editor/library.js).

- `GET /library/local/<type>/<folder>/` lists a folder: its sub-folders' names (sorted), then one
  `{fn: <file name>, <meta>...}` per file; `[]` for a folder that does not exist.
- `GET /library/local/<type>/<path>` is one entry's body (`application/json` for flows, else
  `text/plain`); a flow's `.json` may be left off.
- `POST /library/local/flows/<path>` saves the body (the exported nodes) as `<path>.json`;
  `POST /library/local/<type>/<path>` saves `text` with the other fields as `// name: value` header
  lines (the function node's library button: `functions`, the template node's: `templates`).

Types are those Node-RED's nodes register (flows, functions, templates); a path that leaves
`lib/<type>/` (`..`) is refused with 403 (an absolute path is taken inside it, as Node-RED's join).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

TYPES = {"flows", "functions", "templates"}
_META_LINE = re.compile(r"^// (\w+): (.*)")


class LibraryError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def to_single_line(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def from_single_line(text: str) -> str:
    return re.sub(r"\\[\\n]", lambda m: "\\" if m.group(0) == "\\\\" else "\n", text)


def file_meta(text: str) -> dict[str, str]:
    """The `// name: value` lines a library file starts with."""
    meta: dict[str, str] = {}
    for line in text.split("\n"):
        match = _META_LINE.match(line)
        if not match:
            break
        meta[match.group(1)] = from_single_line(match.group(2))
    return meta


def file_body(text: str) -> str:
    lines = text.split("\n")
    start = 0
    while start < len(lines) and _META_LINE.match(lines[start]):
        start += 1
    return "\n".join(lines[start:])


class LocalLibrary:
    """The files of `<userDir>/lib`."""

    def __init__(
        self, user_dir: str | os.PathLike, pretty_flows: bool = True, types: set[str] | None = None
    ) -> None:
        self.root = Path(user_dir) / "lib"
        self.pretty_flows = pretty_flows
        self.types = TYPES if types is None else types

    def _path(self, kind: str, path: str) -> Path:
        if kind not in self.types:
            raise LibraryError(400, "unexpected_error", f"Unknown library type: {kind}")
        base = (self.root / kind).resolve()
        target = (base / path.lstrip("/")).resolve() if path.strip("/") else base
        if target != base and base not in target.parents:
            raise LibraryError(403, "forbidden", f"the library path {path!r} leaves lib/{kind}")
        return target

    def get_entry(self, kind: str, path: str) -> str | list:
        """A file's body, or a folder's listing."""
        target = self._path(kind, path)
        if target.is_file():
            return file_body(target.read_text(encoding="utf-8"))
        if target.is_dir():
            return self._listing(target)
        if path in ("", "/") or path.endswith("/"):
            return []
        if kind == "flows" and not path.endswith(".json"):
            return self.get_entry(kind, path + ".json")
        raise LibraryError(404, "not_found", f"Library entry not found: {kind}/{path}")

    @staticmethod
    def _listing(folder: Path) -> list:
        dirs: list[Any] = []
        files: list[Any] = []
        for child in sorted(folder.iterdir(), key=lambda p: p.name):
            if child.name.startswith("."):
                continue
            if child.is_dir():
                dirs.append(child.name)
            elif child.is_file():
                with child.open(encoding="utf-8", errors="replace") as handle:
                    head = handle.read(64 * 1024)  # meta lines are at the top
                files.append({**file_meta(head), "fn": child.name})
        return dirs + files

    def save_entry(self, kind: str, path: str, meta: Mapping[str, Any], body: str) -> None:
        if kind == "flows" and not path.endswith(".json"):
            path += ".json"
        target = self._path(kind, path)
        if target.is_dir() or not path.strip("/"):
            raise LibraryError(400, "unexpected_error", f"{kind}/{path} is a folder, not an entry")
        headers = "".join(f"// {name}: {to_single_line(_text(value))}\n" for name, value in meta.items())
        if kind == "flows" and self.pretty_flows:
            body = json.dumps(json.loads(body), indent=4, ensure_ascii=False)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(headers + body, encoding="utf-8")
        os.replace(tmp, target)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value) if not isinstance(value, (int, float)) or isinstance(value, bool) else str(value)


class LibraryRoutes:
    """`/library/<library>/<type>/<path>` on the admin API: `local`, and Node-RED's `_examples_`
    (flowrt ships no example flows: its listing is empty)."""

    def __init__(
        self, settings: Mapping[str, Any], admin_root: str, json_body: Any, refuse_write: Any = None
    ) -> None:
        user_dir = settings.get("userDir") or Path.home() / ".flowrt"
        self.local = LocalLibrary(user_dir, bool(settings.get("flowFilePretty", True)))
        self.prefix = admin_root.rstrip("/") + "/library/"
        self.json_body = json_body  # the admin API's JSON body reader (limit, Content-Type)
        self.refuse_write = refuse_write  # the admin API's Origin check

    def _parts(self, request: web.BaseRequest) -> tuple[str, str, str]:
        rest = request.path[len(self.prefix) :] if request.path.startswith(self.prefix) else ""
        library, _, rest = rest.partition("/")
        kind, _, path = rest.partition("/")
        return library, kind, path

    async def get(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        library, kind, path = self._parts(request)
        try:
            if library == "_examples_":
                if path.strip("/"):
                    raise LibraryError(404, "not_found", f"Library entry not found: {kind}/{path}")
                return _json([])
            self._known(library)
            entry = self.local.get_entry(kind, path)
        except LibraryError as err:
            return _json({"code": err.code, "message": str(err)}, err.status)
        except (OSError, UnicodeDecodeError) as err:
            return _json({"code": "unexpected_error", "message": f"{kind}/{path}: {err}"}, 400)
        if isinstance(entry, str):
            content_type = "application/json" if kind == "flows" else "text/plain"
            return web.Response(text=entry, content_type=content_type)
        return _json(entry)

    async def post(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        refused = self.refuse_write(request) if self.refuse_write is not None else None
        if refused is not None:
            return refused
        library, kind, path = self._parts(request)
        body = await self.json_body(request)
        if isinstance(body, web.StreamResponse):
            return body
        try:
            self._known(library)
            if kind == "flows":
                meta, text = {}, json.dumps(body, separators=(",", ":"), ensure_ascii=False)
            else:
                if not isinstance(body, dict):
                    raise LibraryError(400, "invalid_request", "the body must be a JSON object with `text`")
                meta = {k: v for k, v in body.items() if k != "text"}
                text = body.get("text")
                text = text if isinstance(text, str) else ""
            self.local.save_entry(kind, path, meta, text)
        except LibraryError as err:
            return _json({"code": err.code, "message": str(err)}, err.status)
        except OSError as err:
            return _json({"code": "unexpected_error", "message": f"cannot save {kind}/{path}: {err}"}, 400)
        return web.Response(status=204)

    @staticmethod
    def _known(library: str) -> None:
        if library != "local":
            raise LibraryError(400, "unexpected_error", f"Unknown library: {library}")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(data, ensure_ascii=False), content_type="application/json"
    )
