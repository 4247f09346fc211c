"""The `xml` node: XML text to an object and back, with xml2js's conventions.

Parsing (expat, from the standard library) gives what xml2js gives with its
defaults: `{root: ...}`; each child element in an array under its tag name;
attributes under `$` (`attr` option); text under `_` (`chr` option) when the
element also has attributes or children, else the element is just its text;
empty elements are "". `msg.options` may set trim, normalize, normalizeTags,
explicitArray, explicitRoot, ignoreAttrs, mergeAttrs, explicitCharkey,
emptyTag, attrkey and charkey.

Building writes the object back: a single top-level key is the root element
(else "root"), `$` becomes attributes and `_` text, arrays repeat the element.
Without `msg.options` the output is one line with an XML declaration; with
`msg.options` it is indented (renderOpts.pretty) unless told otherwise, and
`headless` drops the declaration.
"""

from __future__ import annotations

import re
from typing import Any
from xml.parsers import expat

from flowrt import Node, register_type
from flowrt.lang.jsvalues import js_join_item
from flowrt.lang.propertypath import get_message_property, set_message_property


class XMLParseError(ValueError):
    pass


def parse_xml(text: str, options: dict | None = None) -> Any:
    opts = options or {}
    attrkey = opts.get("attrkey") or "$"
    charkey = opts.get("charkey") or "_"
    trim = bool(opts.get("trim"))
    normalize = bool(opts.get("normalize"))
    normalize_tags = bool(opts.get("normalizeTags"))
    explicit_array = opts.get("explicitArray", True) is not False
    explicit_root = opts.get("explicitRoot", True) is not False
    ignore_attrs = bool(opts.get("ignoreAttrs"))
    merge_attrs = bool(opts.get("mergeAttrs"))
    explicit_charkey = bool(opts.get("explicitCharkey"))
    empty_tag = opts.get("emptyTag", "")

    parser = expat.ParserCreate()
    parser.ordered_attributes = True
    stack: list[tuple[str, dict, list[str]]] = []
    result: dict[str, Any] = {}

    def add(obj: dict, key: str, value: Any) -> None:
        if key in obj:
            current = obj[key]
            if isinstance(current, _Multi):
                current.append(value)
            else:
                obj[key] = _Multi([current, value])
        else:
            obj[key] = _Multi([value]) if explicit_array else value

    def start(name: str, attrs: list[str]) -> None:
        if normalize_tags:
            name = name.lower()
        obj: dict[str, Any] = {}
        if attrs and not ignore_attrs:
            pairs = dict(zip(attrs[0::2], attrs[1::2], strict=True))
            if merge_attrs:
                for k, v in pairs.items():
                    add(obj, k, v)
            else:
                obj[attrkey] = pairs
        stack.append((name, obj, []))

    def end(_name: str) -> None:
        name, obj, texts = stack.pop()
        text = "".join(texts)
        if text.strip() == "":
            text = ""
        else:
            if trim:
                text = text.strip()
            if normalize:
                text = re.sub(r"\s{2,}", " ", text).strip()
        value: Any
        if text:
            obj[charkey] = text
        if not obj:
            value = text if text else empty_tag
        elif list(obj.keys()) == [charkey] and not explicit_charkey:
            value = obj[charkey]
        else:
            value = _plain(obj)
        if stack:
            add(stack[-1][1], name, value)
        else:
            result[name] = value

    def chars(data: str) -> None:
        if stack:
            stack[-1][2].append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(text.strip(), True)
    except expat.ExpatError as err:
        raise XMLParseError(
            f"Error: {expat.ErrorString(err.code)}\nLine: {err.lineno}\nColumn: {err.offset}"
        ) from None
    if explicit_root:
        return result
    return next(iter(result.values()), None)


class _Multi(list):
    """A list made by repeated elements (as opposed to a value that already was a list)."""

    _multi = True


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# ----- building ------------------------------------------------------------------------------------


