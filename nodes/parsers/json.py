"""The `json` node: converts between a JSON string and an object, both directions.

`action` "" converts whichever way the value needs, "str" always yields a string,
"obj" always yields an object. A `msg.schema` (JSON Schema) validates the value;
on failure `msg.schemaError` holds the list of errors (ajv-shaped) and the node
reports a catchable error.
"""

from __future__ import annotations

import json as _json
from typing import Any

import jsonschema

from flowrt import Node, register_type
from flowrt.lang.jsvalues import JSParseError, js_json_dumps, js_json_loads, js_number_text
from flowrt.lang.propertypath import get_message_property, has_message_property, set_message_property

__all__ = ["JSONNode", "JSParseError", "js_json_dumps", "js_json_loads", "js_number_text"]


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
            done(f"JSON Schema error: {_errors_text(errors)}")
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
        if value is None and not has_message_property(msg, self.property):
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
