"""Built-in node modules are imported when a flow uses one of their types, not at start
(flowrt.engine.loader.BUILTIN_TYPES), and every type is still there for `flowrt nodes`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from flowrt import Node
from flowrt.engine.loader import BUILTIN_PACKAGE, BUILTIN_TYPES, load_builtin_nodes, load_node_dir
from flowrt.engine.registry import Registry, registry


def _python(code: str) -> str:
    """Run `code` in a fresh interpreter (nothing imported yet) and return what it printed."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_table_names_every_type_each_module_registers():
    out = _python(
        "import json\n"
        "from flowrt.engine.loader import import_all_builtin_nodes\n"
        "from flowrt.engine.registry import registry\n"
        "import_all_builtin_nodes()\n"
        "print(json.dumps({t: c.__module__ for t, c in registry.types().items()}))\n"
    )
    registered = {t: m for t, m in json.loads(out).items() if m.startswith(BUILTIN_PACKAGE + ".")}
    declared = {t: f"{BUILTIN_PACKAGE}.{m}" for m, types in BUILTIN_TYPES.items() for t in types}
    assert registered == declared


def test_a_flow_imports_only_the_node_modules_it_uses():
    out = _python(
        "import json, sys\n"
        "from flowrt.engine.loader import load_builtin_nodes\n"
        "from flowrt.engine.registry import registry\n"
        "load_builtin_nodes()\n"
        "assert registry.get_type('change').__module__ == 'flowrt.nodes.function.change'\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('flowrt.nodes.')\n"
        "                        or m.split('.')[0] in ('paho', 'bs4', 'soupsieve'))))\n"
    )
    assert json.loads(out) == ["flowrt.nodes.function", "flowrt.nodes.function.change"]


def test_validate_imports_the_modules_of_the_flows_types(tmp_path):
    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps([{"id": "m", "type": "mqtt-broker", "broker": "localhost"}]))
    out = _python(
        "import sys\n"
        "from flowrt.cli import main\n"
        f"code = main(['validate', {str(flow)!r}])\n"
        "print(code, 'paho' in sys.modules, 'bs4' in sys.modules)\n"
    )
    assert out.split()[-3:] == ["0", "True", "False"]


def test_every_type_is_listed():
    load_builtin_nodes()
    types = registry.types()
    for module, names in BUILTIN_TYPES.items():
        for name in names:
            assert types[name].__module__ == f"{BUILTIN_PACKAGE}.{module}"


def test_a_users_module_cannot_take_a_built_in_type_not_imported_yet(tmp_path):
    out = tmp_path / "nodes"
    out.mkdir()
    (out / "mine.py").write_text(
        "from flowrt import Node, register_type\n@register_type('mqtt in')\nclass Mine(Node):\n    pass\n"
    )
    code = (
        "from flowrt.engine.loader import load_builtin_nodes, load_node_dir\n"
        "load_builtin_nodes()\n"
        "try:\n"
        f"    load_node_dir({str(out)!r})\n"
        "except ValueError as err:\n"
        "    print(err)\n"
    )
    text = _python(code)
    assert "'mqtt in' is already registered by flowrt.nodes.network.mqtt" in text


def test_a_declared_module_that_does_not_register_its_type_is_named():
    reg = Registry()
    reg.declare("thing", "json")
    with pytest.raises(ImportError, match="node module json did not register the type 'thing'"):
        reg.get_type("thing")


def test_a_declared_module_that_cannot_be_imported_is_named():
    reg = Registry()
    reg.declare("thing", "flowrt_no_such_module")
    with pytest.raises(ImportError, match=r"flowrt_no_such_module \(type 'thing'\) cannot be imported"):
        reg.get_type("thing")


def test_registering_a_declared_type_from_its_own_module_replaces_the_declaration():
    reg = Registry()

    class Thing(Node):
        pass

    reg.declare("thing", Thing.__module__)
    reg.register("thing", Thing)
    assert reg.get_type("thing") is Thing and reg.types() == {"thing": Thing}


def test_a_users_node_directory_is_still_imported_at_once(tmp_path):
    (tmp_path / "shout2.py").write_text(
        "from flowrt import Node, register_type\n@register_type('test-shout-2')\nclass S(Node):\n    pass\n"
    )
    load_node_dir(tmp_path)
    assert registry.get_type("test-shout-2").__name__ == "S"


def test_a_type_missing_from_the_table_is_still_found():
    out = _python(
        "from flowrt.engine import loader\n"
        "from flowrt.engine.registry import registry\n"
        "del loader.BUILTIN_TYPES['function.range']\n"
        "loader.load_builtin_nodes()\n"
        "print(registry.get_type('range').__module__, registry.get_type('no-such-type'))\n"
    )
    assert out.split() == ["flowrt.nodes.function.range", "None"]
