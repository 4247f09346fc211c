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

from flowrt.lang.jsvalues import js_string

__all__ = [
    "ENV_PROPERTY_RE",
    "ENV_SKIP_PROPERTIES",
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

_LOG = logging.getLogger("flowrt.lang.env")


def _env_name(text: str) -> str | None:
    if len(text) > 3 and text[0] == "$":
        m = ENV_PROPERTY_RE.fullmatch(text)
        if m:
            return m.group(1) or m.group(2)
    return None


def _substituted(value: Any, lookup: Lookup) -> Any:
    """`value` with each ``${VAR}`` string replaced; a list or dict holding one is copied, never
    changed in place (it is shared with the deployed configuration), else returned as it is."""
    if isinstance(value, str):
        name = _env_name(value)
        result = lookup(name) if name is not None else None
        return value if result is None else result
    if isinstance(value, list):
        items = [_substituted(item, lookup) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if isinstance(value, dict):
        entries = {k: _substituted(v, lookup) for k, v in value.items()}
        return value if all(entries[k] is v for k, v in value.items()) else entries
    return value


def substitute_env_properties(config: dict, lookup: Lookup) -> None:
    """Replace, in ``config`` itself, every string (nested in dicts and lists too, which are
    copied when one changes) that is exactly ``${VAR}`` / ``$(VAR)`` with ``lookup(VAR)``
    when that is not ``None``.  The value keeps its type (a number stays a
    number).  Structural properties (:data:`ENV_SKIP_PROPERTIES`) are left
    alone."""
    for key in list(config):
        if key in ENV_SKIP_PROPERTIES:
            continue
        config[key] = _substituted(config[key], lookup)


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
