"""The official Node-RED editor's files: fetched with npm at set-up time, never shipped with flowrt.

`flowrt editor install` runs `npm pack` for `@node-red/editor-client` and `@node-red/nodes` of one
pinned version, checks each tarball against the sha512 integrity pinned here, and unpacks both into
`~/.cache/flowrt/editor/<version>/` (or the `editorDir` setting). Both packages are Apache-2.0 static
files: the editor's HTML/JS/CSS, and the core nodes' editor definitions, help, icons and message
catalogues. Nothing of their JavaScript runs in flowrt.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowrt.lang.mustache import render

#: The editor versions flowrt knows, with npm's integrity strings of their two tarballs.
PINNED: dict[str, dict[str, str]] = {
    "4.1.15": {
        "@node-red/editor-client": "sha512-fMHQAXl8Fd/6oJh9lw1FFnqhMA2JMDyh4QhDuruOBDZ5fOnFLEqtRH7QiZ4gAAm+xn5ojR9Yi2zp/s7AtnFTZA==",
        "@node-red/nodes": "sha512-7zOk4zCSvcljkPJOxl05HIvck3OnM75eCI8dsyy9DBtCOU0Gr/4nguQPc1qq1zEKlLmolEeUk9UvKg1e/le4aw==",
    },
    "5.0.7": {
        "@node-red/editor-client": "sha512-bvgOGXvArCxTeB43P18Wu8UZAc3qXKPArr83a8BG7F2vcXFbYFbw6nbe9Euz9uWEVAEPrz3cPrGp8xVCZSyUwg==",
        "@node-red/nodes": "sha512-VBebFd8jBg8E7wga1tqWetTx+Iv9SfnFCc/Ik4/cci6827WIlbrZLVwqmc278IGmZti7rQeu9LCo9CjVzBsrWw==",
    },
}
DEFAULT_VERSION = "4.1.15"
_PACKAGE_DIRS = {"@node-red/editor-client": "editor-client", "@node-red/nodes": "nodes"}


class EditorAssetsError(RuntimeError):
    """The editor's files are missing or could not be installed; the text says what to do."""


def default_dir(version: str) -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "flowrt" / "editor" / version


def editor_version(settings: Any) -> str:
    version = str(settings.get("editorVersion") or DEFAULT_VERSION)
    if version not in PINNED:
        raise EditorAssetsError(f"editorVersion {version!r} is not one of {', '.join(PINNED)}")
    return version


def editor_dir(settings: Any) -> Path:
    configured = settings.get("editorDir")
    return Path(configured).expanduser() if configured else default_dir(editor_version(settings))


@dataclass(frozen=True)
class EditorFiles:
    """An unpacked editor: `root/editor-client` and `root/nodes` (the npm packages' contents)."""

    root: Path
    version: str

    @property
    def client(self) -> Path:
        return self.root / "editor-client"

    @property
    def public(self) -> Path:
        return self.client / "public"

    @property
    def nodes(self) -> Path:
        return self.root / "nodes"

    def index_page(self, title: str = "Node-RED") -> str:
        """`templates/index.mst` rendered as Node-RED's editor app renders it."""
        template = (self.client / "templates" / "index.mst").read_text(encoding="utf-8")
        buster = hashlib.sha1(self.version.encode()).hexdigest()[:12]
        context = {
            "page": {
                "title": title,
                "favicon": "favicon.ico",
                "tabicon": {"icon": "red/images/node-red-icon-black.svg", "colour": "#8f0000"},
            },
            "asset": {
                "red": "red/red.min.js",
                "main": "red/main.min.js",
                "vendorMonaco": "vendor/monaco/monaco-bootstrap.js",
            },
            "cacheBuster": buster,
        }
        return render(template, context)

    def catalogue(self, namespace: str, language: str) -> dict:
        """A message catalogue (`editor`, `jsonata`, `infotips` or `node-red`), `xx-YY -> xx -> {}`."""
        for lang in language_chain(language):
            if namespace == "node-red":
                path = self.nodes / "locales" / lang / "messages.json"
            else:
                path = self.client / "locales" / lang / f"{namespace}.json"
            if path.is_file():
                try:
                    return json.loads(path.read_text(encoding="utf-8"))
                except ValueError:
                    return {}
        return {}


def language_chain(language: str) -> list[str]:
    language = language or "en-US"
    if "/" in language or "\\" in language or ".." in language:
        return []
    chain = [language]
    if "-" in language:
        chain.append(language.split("-", 1)[0])
    return chain


def find(settings: Any) -> EditorFiles | None:
    """The installed editor for these settings, or None."""
    root = editor_dir(settings)
    version = editor_version(settings)
    if (root / "editor-client" / "templates" / "index.mst").is_file() and (root / "nodes" / "core").is_dir():
        return EditorFiles(root, version)
    return None


def _integrity_of(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def install(
    version: str = DEFAULT_VERSION, target: Path | None = None, npm: str | None = None
) -> EditorFiles:
    """Fetch and unpack the editor packages of `version` (idempotent). Raises EditorAssetsError."""
    if version not in PINNED:
        raise EditorAssetsError(f"editor version {version!r} is not one of {', '.join(PINNED)}")
    target = target or default_dir(version)
    npm = npm or shutil.which("npm")
    if not npm:
        raise EditorAssetsError(
            "npm is not installed: the editor's files are fetched with `npm pack` (install Node.js/npm)"
        )
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="flowrt-editor-") as tmp:
        for package, integrity in PINNED[version].items():
            tarball = _pack(npm, f"{package}@{version}", Path(tmp))
            data = tarball.read_bytes()
            if _integrity_of(data) != integrity:
                raise EditorAssetsError(
                    f"{package}@{version}: the tarball's sha512 does not match the pinned integrity"
                )
            _unpack(tarball, target / _PACKAGE_DIRS[package])
    files = find({"editorDir": str(target), "editorVersion": version})
    if files is None:
        raise EditorAssetsError(f"{target}: the unpacked editor lacks templates/index.mst or nodes/core")
    return files


def _pack(npm: str, spec: str, dest: Path) -> Path:
    try:
        done = subprocess.run(
            [npm, "pack", spec, "--pack-destination", str(dest), "--json", "--silent"],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=dest,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise EditorAssetsError(f"npm pack {spec} failed: {err}") from None
    if done.returncode != 0:
        raise EditorAssetsError(f"npm pack {spec} failed: {(done.stderr or done.stdout).strip()[-500:]}")
    try:
        name = json.loads(done.stdout)[0]["filename"]
    except (ValueError, LookupError, TypeError):
        raise EditorAssetsError(f"npm pack {spec}: unexpected output {done.stdout[:200]!r}") from None
    return dest / name.replace("@", "").replace("/", "-")


def _unpack(tarball: Path, dest: Path) -> None:
    """Unpack an npm tarball's `package/` into `dest`, replacing what was there."""
    staging = dest.with_name(dest.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    with tarfile.open(tarball) as tar:
        tar.extractall(staging, filter="data")
    shutil.rmtree(dest, ignore_errors=True)
    (staging / "package").rename(dest)
    shutil.rmtree(staging, ignore_errors=True)
