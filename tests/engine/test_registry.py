"""Node type registration: built-ins and users' node directories use the same path."""

from __future__ import annotations

import subprocess
import sys

import pytest

from flowrt import Node
from flowrt.engine.loader import load_builtin_nodes, load_node_dir
from flowrt.engine.registry import Registry, registry
from flowrt.testing import FlowTestHarness


def test_a_second_class_for_the_same_type_is_refused():
    reg = Registry()

    class A(Node):
        pass

    class B(Node):
        pass

    reg.register("thing", A)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("thing", B)
    assert reg.get_type("thing") is A


def test_builtin_nodes_live_under_flowrt_nodes_not_a_top_level_package(tmp_path):
    load_builtin_nodes()
    assert registry.get_type("catch").__module__.startswith("flowrt.nodes.")
    result = subprocess.run([sys.executable, "-c", "import nodes"], cwd=tmp_path, capture_output=True)
    assert result.returncode != 0


async def test_a_users_node_directory_registers_types_through_the_same_api(tmp_path):
    (tmp_path / "shout.py").write_text(
        "from flowrt import Node, register_type\n"
        "@register_type('test-shout')\n"
        "class Shout(Node):\n"
        "    def on_input(self, msg, send, done):\n"
        "        msg['payload'] = str(msg['payload']).upper() + '!'\n"
        "        send(msg)\n"
        "        done()\n"
    )
    (tmp_path / "_private.py").write_text("raise RuntimeError('must not be imported')\n")
    loaded = load_node_dir(tmp_path)
    assert [p.endswith("shout.py") for p in loaded] == [True]
    load_node_dir(tmp_path)  # loading again (a restart in the same process) is fine
    flow = [{"id": "s", "type": "test-shout", "wires": [["h"]]}, {"id": "h", "type": "helper"}]
    async with FlowTestHarness(flow, http=False) as h:
        h.node("s").receive({"payload": "hi"})
        assert (await h.node("h").next_input())["payload"] == "HI!"


def test_a_missing_node_directory_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_node_dir(tmp_path / "nope")
