"""The `html` node: picks elements out of an HTML document with a CSS selector.

`tag` is the selector (or `msg.select` when `tag` is empty). `ret`: "html" the
inner HTML of each match, "text" its text, "attr" its attributes, "compl" its
attributes plus the inner HTML under `chr` (default "_"). `as`: "single" sends
one message with an array of results in `outproperty`; "multi" sends a message
per match with `msg.parts` (type "string"). Parsing uses BeautifulSoup's
html.parser (forgiving, like cheerio), selection uses soupsieve.
"""

from __future__ import annotations

from typing import Any

from bs4 import BeautifulSoup
from bs4.element import Tag
from soupsieve import SelectorSyntaxError

from flowrt import Node, register_type
from flowrt.lang.propertypath import get_message_property, has_message_property, set_message_property
from flowrt.util import clone_message


def _inner_html(tag: Tag) -> str:
    return "".join(str(child) for child in tag.contents).strip()


def _attrs(tag: Tag) -> dict[str, Any]:
    return {k: " ".join(v) if isinstance(v, list) else v for k, v in tag.attrs.items()}


@register_type("html")
class HTMLNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "property": {"type": "string"},
            "outproperty": {"type": "string"},
            "tag": {"type": "string"},
            "ret": {"enum": ["html", "text", "attr", "compl"]},
            "as": {"enum": ["single", "multi"]},
            "chr": {"type": "string"},
        },
    }

    def setup(self) -> None:
        cfg = self.config
        self.property = cfg.get("property") or "payload"
        self.outproperty = cfg.get("outproperty") or self.property or "payload"
        self.tag = cfg.get("tag") or ""
        self.ret = cfg.get("ret") or "html"
        self.as_ = cfg.get("as") or "single"
        self.chr = cfg.get("chr") or "_"

    def _result(self, tag: Tag) -> Any:
        if self.ret == "html":
            return _inner_html(tag)
        if self.ret == "text":
            return tag.get_text()
        if self.ret == "attr":
            return _attrs(tag)
        if self.ret == "compl":
            return {self.chr: _inner_html(tag), **_attrs(tag)}
        return None

    def on_input(self, msg: dict, send, done) -> None:
        value = get_message_property(msg, self.property)
        if value is None and not has_message_property(msg, self.property):
            send(msg)
            done()
            return
        selector = self.tag or (msg.get("select") if "select" in msg else "")
        try:
            if not isinstance(value, (str, bytes, bytearray)):
                raise TypeError(
                    f"Cannot parse a {type(value).__name__ if value is not None else 'null'} as HTML"
                )
            if not isinstance(selector, str) or selector == "":
                raise ValueError("No CSS selector given (tag or msg.select)")
            soup = BeautifulSoup(value, "html.parser")
            matches = soup.select(selector)
        except (TypeError, ValueError, SelectorSyntaxError) as err:
            done(str(err))
            return
        if self.as_ == "multi":
            count = len(matches)
            for index, tag in enumerate(matches):
                result = self._result(tag)
                if not result:
                    continue
                out = clone_message(msg)
                set_message_property(out, self.outproperty, result)
                out["parts"] = {
                    "id": msg.get("_msgid"),
                    "index": index,
                    "count": count,
                    "type": "string",
                    "ch": "",
                }
                send(out)
        else:
            set_message_property(msg, self.outproperty, [self._result(t) for t in matches])
            send(msg)
        done()
