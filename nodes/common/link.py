"""link in, link out and link call: virtual wires between flows (Node-RED's 60-link.js).

* `link out` in mode "link" sends to the `link in` nodes named in its `links`
  (and to any `link in` whose own `links` names it), on any tab, as if wired:
  the first target gets the message itself, the others clones.
* `link call` sends a message to a `link in` (static `links[0]`, or dynamic:
  `msg.target` naming a link in by id or name) and waits for it to come back
  through a `link out` in mode "return", which pops the caller from the
  message's `_linkSource` stack. No return within `timeout` seconds: error "timeout".
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from flowrt import Node, register_type
from flowrt.lang.jsvalues import is_nan, parse_float
from flowrt.util import clone_message

_LINK_IDS = {"type": "array", "items": {"type": "string"}}
# Node-RED's parseConfig calls links.forEach on a link in/out: a truthy non-list stops every flow.
_LINKS = {"anyOf": [_LINK_IDS, {"enum": [None, False, 0, ""]}], "x-fatal": True}


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _parse_float(value: Any, default: float) -> float:
    """JavaScript parseFloat of the value; `default` where that gives NaN."""
    number = parse_float(value)
    return default if is_nan(number) else number


@register_type("link in")
class LinkInNode(Node):
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "links": _LINKS}}

    @property
    def target_name(self) -> str:
        """The name link call nodes find this node by: its name, else its id."""
        return self.name or self.id

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        send(msg)
        done()


@register_type("link out")
class LinkOutNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "mode": {"type": "string", "enum": ["link", "return", ""]},
            "links": _LINKS,
        },
    }

    def setup(self) -> None:
        self.mode = self.config.get("mode") or "link"

    def _link_targets(self) -> list[Node]:
        ids: list[str] = []
        links = self.config.get("links")
        for target_id in links if isinstance(links, list) else []:
            if target_id not in ids:
                ids.append(target_id)
        for node in self.runtime.nodes.values():
            if node.type == "link in" and self.id in _as_list(node.config.get("links")):
                if node.id not in ids:
                    ids.append(node.id)
        targets = []
        for target_id in ids:
            node = self.runtime.get_node(target_id)
            if node is not None:
                targets.append(node)
        return targets

    def route_targets(self, targets: list[list[Node | None]]) -> list[list[Node | None]]:
        # As Node-RED does when it parses flows: a link out's wires are its links (none in
        # return mode). The runtime routes before setup, so the mode is read from the config.
        if (self.config.get("mode") or "link") == "link":
            return [self._link_targets()]
        return []

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        msg["_event"] = f"node:{self.id}"
        if self.mode == "return":
            stack = msg.get("_linkSource")
            caller = None
            if isinstance(stack, list) and stack:
                event = stack.pop()
                node = self.runtime.get_node(event.get("node")) if isinstance(event, dict) else None
                # a link call node, or a function node's node.linkcall (Node-RED 5)
                if callable(getattr(node, "return_link_message", None)):
                    caller = node
                    caller.return_link_message(event.get("id"), msg)
            if caller is None:
                self.warn("Missing return node information: the message did not come from a link call node")
            done()
        else:
            send(msg)
            done()


class _Pending:
    __slots__ = ("msg", "send", "done", "timer")

    def __init__(self, msg: dict, send: Callable, done: Callable) -> None:
        self.msg = msg
        self.send = send
        self.done = done
        self.timer = None


@register_type("link call")
class LinkCallNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "links": {"anyOf": [_LINK_IDS, {"type": "string"}]},
            "linkType": {"type": "string", "enum": ["static", "dynamic", ""]},
            "timeout": {"type": ["string", "number"]},
        },
    }

    def setup(self) -> None:
        links = self.config.get("links")
        if isinstance(links, str):
            self.static_target = links
        elif isinstance(links, list) and links:
            self.static_target = links[0]
        else:
            self.static_target = None
        self.dynamic = self.config.get("linkType") == "dynamic"
        self.timeout = _parse_float(self.config.get("timeout") or "30", 30.0)
        self._pending: dict[str, _Pending] = {}

    # ----- finding the target -------------------------------------------------
    def find_target(self, target: Any) -> LinkInNode:
        found = None
        if isinstance(target, str) and target:
            node = self.runtime.get_node(target)
            if isinstance(node, LinkInNode):
                found = node
            elif self.dynamic:
                found = self._find_by_name(target)
        if isinstance(found, LinkInNode):
            return found
        shown = target if isinstance(target, str) else ""
        raise LookupError(f"target link-in node '{shown}' not found")

    def _find_by_name(self, name: str) -> LinkInNode | None:
        named = [
            n for n in self.runtime.nodes.values() if isinstance(n, LinkInNode) and n.target_name == name
        ]
        here = [n for n in named if n.flow is self.flow]
        if len(here) == 1:
            return here[0]
        outside_subflows = [n for n in named if n.flow.kind != "subflow"]
        if len(outside_subflows) == 1:
            return outside_subflows[0]
        if len(outside_subflows) > 1:
            raise LookupError(f"Multiple link-in nodes named '{name}' found")
        return None

    # ----- messages -------------------------------------------------------------
    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        try:
            target = self.find_target(msg.get("target") if self.dynamic else self.static_target)
        except LookupError as err:
            self.error(err, msg)
            return
        stack = msg.get("_linkSource")
        if not isinstance(stack, list):
            stack = msg["_linkSource"] = []
        event_id = secrets.token_hex(14)
        pending = _Pending(clone_message(msg), send, done)
        pending.timer = self.call_later(self.timeout, self._timed_out, event_id)
        self._pending[event_id] = pending
        stack.append({"id": event_id, "node": self.id})
        self.runtime.deliver(target, msg)

    def return_link_message(self, event_id: Any, msg: dict) -> None:
        """Called by a `link out` in return mode with a message coming back."""
        if isinstance(msg.get("_linkSource"), list) and not msg["_linkSource"]:
            del msg["_linkSource"]
        pending = self._pending.pop(event_id, None) if isinstance(event_id, str) else None
        if pending is not None:
            self.cancel_timer(pending.timer)
            pending.send(msg)
            pending.done()
        else:
            self.send(msg)

    def _timed_out(self, event_id: str) -> None:
        pending = self._pending.pop(event_id, None)
        if pending is not None:
            self.error("timeout", pending.msg)

    def on_close(self, removed: bool) -> None:
        self._pending.clear()
