"""What a server offers: tools, resources (fixed and templated), prompts; and how a flow's answer
(a message) becomes the result each request needs."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from flowrt.mcp import protocol

Starter = Callable[[Any], None]  # called with a session.Call: the node sends the request into the flow

_DEFAULT_INPUT_SCHEMA = {"type": "object", "properties": {}}


class FeatureError(ValueError):
    """A tool, resource or prompt definition that cannot be served (a bad schema, template, name)."""


class SchemaValidator:
    """A checked JSON Schema whose jsonschema validator is built when first used.

    jsonschema (with referencing, rpds and the metaschemas) is 2.7 MB of an idle server's RSS
    (issue 19): a schema within `_plainly_valid`'s subset, which is what tools usually declare,
    is known valid without it, so a server that has not been called yet has not imported it."""

    __slots__ = ("schema", "_validator")

    def __init__(self, schema: dict) -> None:
        self.schema = schema
        self._validator: Any = None

    def iter_errors(self, value: Any) -> Any:
        if self._validator is None:
            import jsonschema

            cls = jsonschema.validators.validator_for(self.schema, default=jsonschema.Draft202012Validator)
            self._validator = cls(self.schema, format_checker=cls.FORMAT_CHECKER)
        return self._validator.iter_errors(value)


def compile_schema(schema: Any, what: str) -> SchemaValidator:
    """A validator for a JSON Schema (draft 2020-12 unless the schema's $schema names another);
    FeatureError when the schema is not valid."""
    if not isinstance(schema, dict):
        raise FeatureError(f"{what} must be a JSON Schema object, not {type(schema).__name__}")
    if not _plainly_valid(schema):
        import jsonschema
        from jsonschema.exceptions import SchemaError

        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        try:
            cls.check_schema(schema)
        except SchemaError as err:
            raise FeatureError(f"{what} is not a valid JSON Schema: {err.message}") from None
    return SchemaValidator(schema)


_DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
_TYPE_NAMES = frozenset(("array", "boolean", "integer", "null", "number", "object", "string"))


def _is_number(v: Any) -> bool:
    return type(v) in (int, float)


def _is_count(v: Any) -> bool:
    return type(v) is int and v >= 0


def _is_type(v: Any) -> bool:
    if type(v) is str:
        return v in _TYPE_NAMES
    return (
        type(v) is list
        and bool(v)
        and all(type(t) is str and t in _TYPE_NAMES for t in v)
        and len(set(v)) == len(v)
    )


def _is_regex(v: Any) -> bool:
    # jsonschema's check_schema tests a pattern with its format checker, which is re.compile
    if type(v) is not str:
        return False
    try:
        re.compile(v)
    except re.error:
        return False
    return True


def _is_names(v: Any) -> bool:
    return type(v) is list and all(type(x) is str for x in v) and len(set(v)) == len(v)


def _is_schema_map(v: Any) -> bool:
    return type(v) is dict and all(type(k) is str and _plainly_valid(s) for k, s in v.items())


_KEYWORD_CHECKS: dict[str, Callable[[Any], bool]] = {
    "type": _is_type,
    "properties": _is_schema_map,
    "required": _is_names,
    "items": lambda v: _plainly_valid(v),
    "additionalProperties": lambda v: _plainly_valid(v),
    "title": lambda v: type(v) is str,
    "description": lambda v: type(v) is str,
    "format": lambda v: type(v) is str,
    "pattern": _is_regex,
    "enum": lambda v: type(v) is list,
    "examples": lambda v: type(v) is list,
    "const": lambda v: True,
    "default": lambda v: True,
    "minimum": _is_number,
    "maximum": _is_number,
    "exclusiveMinimum": _is_number,
    "exclusiveMaximum": _is_number,
    "multipleOf": lambda v: _is_number(v) and v > 0,
    "minLength": _is_count,
    "maxLength": _is_count,
    "minItems": _is_count,
    "maxItems": _is_count,
    "minProperties": _is_count,
    "maxProperties": _is_count,
    "uniqueItems": lambda v: type(v) is bool,
    "$schema": lambda v: v == _DRAFT_2020_12,
}


def _plainly_valid(schema: Any) -> bool:
    """True only for a schema the draft 2020-12 metaschema certainly accepts: booleans, and
    objects using the common keywords above with values of the right kind. Anything else (other
    keywords, $ref, another $schema, a float count) is left to jsonschema's check_schema."""
    if type(schema) is bool:
        return True
    if type(schema) is not dict:
        return False
    for key, value in schema.items():
        check = _KEYWORD_CHECKS.get(key)
        if check is None or not check(value):
            return False
    return True


def schema_problems(validator: SchemaValidator, value: Any, limit: int = 5) -> list[str]:
    """Readable violations: `path: message`, at most `limit`."""
    problems = []
    for err in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in err.absolute_path)
        problems.append(f"{where}: {err.message}" if where else err.message)
        if len(problems) == limit:
            break
    return problems


