"""A tab's, group's or subflow's `env` list, evaluated as Node-RED's flows/util.js does.

Kept apart from flowrt.lang.env (plain `${NAME}` substitution), because the list's typed entries
are evaluated with flowrt.lang.typedinput, which itself reads env values through flowrt.lang.env.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from flowrt.lang.env import Lookup, evaluate_env_property
from flowrt.lang.jsvalues import js_string
from flowrt.lang.typedinput import TypedInputError, evaluate_jsonata, evaluate_node_property, prepare_jsonata

_LOG = logging.getLogger("flowrt.lang.env")
_WHOLE_RE = re.compile(r"\$\{([^}]+)\}")


def _text(value: Any) -> str:
    """String(value) as a substituted setting: nothing for an undefined one."""
    return "" if value is None else js_string(value)


def evaluate_env_list(
    env: list[dict],
    lookup_parent: Lookup,
    jsonata_node: Any = None,
    credentials: dict | None = None,
    on_error: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """Evaluate a tab/group/subflow ``env`` array ``[{name, value, type}]``.

    Types: ``str``, ``num``, ``bool``, ``json``, ``bin``, ``re``, ``date``,
    ``jsonata`` (evaluated with ``jsonata_node``'s context for
    ``$flowContext``/``$globalContext`` and ``lookup_parent`` for ``$env``),
    ``cred`` (from ``credentials`` when given, else the value as-is),
    ``conf-type`` (``${NAME}`` looked up in the parent) and ``env``.  ``env``
    entries are evaluated last so they may refer to other names of the same
    list; an entry naming itself reads the parent's value.  Names that are
    not found here go to ``lookup_parent``.  An entry that fails to evaluate
    is reported through ``on_error`` and is ``None``.
    """
    credentials = credentials or {}
    report = on_error or _LOG.error
    evaluated: dict[str, Any] = {}
    env_entries: list[dict] = []
    builtin = getattr(jsonata_node, "get_setting", None)

    def lookup_here(name: str) -> Any:
        if name.startswith("$parent."):
            return lookup_parent(name[8:])
        if name in evaluated:
            return evaluated[name]
        if builtin is not None and name.startswith("NR_"):
            result = builtin(name)
            if result is not None:
                return result
        return lookup_parent(name)

    setting_node = _SettingNode(lookup_parent, jsonata_node)

    for entry in env if isinstance(env, list) else []:  # Node-RED skips what is not a list of entries
        if not isinstance(entry, dict):
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            continue
        value = entry.get("value")
        kind = entry.get("type") or "str"
        if kind == "env":
            env_entries.append(entry)
            evaluated[name] = None
            continue
        try:
            if kind == "bool":
                value = value is True or value == "true"
            elif kind == "cred":
                value = credentials.get(name, value)
            elif kind == "conf-type":
                text = _text(value)
                m = _WHOLE_RE.fullmatch(text)
                value = lookup_parent(m.group(1)) if m else value
            elif kind == "jsonata":
                value = evaluate_jsonata(prepare_jsonata(_text(value)), None, setting_node)
            elif kind in ("str", "num", "json", "bin", "re", "date"):
                value = evaluate_node_property(value, kind, setting_node, None)
            # any other type keeps its value as-is, as Node-RED does
        except (TypedInputError, ValueError, TypeError) as err:
            report(f"Error evaluating env property '{name}': {err}")
            value = None
        evaluated[name] = value

    for name in [e["name"] for e in env_entries]:
        evaluated.pop(name, None)
    for entry in env_entries:
        name = entry["name"]
        value = entry.get("value")
        if value == name:
            # an env var naming itself reads the parent's value
            result = lookup_parent(name)
        elif isinstance(value, str) and value in evaluated:
            result = evaluated[value]
        else:
            result = evaluate_env_property(value, lookup_here)
        evaluated[name] = result
    return evaluated


class _SettingNode:
    """What typed-input evaluation needs of a node, for env evaluation:
    settings come from the parent level; context from ``jsonata_node``."""

    id = ""
    name = ""

    def __init__(self, lookup: Lookup, node: Any) -> None:
        self._lookup = lookup
        self._node = node

    def get_setting(self, name: str) -> Any:
        if name.startswith("$parent."):
            name = name[8:]
        return self._lookup(name)

    def context(self) -> Any:
        if self._node is None or not hasattr(self._node, "context"):
            return None
        return self._node.context()
