"""Loading node modules: the built-in nodes (flowrt.nodes.*) and users' node directories.

Importing a node module registers its types (`register_type`). The built-ins are *declared*
(`BUILTIN_TYPES`, once per process): each module is imported the first time one of its types is
looked up, that is when a flow uses it, `flowrt validate` checks it, or `flowrt nodes` and the
editor list every type. A flow without MQTT nodes never imports paho-mqtt, one without an `html`
node never imports bs4. A node directory is loaded by the composition root (`flowrt run`,
`flowrt validate`, `flowrt nodes`), once, and imported at once: the runtime never loads one.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path

from flowrt.engine.registry import registry

#: The module (under flowrt.nodes) of every built-in node type. A new node module adds its line
#: here; tests/engine/test_lazy_nodes.py fails naming any type missing from this table (until
#: then the first lookup of a type not found imports every module the table does not name).
BUILTIN_TYPES: dict[str, tuple[str, ...]] = {
    "common.catch": ("catch",),
    "common.comment": ("comment",),
    "common.complete": ("complete",),
    "common.debug": ("debug",),
    "common.global_config": ("global-config",),
    "common.inject": ("inject",),
    "common.junction": ("junction",),
    "common.link": ("link in", "link out", "link call"),
    "common.status": ("status",),
    "common.unknown": ("unknown",),
    "function.change": ("change",),
    "function.delay": ("delay",),
    "function.exec": ("exec",),
    "function.filter": ("rbe",),
    "function.function": ("function",),
    "function.python_function": ("python-function",),
    "function.range": ("range",),
    "function.switch": ("switch",),
    "function.template": ("template",),
    "function.trigger": ("trigger",),
    "network.http_in": ("http in",),
    "network.http_proxy": ("http proxy",),
    "network.http_request": ("http request",),
    "network.http_response": ("http response",),
    "network.mqtt": ("mqtt-broker", "mqtt in", "mqtt out"),
    "network.sse": ("sse-session", "sse-send"),
    "network.tcp": ("tcp in", "tcp out", "tcp request"),
    "network.tls": ("tls-config",),
    "network.udp": ("udp in", "udp out"),
    "network.websocket": ("websocket-listener", "websocket-client", "websocket in", "websocket out"),
    "mcp.mcp_response": ("mcp-response", "mcp-notify"),
    "mcp.mcp_server": ("mcp-server",),
    "mcp.mcp_tool": ("mcp-tool", "mcp-resource", "mcp-prompt"),
    "parsers.csv": ("csv",),
    "parsers.html": ("html",),
    "parsers.json": ("json",),
    "parsers.xml": ("xml",),
    "parsers.yaml": ("yaml",),
    "sequence.batch": ("batch",),
    "sequence.join": ("join",),
    "sequence.sort": ("sort",),
    "sequence.split": ("split",),
    "storage.file": ("file",),
    "storage.file_in": ("file in",),
    "storage.watch": ("watch",),
}
BUILTIN_PACKAGE = "flowrt.nodes"

_builtins_declared = False


def load_builtin_nodes() -> None:
    """Declare every built-in type with the module registering it (once per process); a module
    is imported on its types' first lookup."""
    global _builtins_declared
    if _builtins_declared:
        return
    for module, type_names in BUILTIN_TYPES.items():
        for type_name in type_names:
            registry.declare(type_name, f"{BUILTIN_PACKAGE}.{module}")
    registry.on_first_miss(_import_modules_not_in_the_table)
    _builtins_declared = True


def _import_modules_not_in_the_table() -> None:
    import flowrt.nodes as package

    named = {f"{BUILTIN_PACKAGE}.{module}" for module in BUILTIN_TYPES}
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not info.ispkg and info.name not in named:
            importlib.import_module(info.name)


def import_all_builtin_nodes() -> list[str]:
    """Import every module under flowrt.nodes now (what `BUILTIN_TYPES` is checked against);
    returns the module names."""
    import flowrt.nodes as package

    names = []
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
        names.append(info.name)
    return names


def load_node_dir(directory: str | Path) -> list[str]:
    """Import every .py file in a user's node directory; returns the files loaded.

    Each file registers its types with `register_type`, exactly as built-ins do. Files whose
    name starts with `_` are skipped. Calling it again executes the files again (a reload:
    a module re-registering its own classes is allowed)."""
    path = Path(directory)
    if not path.is_dir():
        raise FileNotFoundError(f"node directory {str(path)!r} does not exist")
    loaded = []
    for file in sorted(path.glob("*.py")):
        if file.name.startswith("_"):
            continue
        name = f"flowrt_user_nodes.{path.name}.{file.stem}"
        spec = importlib.util.spec_from_file_location(name, file)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load node module {file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        loaded.append(str(file))
    return loaded