@dataclass
class Tool:
    name: str
    start: Starter
    title: str = ""
    description: str = ""
    input_schema: dict = field(default_factory=lambda: dict(_DEFAULT_INPUT_SCHEMA))
    output_schema: dict | None = None
    annotations: dict | None = None
    timeout: float | None = None

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise FeatureError("a tool needs a name")
        if self.input_schema.get("type") != "object":
            raise FeatureError(f"tool {self.name!r}: inputSchema must have type 'object'")
        self.input_validator = compile_schema(self.input_schema, f"tool {self.name!r}: inputSchema")
        self.output_validator = None
        if self.output_schema is not None:
            if self.output_schema.get("type") != "object":
                raise FeatureError(f"tool {self.name!r}: outputSchema must have type 'object'")
            self.output_validator = compile_schema(self.output_schema, f"tool {self.name!r}: outputSchema")

    def definition(self) -> dict:
        out: dict[str, Any] = {"name": self.name}
        if self.title:
            out["title"] = self.title
        out["description"] = self.description
        out["inputSchema"] = self.input_schema
        if self.output_schema is not None:
            out["outputSchema"] = self.output_schema
        if self.annotations:
            out["annotations"] = self.annotations
        return out


@dataclass
class Resource:
    """A resource with a fixed URI, or a template (`uri_template`) matching many."""

    start: Starter
    name: str
    uri: str = ""
    uri_template: str = ""
    title: str = ""
    description: str = ""
    mime_type: str = ""
    size: int | None = None
    completions: dict[str, list[str]] = field(default_factory=dict)
    timeout: float | None = None

    def __post_init__(self) -> None:
        if bool(self.uri) == bool(self.uri_template):
            raise FeatureError(f"resource {self.name!r} needs either a URI or a URI template")
        self.pattern, self.variables = (
            compile_template(self.uri_template) if self.uri_template else (None, [])
        )

    def match(self, uri: str) -> dict[str, str] | None:
        if self.pattern is None:
            return {} if uri == self.uri else None
        found = self.pattern.fullmatch(uri)
        if found is None:
            return None
        return {name: unquote(value) for name, value in found.groupdict().items() if value is not None}

    def definition(self) -> dict:
        out: dict[str, Any] = {"uriTemplate": self.uri_template} if self.pattern else {"uri": self.uri}
        out["name"] = self.name
        for key, value in (
            ("title", self.title),
            ("description", self.description),
            ("mimeType", self.mime_type),
        ):
            if value:
                out[key] = value
        if self.size is not None and self.pattern is None:
            out["size"] = self.size
        return out


_TEMPLATE_PART = re.compile(r"\{([+#./;?&]?)([A-Za-z0-9_.,%]+)\}")


def compile_template(template: str) -> tuple[re.Pattern, list[str]]:
    """An RFC 6570 URI template as a pattern: `{name}` matches one segment, `{+name}` any text;
    `{?a,b}` (a query) matches the query part as a whole under the first name."""
    source, names, last = [], [], 0
    for part in _TEMPLATE_PART.finditer(template):
        source.append(re.escape(template[last : part.start()]))
        operator, variables = part.groups()
        first = variables.split(",")[0]
        if not first.isidentifier() or first in names:
            raise FeatureError(f"URI template {template!r}: bad or repeated variable {first!r}")
        names.append(first)
        if operator in ("+", "#"):
            source.append(f"{re.escape(operator) if operator == '#' else ''}(?P<{first}>.+?)")
        elif operator in ("?", "&"):
            source.append(f"(?:\\{operator}(?P<{first}>.*))?")
        elif operator in (".", "/", ";"):
            source.append(f"{re.escape(operator)}(?P<{first}>[^/?#]+)")
        else:
            source.append(f"(?P<{first}>[^/?#]+)")
        last = part.end()
    source.append(re.escape(template[last:]))
    if not names:
        raise FeatureError(f"URI template {template!r} has no {{variable}}")
    return re.compile("".join(source)), names


@dataclass
class Prompt:
    name: str
    start: Starter
    title: str = ""
    description: str = ""
    arguments: list[dict] = field(default_factory=list)  # {name, description, required, values}
    timeout: float | None = None

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise FeatureError("a prompt needs a name")
        for arg in self.arguments:
            if not isinstance(arg, dict) or not isinstance(arg.get("name"), str) or not arg["name"]:
                raise FeatureError(f"prompt {self.name!r}: each argument needs a name, not {arg!r}")

    def definition(self) -> dict:
        out: dict[str, Any] = {"name": self.name}
        if self.title:
            out["title"] = self.title
        out["description"] = self.description
        if self.arguments:
            out["arguments"] = [
                {k: v for k, v in arg.items() if k in ("name", "title", "description", "required")}
                for arg in self.arguments
            ]
        return out

    def missing(self, given: dict) -> list[str]:
        return [a["name"] for a in self.arguments if a.get("required") and a["name"] not in given]

    def completions(self) -> dict[str, list[str]]:
        return {a["name"]: [str(v) for v in a.get("values") or []] for a in self.arguments}


