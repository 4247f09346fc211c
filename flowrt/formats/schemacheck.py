"""A quick yes/no check of a node against the simple JSON Schemas node types declare.

jsonschema spends about 0.3 ms on a node (an error iterator, a validator evolved per keyword
and per property), and nearly every node of a real flow is valid: 72% of loading and starting a
5,000-node flow went there (docs/benchmarks.md, "Large flows"). `compile_check(schema)` turns a
draft 2020-12 schema that uses only the keywords below into a plain Python predicate whose answer
is exactly `Draft202012Validator(schema).is_valid(value)`, or which raises `Unsure` for a value
it does not judge itself (a Decimal, a NaN, a list compared with an enum). A schema using any
other keyword, or a keyword value the 2020-12 metaschema does not allow, is not compiled (None):
so a compiled schema is one jsonschema's `check_schema` accepts, and validating a flow whose
nodes all pass needs no jsonschema at all (importing it alone costs ~0.1 s of CPU). The validator
asks jsonschema for the messages whenever the predicate does not answer True, so what is
reported never depends on this module.

The rules copied from jsonschema 4.x (draft 2020-12, no format checker):
- types: "integer" is an int that is not a bool, or a float with an integral value; "number" any
  `numbers.Number` but a bool; "object" a dict, "array" a list;
- enum / const compare a string with ==, never take True for 1 nor False for 0;
- keywords about objects, arrays, strings and numbers ignore values of other types;
- "format", "title", "description", "default", "examples", "$comment", "x-..." assert nothing.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable
from typing import Any

__all__ = ["Check", "Unsure", "compile_check"]

Check = Callable[[Any], bool]

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
#: Keywords that never make a value invalid, with what the draft 2020-12 metaschema requires of
#: their values ("then"/"else" are schemas read with "if", "$defs" a map of schemas).
_ANNOTATIONS: dict[str, Callable[[Any], bool]] = {
    "$comment": lambda value: isinstance(value, str),
    "title": lambda value: isinstance(value, str),
    "description": lambda value: isinstance(value, str),
    "format": lambda value: isinstance(value, str),
    "default": lambda value: True,
    "examples": lambda value: isinstance(value, list),
    "deprecated": lambda value: isinstance(value, bool),
    "readOnly": lambda value: isinstance(value, bool),
    "writeOnly": lambda value: isinstance(value, bool),
}
#: What a local $ref may spell (so that it is a valid uri-reference too).
_REF = re.compile(r"#(/[A-Za-z0-9_$.~-]+)*")


class Unsure(Exception):
    """The predicate cannot tell this value: ask jsonschema."""


class _Unsupported(Exception):
    """The schema uses a keyword this module does not compile."""


def compile_check(schema: Any) -> Check | None:
    """A predicate equal to jsonschema's `is_valid` for `schema` (see the module doc), or None
    when the schema uses a keyword (or a `$schema` dialect) this module does not handle, or is
    not a valid schema."""
    if not isinstance(schema, dict):
        return None
    if schema.get("$schema", DRAFT_2020_12) != DRAFT_2020_12:
        return None
    try:
        compiler = _Compiler(schema)
        check = compiler.compile(schema)
        compiler.compile_unreferenced(schema.get("$defs"))
        return check
    except _Unsupported:
        return None


class _Compiler:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, dict):
            raise _Unsupported("a schema is an object or a boolean")
        checks: list[Check] = []
        for keyword, value in schema.items():
            if not isinstance(keyword, str):
                raise _Unsupported("a keyword is a string")
            if keyword.startswith("x-"):
                continue  # not a JSON Schema keyword: allowed, and it asserts nothing
            allowed = _ANNOTATIONS.get(keyword)
            if allowed is not None:
                if not allowed(value):
                    raise _Unsupported(f"{keyword} {value!r}")
                continue
            if keyword in ("then", "else"):
                if "if" not in schema:
                    self.compile(value)  # without "if" it asserts nothing, but must be a schema
                continue
            if keyword == "$schema" and schema is self.root:
                continue  # compile_check read it
            if keyword == "$defs":
                if schema is not self.root:  # the root's are compiled at the end
                    self.compile_unreferenced(value)
                continue
            build = _KEYWORDS.get(keyword)
            if build is None:
                raise _Unsupported(keyword)
            checks.append(build(self, value, schema))
        return _all_of(checks)

    def compile_unreferenced(self, definitions: Any) -> None:
        """$defs must be a map of schemas, used or not."""
        if definitions is None:
            return
        if not isinstance(definitions, dict):
            raise _Unsupported("$defs is an object")
        for sub in definitions.values():
            self.compile(sub)

    def reference(self, ref: Any) -> Check:
        if not isinstance(ref, str) or not _REF.fullmatch(ref):
            raise _Unsupported("$ref outside this schema")
        if ref not in self.refs:
            self.refs[ref] = _never  # while compiling it (a recursive schema looks itself up late)
            target = self.root
            for part in ref[2:].split("/") if ref != "#" else []:
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    raise _Unsupported(f"unresolvable $ref {ref}")
                target = target[part]
            self.refs[ref] = self.compile(target)
        refs = self.refs
        return lambda value: refs[ref](value)


def _always(value: Any) -> bool:
    return True


def _never(value: Any) -> bool:
    return False


def _all_of(checks: list[Check]) -> Check:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]

    def check(value: Any) -> bool:
        for one in checks:
            if not one(value):
                return False
        return True

    return check


# ----- types ---------------------------------------------------------------------------------


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Number)


_TYPES: dict[str, Check] = {
    "string": lambda value: isinstance(value, str),
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
    "integer": _is_integer,
    "number": _is_number,
}
_PYTHON_TYPES = {"string": str, "object": dict, "array": list, "boolean": bool}


def _type(compiler: _Compiler, types: Any, schema: dict) -> Check:
    names = [types] if isinstance(types, str) else types
    if (
        not isinstance(names, list)
        or not names
        or any(not isinstance(name, str) or name not in _TYPES for name in names)
        or len(set(names)) != len(names)
    ):
        raise _Unsupported(f"type {types!r}")
    if len(names) == 1:
        return _TYPES[names[0]]
    if all(name in _PYTHON_TYPES for name in names):
        python_types = tuple(_PYTHON_TYPES[name] for name in names)
        return lambda value: isinstance(value, python_types)
    checks = [_TYPES[name] for name in names]
    return lambda value: any(check(value) for check in checks)


# ----- values --------------------------------------------------------------------------------


def _enum(compiler: _Compiler, allowed: Any, schema: dict) -> Check:
    if not isinstance(allowed, list):
        raise _Unsupported("enum is a list")
    strings = frozenset(item for item in allowed if isinstance(item, str))
    singletons = [item for item in allowed if item is None or isinstance(item, bool)]
    plain_numbers = [item for item in allowed if type(item) in (int, float)]

    def check(value: Any) -> bool:
        if isinstance(value, str):
            return value in strings
        if value is None or isinstance(value, bool):
            return any(item is value for item in singletons)
        if type(value) in (int, float) and not (isinstance(value, float) and math.isnan(value)):
            return any(item == value for item in plain_numbers)
        raise Unsure  # lists, objects, other number types: jsonschema's own equality decides

    return check


def _const(compiler: _Compiler, value: Any, schema: dict) -> Check:
    return _enum(compiler, [value], schema)


def _min_length(compiler: _Compiler, limit: Any, schema: dict) -> Check:
    _require_count(limit)
    return lambda value: not isinstance(value, str) or len(value) >= limit


def _max_length(compiler: _Compiler, limit: Any, schema: dict) -> Check:
    _require_count(limit)
    return lambda value: not isinstance(value, str) or len(value) <= limit


def _bound(compare: Callable[[Any, Any], bool]) -> Callable[[_Compiler, Any, dict], Check]:
    def build(compiler: _Compiler, limit: Any, schema: dict) -> Check:
        if type(limit) not in (int, float) or math.isnan(limit):
            raise _Unsupported("a bound is a number")

        def check(value: Any) -> bool:
            if type(value) in (int, float):
                return compare(value, limit)
            if isinstance(value, bool) or not isinstance(value, numbers.Number):
                return True  # not a number: the keyword does not apply
            raise Unsure

        return check

    return build


def _require_count(limit: Any) -> None:
    if type(limit) is not int or limit < 0:
        raise _Unsupported("a length is a whole number")


# ----- objects -------------------------------------------------------------------------------


def _required(compiler: _Compiler, names: Any, schema: dict) -> Check:
    if (
        not isinstance(names, list)
        or any(not isinstance(name, str) for name in names)
        or len(set(names)) != len(names)
    ):
        raise _Unsupported("required is a list of different strings")
    names = list(names)
    return lambda value: not isinstance(value, dict) or all(name in value for name in names)


def _properties(compiler: _Compiler, properties: Any, schema: dict) -> Check:
    if not isinstance(properties, dict) or any(not isinstance(name, str) for name in properties):
        raise _Unsupported("properties is an object")
    checks = [(name, compiler.compile(sub)) for name, sub in properties.items() if sub is not True]

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for name, one in checks:
            if name in value and not one(value[name]):
                return False
        return True

    return check


def _additional_properties(compiler: _Compiler, extra: Any, schema: dict) -> Check:
    if "patternProperties" in schema:
        raise _Unsupported("patternProperties")
    declared = frozenset(schema.get("properties") or {})
    if extra is True:
        return _always
    one = compiler.compile(extra)

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for name in value:
            if name not in declared and not one(value[name]):
                return False
        return True

    return check


def _min_properties(compiler: _Compiler, limit: Any, schema: dict) -> Check:
    _require_count(limit)
    return lambda value: not isinstance(value, dict) or len(value) >= limit


def _max_properties(compiler: _Compiler, limit: Any, schema: dict) -> Check:
    _require_count(limit)
    return lambda value: not isinstance(value, dict) or len(value) <= limit


# ----- arrays --------------------------------------------------------------------------------


def _items(compiler: _Compiler, items: Any, schema: dict) -> Check:
    if "prefixItems" in schema:
        raise _Unsupported("prefixItems")
    one = compiler.compile(items)

    def check(value: Any) -> bool:
        if not isinstance(value, list):
            return True
        for item in value:
            if not one(item):
                return False
        return True

    return check


def _min_items(compiler: _Compiler, limit: Any, schema: dict) -> Check:
    _require_count(limit)
    return lambda value: not isinstance(value, list) or len(value) >= limit


def _max_items(compiler: _Compiler, limit: Any, schema: dict) -> Check:
    _require_count(limit)
    return lambda value: not isinstance(value, list) or len(value) <= limit


# ----- combining -----------------------------------------------------------------------------


def _subschemas(compiler: _Compiler, subs: Any) -> list[Check]:
    if not isinstance(subs, list) or not subs:
        raise _Unsupported("a non-empty list of schemas")
    return [compiler.compile(sub) for sub in subs]


def _all_of_keyword(compiler: _Compiler, subs: Any, schema: dict) -> Check:
    return _all_of(_subschemas(compiler, subs))


def _any_of(compiler: _Compiler, subs: Any, schema: dict) -> Check:
    checks = _subschemas(compiler, subs)

    def check(value: Any) -> bool:
        for one in checks:
            if one(value):
                return True
        return False

    return check


def _one_of(compiler: _Compiler, subs: Any, schema: dict) -> Check:
    checks = _subschemas(compiler, subs)
    return lambda value: sum(1 for one in checks if one(value)) == 1


def _not(compiler: _Compiler, sub: Any, schema: dict) -> Check:
    one = compiler.compile(sub)
    return lambda value: not one(value)


def _if(compiler: _Compiler, condition: Any, schema: dict) -> Check:
    test = compiler.compile(condition)
    then = compiler.compile(schema["then"]) if "then" in schema else _always
    otherwise = compiler.compile(schema["else"]) if "else" in schema else _always
    return lambda value: then(value) if test(value) else otherwise(value)


def _ref(compiler: _Compiler, ref: Any, schema: dict) -> Check:
    return compiler.reference(ref)


_KEYWORDS: dict[str, Callable[[_Compiler, Any, dict], Check]] = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "minLength": _min_length,
    "maxLength": _max_length,
    "minimum": _bound(lambda value, limit: value >= limit),
    "maximum": _bound(lambda value, limit: value <= limit),
    "exclusiveMinimum": _bound(lambda value, limit: value > limit),
    "exclusiveMaximum": _bound(lambda value, limit: value < limit),
    "required": _required,
    "properties": _properties,
    "additionalProperties": _additional_properties,
    "minProperties": _min_properties,
    "maxProperties": _max_properties,
    "items": _items,
    "minItems": _min_items,
    "maxItems": _max_items,
    "allOf": _all_of_keyword,
    "anyOf": _any_of,
    "oneOf": _one_of,
    "not": _not,
    "if": _if,
    "$ref": _ref,
}
