"""Loading node modules: the built-in nodes (flowrt.nodes.*) and users' node directories.

Importing a node module registers its types (`register_type`). The built-ins are
imported once per process. A node directory is loaded by the composition root
(`flowrt run`, `flowrt validate`, `flowrt nodes`), once: the runtime never loads one.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path

_builtins_loaded = False


def load_builtin_nodes() -> None:
    """Import every module under flowrt.nodes so its types register (once per process)."""
    global _builtins_loaded
    if _builtins_loaded:
        return
    import flowrt.nodes as package

    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
    _builtins_loaded = True


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