def _escape(text: str, attr: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if attr:
        text = text.replace('"', "&quot;")
    else:
        text = text.replace("\r", "&#xD;")
    return text


def _text(value: Any) -> str:
    return js_join_item(value)


def build_xml(obj: Any, options: dict | None = None, pretty: bool = False) -> str:
    opts = options or {}
    attrkey = opts.get("attrkey") or "$"
    charkey = opts.get("charkey") or "_"
    root_name = opts.get("rootName") or "root"
    render = opts.get("renderOpts") if isinstance(opts.get("renderOpts"), dict) else {}
    if "pretty" in render:
        pretty = bool(render["pretty"])
    indent = render.get("indent", "  ") if pretty else ""
    newline = render.get("newline", "\n") if pretty else ""
    headless = bool(opts.get("headless"))
    cdata = bool(opts.get("cdata"))

    if isinstance(obj, dict) and len(obj) == 1 and not opts.get("rootName"):
        root_name, obj = next(iter(obj.items()))

    lines: list[str] = []

    def text_of(value: Any) -> str:
        s = _text(value)
        if cdata and re.search(r"[<&>]", s) and "]]>" not in s:
            return f"<![CDATA[{s}]]>"
        return _escape(s)

    def element(name: str, value: Any, level: int) -> None:
        pad = indent * level
        if isinstance(value, list):
            for item in value:
                element(name, item, level)
            return
        if not isinstance(value, dict):
            if value is None:
                lines.append(f"{pad}<{name}/>")
            else:
                lines.append(f"{pad}<{name}>{text_of(value)}</{name}>")
            return
        attrs = ""
        attr_obj = value.get(attrkey)
        if isinstance(attr_obj, dict):
            attrs = "".join(f' {k}="{_escape(_text(v), attr=True)}"' for k, v in attr_obj.items())
        children = [(k, v) for k, v in value.items() if k not in (attrkey, charkey)]
        text = value.get(charkey)
        if not children:
            if text is None:
                lines.append(f"{pad}<{name}{attrs}/>")
            else:
                lines.append(f"{pad}<{name}{attrs}>{text_of(text)}</{name}>")
            return
        lines.append(f"{pad}<{name}{attrs}>")
        if text is not None:
            lines.append(f"{pad}{indent}{text_of(text)}")
        for k, v in children:
            element(k, v, level + 1)
        lines.append(f"{pad}</{name}>")

    element(root_name, obj, 0)
    body = newline.join(lines) if pretty else "".join(lines)
    if headless:
        return body
    decl = opts.get("xmldec") if isinstance(opts.get("xmldec"), dict) else {}
    version = decl.get("version", "1.0")
    encoding = decl.get("encoding", "UTF-8")
    standalone = decl.get("standalone", True)
    header = f'<?xml version="{version}" encoding="{encoding}" standalone="{"yes" if standalone else "no"}"?>'
    return header + newline + body


@register_type("xml")
class XMLNode(Node):
    schema = {
        "type": "object",
        "properties": {"property": {"type": "string"}, "attr": {"type": "string"}, "chr": {"type": "string"}},
    }

    def setup(self) -> None:
        self.attrkey = self.config.get("attr") or ""
        self.charkey = self.config.get("chr") or ""
        self.property = self.config.get("property") or "payload"

    def on_input(self, msg: dict, send, done) -> None:
        value = get_message_property(msg, self.property)
        if value is None:
            send(msg)
            done()
            return
        # Node-RED uses msg.options itself (no copy) and sets its async/attrkey/charkey on it
        if "options" in msg and msg["options"] is None and isinstance(value, (dict, list, str)):
            done("TypeError: Cannot set properties of null (setting 'async')")  # typeof null is "object"
            return
        options = msg.get("options") if isinstance(msg.get("options"), dict) else None
        if isinstance(value, (dict, list)):
            if options is not None:
                options["async"] = False
            text = build_xml(value, options, pretty=options is not None)
            set_message_property(msg, self.property, text)
            send(msg)
            done()
        elif isinstance(value, str):
            opts = options if options is not None else {}
            opts["async"] = True
            opts["attrkey"] = self.attrkey or opts.get("attrkey") or "$"
            opts["charkey"] = self.charkey or opts.get("charkey") or "_"
            try:
                parsed = parse_xml(value, opts)
            except XMLParseError as err:
                done(str(err))
                return
            set_message_property(msg, self.property, parsed)
            send(msg)
            done()
        else:
            self.warn("This node only handles xml strings or js objects.")
            done()
