"""Environment-variable properties, as Node-RED handles them.

* :func:`substitute_env_properties` - Node-RED's ``mapEnvVarProperties``:
  any string property of a node's config that is exactly ``${NAME}`` (or
  the old ``$(NAME)``) is replaced by the setting's value, keeping its type.
* :func:`evaluate_env_property` / :func:`substitute_env_string` - the
  ``env`` typed input: ``NAME``, ``${NAME}`` or ``"a ${X} b"``.
* :func:`evaluate_env_list` - Node-RED's ``evaluateEnvProperties``: turn a
  tab/group/subflow ``env`` array into values.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from flowrt.jsvalues import js_string

__all__ = [
    "ENV_PROPERTY_RE",
    "ENV_SKIP_PROPERTIES",
    "evaluate_env_list",
    "evaluate_env_property",
    "substitute_env_properties",
    "substitute_env_string",
]

Lookup = Callable[[str], Any]

#: A whole ``${NAME}`` or ``$(NAME)`` string; the name is group 1 or 2.
ENV_PROPERTY_RE = re.compile(r"\$\{(\S+)\}|\$\((\S+)\)")

#: Structural node properties never substituted (they are not settings).
ENV_SKIP_PROPERTIES = frozenset({"id", "type", "z", "g", "wires", "x", "y", "credentials"})

_WHOLE_RE = re.compile(r"\$\{([^}]+)\}")
_ANY_RE = re.compile(r"\$\{\S+\}")
_EACH_RE = re.compile(r"\$\{([^}]+)\}")

_LOG = logging.getLogger("flowrt.env")


def _env_name(text: str) -> str | None:
    if len(text) > 3 and text[0] == "$":
        m = ENV_PROPERTY_RE.fullmatch(text)
        if m:
            return m.group(1) or m.group(2)
    return None


def _map(container: Any, key: Any, lookup: Lookup) -> None:
    value = container[key]
    if isinstance(value, str):
        name = _env_name(value)
        if name is not None:
            result = lookup(name)
            if result is not None:
                container[key] = result
    elif isinstance(value, list):
        for i in range(len(value)):
            _map(value, i, lookup)
    elif isinstance(value, dict):
        for k in list(value):
            _map(value, k, lookup)


def substitute_env_properties(config: dict, lookup: Lookup) -> None:
    """Replace, in place, every string in ``config`` (nested in dicts and
    lists too) that is exactly ``${VAR}`` / ``$(VAR)`` with ``lookup(VAR)``
    when that is not ``None``.  The value keeps its type (a number stays a
    number).  Structural properties (:data:`ENV_SKIP_PROPERTIES`) are left
    alone."""
    for key in list(config):
        if key in ENV_SKIP_PROPERTIES:
            continue
        _map(config, key, lookup)


def _js_str(value: Any) -> str:
    """String(value) as a substituted setting: nothing for an undefined one."""
    return "" if value is None else js_string(value)


def substitute_env_string(text: str, lookup: Lookup) -> str:
    """Replace each ``${NAME}`` inside ``text``; undefined names give ``""``.
    Substituted values are not themselves expanded again."""
    return _EACH_RE.sub(lambda m: _js_str(lookup(m.group(1))), text)


def evaluate_env_property(value: Any, lookup: Lookup) -> Any:
    """The ``env`` typed input: ``"${NAME}"`` or ``"NAME"`` gives the
    setting itself (any type; ``""`` when undefined); a longer string has
    each ``${NAME}`` substituted."""
    text = _js_str(value)
    m = _WHOLE_RE.fullmatch(text)
    if m:
        result = lookup(m.group(1))
    elif not _ANY_RE.search(text):
        result = lookup(text)
    else:
        return substitute_env_string(text, lookup)
    return "" if result is None else result


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
    from .typedinput import TypedInputError, evaluate_jsonata, evaluate_node_property, prepare_jsonata

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
                text = _js_str(value)
                m = _WHOLE_RE.fullmatch(text)
                value = lookup_parent(m.group(1)) if m else value
            elif kind == "jsonata":
                value = evaluate_jsonata(prepare_jsonata(_js_str(value)), None, setting_node)
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
