"""Ports of Node-RED's test/nodes/core/storage/23-watch_spec.js (the node polls; see nodes/storage/watch.py)."""

import asyncio
import json
import os

import flowrt.nodes.storage.watch  # noqa: F401
import pytest

from flowrt.testing import FlowTestHarness


@pytest.fixture
def files(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    return {
        "dir": base,
        "file0": base / "file0.txt",
        "file1": base / "file1.txt",
        "subdir": base / "subdir",
        "file2": base / "subdir" / "file2.txt",
    }


def flow(paths, recursive=False):
    return [
        {
            "id": "n1",
            "type": "watch",
            "name": "watch",
            "files": paths,
            "recursive": recursive,
            "wires": [["n2"]],
        },
        {"id": "n2", "type": "helper"},
    ]


async def changes(h, wanted, timeout=5.0):
    """Messages for the wanted file names (first per file), ignoring others (e.g. a parent dir)."""
    got = {}
    while set(got) != set(wanted):
        msg = await h.node("n2").next_input(timeout)
        if msg["file"] in wanted and msg["file"] not in got:
            got[msg["file"]] = msg
    return got


async def ready(h):
    await asyncio.wait_for(h.node("n1").node.ready.wait(), 5)


async def test_watch_file_change(files):
    files["file0"].write_text("")
    async with FlowTestHarness(flow(str(files["file0"]))) as h:
        await ready(h)
        with open(files["file0"], "a") as fh:
            fh.write("ABCDE")
        msg = (await changes(h, {"file0.txt"}))["file0.txt"]
        assert msg["payload"] == str(files["file0"])
        assert msg["topic"] == str(files["file0"])
        assert msg["filename"] == str(files["file0"])
        assert msg["type"] == "file"
        assert msg["size"] == 5
        assert msg["event"] == "update"


async def test_watch_multiple_files(files):
    files["file0"].write_text("")
    files["file1"].write_text("")
    paths = f"{files['file0']}, {files['file1']}"
    async with FlowTestHarness(flow(paths)) as h:
        await ready(h)
        with open(files["file0"], "a") as fh:
            fh.write("ABCDE")
        with open(files["file1"], "a") as fh:
            fh.write("123")
        got = await changes(h, {"file0.txt", "file1.txt"})
        assert got["file0.txt"]["payload"] == str(files["file0"])
        assert got["file1.txt"]["type"] == "file"
        assert got["file1.txt"]["topic"] == json.dumps(
            [str(files["file0"]), str(files["file1"])], separators=(",", ":")
        )


async def test_watch_attribute_change(files):
    files["file0"].write_text("")
    os.chmod(files["file0"], 0o444)
    async with FlowTestHarness(flow(str(files["file0"]))) as h:
        await ready(h)
        os.chmod(files["file0"], 0o777)
        msg = (await changes(h, {"file0.txt"}))["file0.txt"]
        assert msg["type"] == "file"


async def test_watch_file_in_directory(files):
    files["file0"].write_text("")
    async with FlowTestHarness(flow(str(files["dir"]), recursive=True)) as h:
        await ready(h)
        with open(files["file0"], "a") as fh:
            fh.write("ABCDE")
        msg = (await changes(h, {"file0.txt"}))["file0.txt"]
        assert msg["payload"] == str(files["file0"])
        assert msg["topic"] == str(files["dir"])


async def test_watch_sub_directory(files):
    files["subdir"].mkdir()
    async with FlowTestHarness(flow(str(files["dir"]), recursive=True)) as h:
        await ready(h)
        with open(files["file2"], "a") as fh:
            fh.write("ABCDE")
        msg = (await changes(h, {"file2.txt"}))["file2.txt"]
        assert msg["payload"] == str(files["file2"])
        assert msg["type"] == "file"


async def test_non_recursive_directory_ignores_nested(files):
    files["subdir"].mkdir()
    async with FlowTestHarness(flow(str(files["dir"]))) as h:
        await ready(h)
        files["file2"].write_text("x")
        files["file0"].write_text("y")
        got = await changes(h, {"file0.txt"})
        assert got["file0.txt"]["type"] == "file"
        assert all(m["file"] != "file2.txt" for m in h.node("n2").received)


async def test_remove_event(files):
    files["file0"].write_text("abc")
    async with FlowTestHarness(flow(str(files["dir"]))) as h:
        await ready(h)
        files["file0"].unlink()
        msg = (await changes(h, {"file0.txt"}))["file0.txt"]
        assert msg["event"] == "remove"
        assert msg["type"] == "none"
        assert "size" not in msg


async def test_directory_type(files):
    async with FlowTestHarness(flow(str(files["dir"]))) as h:
        await ready(h)
        files["subdir"].mkdir()
        msg = (await changes(h, {"subdir"}))["subdir"]
        assert msg["type"] == "directory"


async def test_a_path_that_does_not_exist_is_an_error_and_not_watched(files, tmp_path):
    # node-watch: an error event "<path> does not exist." at start; a later file there is not reported
    missing = tmp_path / "later.txt"
    files["file0"].write_text("")
    async with FlowTestHarness(flow(f"{missing},{files['file0']}")) as h:
        await ready(h)
        assert [str(err) for err, _ in h.node("n1").errors] == [f"Error: {missing} does not exist."]
        missing.write_text("x")
        with open(files["file0"], "a") as fh:
            fh.write("ABCDE")
        got = await changes(h, {"file0.txt"})  # the existing file is still watched
        assert "later.txt" not in {m["file"] for m in h.node("n2").received}
        assert got["file0.txt"]["size"] == 5
