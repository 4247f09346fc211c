"""The `json` node: converts between a JSON string and an object, both directions.

`action` "" converts whichever way the value needs, "str" always yields a string,
"obj" always yields an object. A `msg.schema` (JSON Schema) validates the value;
on failure `msg.schemaError` holds the list of errors (ajv-shaped) and the node
reports a catchable error.
"""

from __future__ import annotations

import json as _json
import math
from typing import Any

import jsonschema

from flowrt import Node, register_type
from flowrt.jsvalues import js_number_text
from flowrt.propertypath import get_message_property, set_message_property

__all__ = ["JSONNode", "JSParseError", "js_json_dumps", "js_json_loads", "js_number_text"]


class JSParseError(ValueError):
    """A JSON syntax error with a message in the style of JavaScript's JSON.parse."""


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"type": "Buffer", "data": list(value)}
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _to_jsonable(v) for k, v in value.items() if v is not _UNDEFINED}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    return value


_UNDEFINED = object()


class _JSEncoder(_json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, (set, frozenset)):
            return {}
        to_json = getattr(o, "toJSON", None)
        if callable(to_json):
            return to_json()
        return str(o)


def _float_repr(value: float) -> str:
    return js_number_text(value)


def js_json_dumps(value: Any, indent: int = 0) -> str:
    """JSON.stringify(value, null, indent): compact separators, unicode kept, JS number text."""
    encoder = _JSEncoder(
        ensure_ascii=False,
        separators=(",", ": ") if indent else (",", ":"),
        indent=indent or None,
        allow_nan=True,
    )
    # The pure-Python encoder loop accepts a float formatter: JavaScript number text.
    chunks = _json.encoder._make_iterencode(  # type: ignore[attr-defined]
        {},
        encoder.default,
        _json.encoder.py_encode_basestring,
        encoder.indent if encoder.indent is None else " " * encoder.indent,
        _float_repr,
        encoder.key_separator,
        encoder.item_separator,
        False,
        False,
        True,
    )(_to_jsonable(value), 0)
    return "".join(chunks)


_LITERALS = ("true", "false", "null")


def js_json_loads(text: str | bytes | bytearray) -> Any:
    """JSON.parse: whitespace around the value allowed; errors worded as V8 words them."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    try:
        return _json.loads(text, parse_constant=_reject_constant)
    except _json.JSONDecodeError as err:
        raise JSParseError(_v8_message(text, err.pos)) from None
    except _ConstantError as err:
        raise JSParseError(_v8_message(text, text.find(err.args[0]))) from None


class _ConstantError(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _ConstantError(name)


def _v8_message(text: str, pos: int) -> str:
    pos = max(0, pos)
    # Python stops at the start of a bad literal; V8 at the first character that breaks it.
    for literal in _LITERALS:
        if text.startswith(literal[0], pos):
            k = 0
            while k < len(literal) and pos + k < len(text) and text[pos + k] == literal[k]:
                k += 1
            if k < len(literal):
                pos += k
            break
    if pos >= len(text.rstrip()) or pos >= len(text):
        return "Unexpected end of JSON input"
    shown = text if len(text) <= 30 else text[:30] + "..."
    return f"Unexpected token '{text[pos]}', \"{shown}\" is not valid JSON"


def ajv_errors(validator: jsonschema.protocols.Validator, value: Any) -> list[dict]:
    """Validation errors in the shape ajv gives them (instancePath, schemaPath, keyword, params, message)."""
    out = []
    for err in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        path = "".join(f"/{p}" for p in err.absolute_path)
        schema_path = "#/" + "/".join(str(p) for p in err.absolute_schema_path)
        params: dict[str, Any] = {}
        if err.validator == "type":
            params = {"type": err.validator_value}
            message = f"must be {err.validator_value}"
        elif err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else ""
            params = {"missingProperty": missing}
            message = f"must have required property '{missing}'"
        else:
            params = {err.validator: err.validator_value}
            message = err.message
        out.append(
            {
                "instancePath": path,
                "schemaPath": schema_path,
                "keyword": err.validator,
                "params": params,
                "message": message,
            }
        )
    return out


def _errors_text(errors: list[dict]) -> str:
    return ", ".join(f"data{e['instancePath']} {e['message']}" for e in errors) or "No errors"


@register_type("json")
class JSONNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "property": {"type": "string"},
            "action": {"enum": ["", "str", "obj"]},
            "pretty": {"type": ["boolean", "string"]},
        },
    }

    def setup(self) -> None:
        self.indent = 4 if self.config.get("pretty") else 0
        self.action = self.config.get("action") or ""
        self.property = self.config.get("property") or "payload"
        self._schema_text: str | None = None
        self._validator: jsonschema.protocols.Validator | None = None

    def _compile(self, schema: Any) -> bool:
        text = _json.dumps(schema, sort_keys=True, default=str)
        if text == self._schema_text and self._validator is not None:
            return True
        try:
            if not isinstance(schema, (dict, bool)):
                raise jsonschema.SchemaError("schema must be an object or a boolean")
            cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
            cls.check_schema(schema)
            self._validator = cls(schema)
            self._schema_text = text
            return True
        except jsonschema.SchemaError:
            self._validator = None
            self._schema_text = None
            return False

    def _validate(self, msg: dict, value: Any, done) -> bool:
        assert self._validator is not None
        errors = ajv_errors(self._validator, value)
        if errors:
            msg["schemaError"] = errors
            done(f"JSON Schema validation failed: {_errors_text(errors)}")
            return False
        msg.pop("schema", None)
        return True

    def on_input(self, msg: dict, send, done) -> None:
        validate = False
        schema = msg.get("schema")
        if schema:
            if not self._compile(schema):
                done("The JSON Schema (msg.schema) could not be compiled")
                return
            validate = True
        value = get_message_property(msg, self.property)
        if value is None and not _has_property(msg, self.property):
            send(msg)
            done()
            return
        if isinstance(value, (str, bytes, bytearray)):
            if self.action in ("", "obj"):
                try:
                    parsed = js_json_loads(value)
                except JSParseError as err:
                    done(str(err))
                    return
                set_message_property(msg, self.property, parsed)
                if validate and not self._validate(msg, parsed, done):
                    return
            elif validate:
                try:
                    parsed = js_json_loads(value)
                except JSParseError as err:
                    done(str(err))
                    return
                if not self._validate(msg, parsed, done):
                    return
            send(msg)
            done()
        elif value is None or isinstance(value, (dict, list, bool, int, float)):
            if self.action in ("", "str"):
                if validate and not self._validate(msg, value, done):
                    return
                try:
                    text = js_json_dumps(value, self.indent)
                except (ValueError, TypeError, RecursionError):
                    done("Failed to convert the value to JSON")
                    return
                set_message_property(msg, self.property, text)
            elif validate and not self._validate(msg, value, done):
                return
            send(msg)
            done()
        else:
            self.warn("Dropped: the property is neither a JSON string nor an object")
            done()


def _has_property(msg: dict, prop: str) -> bool:
    """Whether a property that reads as None is present (JSON null) rather than missing."""
    from flowrt.propertypath import normalise_property_expression

    parts = normalise_property_expression(prop)
    obj: Any = msg
    for part in parts[:-1]:
        if isinstance(obj, dict) and part in obj:
            obj = obj[part]
        elif isinstance(obj, list) and isinstance(part, int) and 0 <= part < len(obj):
            obj = obj[part]
        else:
            return False
    last = parts[-1]
    if isinstance(obj, dict):
        return last in obj or str(last) in obj
    if isinstance(obj, list) and isinstance(last, int):
        return 0 <= last < len(obj)
    return False