def complete(values: list[str], prefix: str) -> dict:
    """completion/complete's answer: the values starting with what the user typed (at most 100)."""
    matching = [v for v in values if v.lower().startswith(prefix.lower())]
    return {"completion": {"values": matching[:100], "total": len(matching), "hasMore": len(matching) > 100}}


# ----- answers: a flow's value -> the result of a request -------------------------------------


def _b64(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return protocol.dumps(value)


def _is_content_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(c, dict) and "type" in c for c in value)


def content_items(value: Any, content_type: str = "auto", mime_type: str = "") -> list[dict]:
    """A value as MCP content blocks (text, image, audio, resource, resource_link)."""
    if content_type == "image" or content_type == "audio":
        if not mime_type:
            raise ValueError(f"{content_type} content needs a MIME type")
        return [{"type": content_type, "data": _b64(value), "mimeType": mime_type}]
    if content_type == "resource":
        if not isinstance(value, dict) or not isinstance(value.get("uri"), str):
            raise ValueError("resource content needs an object with a uri and text or blob")
        resource = dict(value)
        if isinstance(resource.get("blob"), (bytes, bytearray)):
            resource["blob"] = _b64(resource["blob"])
        if mime_type and "mimeType" not in resource:
            resource["mimeType"] = mime_type
        return [{"type": "resource", "resource": resource}]
    if content_type == "resource_link":
        if not isinstance(value, dict) or not isinstance(value.get("uri"), str):
            raise ValueError("a resource link needs an object with a uri and a name")
        return [{"type": "resource_link", "name": value.get("name") or value["uri"], **value}]
    if content_type == "auto":
        if _is_content_list(value):
            return list(value)
        if (
            isinstance(value, dict)
            and "type" in value
            and value["type"]
            in (
                "text",
                "image",
                "audio",
                "resource",
                "resource_link",
            )
        ):
            return [value]
        if isinstance(value, (bytes, bytearray)) and mime_type.startswith(("image/", "audio/")):
            return [{"type": mime_type.split("/")[0], "data": _b64(value), "mimeType": mime_type}]
    if value is None:
        return []
    return [{"type": "text", "text": _text(value)}]


def tool_result(
    tool: Tool | None,
    value: Any,
    content_type: str = "auto",
    mime_type: str = "",
    is_error: bool = False,
    structured: Any = None,
) -> dict:
    """A CallToolResult from the flow's value. A value that already is one passes as it is; with an
    outputSchema, an object becomes structuredContent too (and must conform)."""
    if content_type == "auto" and isinstance(value, dict) and isinstance(value.get("content"), list):
        result = dict(value)
    else:
        if content_type == "structured" or (
            structured is None
            and content_type == "auto"
            and tool is not None
            and tool.output_schema is not None
            and isinstance(value, dict)
        ):
            structured = value
            content_type = "text"
        result = {
            "content": content_items(
                value, "text" if content_type == "structured" else content_type, mime_type
            )
        }
        if structured is not None:
            result["structuredContent"] = structured
    if is_error:
        result["isError"] = True
    if tool is not None and tool.output_validator is not None and not result.get("isError"):
        if "structuredContent" not in result:
            return error_result(f"tool {tool.name!r} has an outputSchema but answered no structured content")
        problems = schema_problems(tool.output_validator, result["structuredContent"])
        if problems:
            return error_result(
                f"tool {tool.name!r} answered content its outputSchema refuses: {'; '.join(problems)}"
            )
    return result


def error_result(text: str) -> dict:
    return {"content": [{"type": "text", "text": text}], "isError": True}


def resource_result(uri: str, value: Any, mime_type: str = "") -> dict:
    """A ReadResourceResult: text as text, bytes as a base64 blob, other values as JSON text."""
    if isinstance(value, dict) and isinstance(value.get("contents"), list):
        return value
    if isinstance(value, list) and all(isinstance(v, dict) and "uri" in v for v in value):
        return {"contents": value}
    item: dict[str, Any] = {"uri": uri}
    if isinstance(value, (bytes, bytearray, memoryview)):
        item["mimeType"] = mime_type or "application/octet-stream"
        item["blob"] = _b64(value)
    elif isinstance(value, str):
        item["mimeType"] = mime_type or "text/plain"
        item["text"] = value
    else:
        item["mimeType"] = mime_type or "application/json"
        item["text"] = protocol.dumps(value)
    return {"contents": [item]}


def prompt_result(prompt: Prompt | None, value: Any, mime_type: str = "") -> dict:
    """A GetPromptResult: a string is one user message; a list holds messages or contents."""
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        result = dict(value)
    else:
        items = value if isinstance(value, list) else [value]
        messages = []
        for item in items:
            if isinstance(item, dict) and "role" in item and "content" in item:
                messages.append(item)
            else:
                for content in content_items(item, "auto", mime_type):
                    messages.append({"role": "user", "content": content})
        result = {"messages": messages}
    if prompt is not None and prompt.description and "description" not in result:
        result["description"] = prompt.description
    return result
