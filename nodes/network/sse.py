"""Server-Sent Events as flow nodes: `sse-session` opens a stream, `sse-send` pushes to it.

    [http in GET /sse] -> [sse-session] -(1: opened)-> ...
                                        -(2: closed)-> cleanup
    [... msg.sessionId, msg.payload] -> [sse-send] -> (msg passed on once written)

`sse-session` takes the message of a GET request (`msg.res._res`), writes the
SSE headers, creates a session with a random id, registers it in the runtime's
session registry (`flowrt.http.sessions`), writes the endpoint event, and sends a
keepalive comment every `keepalive` seconds. When the client goes away the
session is removed at once and a message leaves the second output.

`sse-send` writes `event:`/`data:` frames to the session named by
`msg.sessionId` (or another property) right away. An unknown or closed session
is a node error with the message, so a catch node can answer 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowrt import Node, NodeConfigError, NodeError, register_type
from flowrt.http.origins import origin_allowed
from flowrt.http.sessions import SseSession, format_comment, format_event, new_session_id, registry_for
from flowrt.lang.mustache import render
from flowrt.lang.propertypath import get_message_property
from flowrt.util import generate_id


def _origins(value) -> list[str]:
    if value is None or value == "":
        return ["localhost"]
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


@register_type("sse-session")
class SseSessionNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "endpoint": {
                "type": "string",
                "description": "endpoint event data, a mustache template over {sessionId, baseUrl}",
                "default": "/sse/message?sessionId={{sessionId}}",
            },
            "event": {
                "type": "string",
                "default": "endpoint",
                "description": "name of the first event; empty: none",
            },
            "keepalive": {"type": ["number", "string"], "default": 15, "description": "seconds; 0: off"},
            "cors": {
                "type": "string",
                "description": "Access-Control-Allow-Origin value; empty: no CORS headers",
            },
            "allowedOrigins": {
                "type": ["string", "array"],
                "description": "Origin values allowed to open a stream ('localhost' = any local origin, '*' = all)",
                "default": "localhost",
            },
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }

    def setup(self) -> None:
        cfg = self.config
        self.endpoint = cfg.get("endpoint")
        if self.endpoint is None:
            self.endpoint = "/sse/message?sessionId={{sessionId}}"
        event = cfg.get("event")
        self.event = "endpoint" if event is None else str(event)
        try:
            keepalive = cfg.get("keepalive")
            self.keepalive = 15.0 if keepalive in (None, "") else float(keepalive)
        except (TypeError, ValueError):
            raise NodeConfigError(
                f"keepalive must be a number of seconds, not {cfg.get('keepalive')!r}"
            ) from None
        self.cors = cfg.get("cors") or ""
        origins = cfg.get("allowedOrigins")
        if origins is not None and not isinstance(origins, (str, list)):
            raise NodeConfigError(f"allowedOrigins must be a string or a list, not {origins!r}")
        self.allowed = _origins(origins)
        headers = cfg.get("headers") or {}
        if not isinstance(headers, dict):
            raise NodeConfigError(f"headers must be an object of header names to values, not {headers!r}")
        self.extra_headers = dict(headers)
        self.registry = registry_for(self.runtime)
        self.sessions: dict[str, SseSession] = {}
        self._keepalive_timers: dict[str, object] = {}

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        holder = msg.get("res")
        res = holder.get("_res") if isinstance(holder, dict) else None
        if res is None:
            done(NodeError("sse-session needs the message of an http in node (msg.res)"))
            return
        if res.headersSent or getattr(res, "closed", False):
            done(NodeError("the response of this request was already started or closed"))
            return
        req = msg.get("req")
        headers = getattr(req, "headers", {}) or {}
        http = self.runtime.http
        if http is not None and not http.host_allowed(headers.get("host")):
            # A DNS-rebinding page reaches a loopback server under its own host name.
            self._refuse(
                res,
                421,
                "Misdirected Request: this server does not answer for that host (httpAllowedHosts)",
                f"refused an SSE stream for host {str(headers.get('host'))[:100]!r} (httpAllowedHosts)",
            )
            done()
            return
        if not origin_allowed(headers.get("origin"), self.allowed):
            self._refuse(
                res,
                403,
                "Forbidden: origin not allowed",
                f"refused an SSE stream from origin {headers.get('origin')!r}",
            )
            done()
            return

        session_id = new_session_id()
        res.statusCode = 200
        res.setHeader("Content-Type", "text/event-stream")
        res.setHeader("Cache-Control", "no-cache")
        res.setHeader("Connection", "keep-alive")
        res.setHeader("X-Accel-Buffering", "no")
        if self.cors:
            res.setHeader("Access-Control-Allow-Origin", self.cors)
        for name, value in self.extra_headers.items():
            res.setHeader(name, str(value))
        session = SseSession(session_id, res, owner=self, info={"ip": getattr(req, "ip", "")})
        self.sessions[session_id] = session
        self.registry.register(session)
        session.on_close(self._session_closed)

        endpoint = render(self.endpoint, {"sessionId": session_id}) if self.endpoint else ""
        if self.event:
            session.write(format_event(endpoint, self.event))
        else:
            res.flushHeaders()
        self._schedule_keepalive(session)
        self.status({"fill": "green", "shape": "dot", "text": f"{len(self.sessions)} open"})

        msg["sessionId"] = session_id
        msg["payload"] = {"sessionId": session_id, "endpoint": endpoint}
        send([msg, None])
        done()

    def _schedule_keepalive(self, session: SseSession) -> None:
        if self.keepalive <= 0 or session.closed:
            return

        def tick() -> None:
            self._keepalive_timers.pop(session.id, None)
            if not session.closed:
                session.write(format_comment("ping"))
                self._schedule_keepalive(session)

        self._keepalive_timers[session.id] = self.call_later(self.keepalive, tick)

    def _session_closed(self, session: SseSession, reason: str) -> None:
        if reason.startswith("the client does not read"):
            self.warn(f"dropped SSE session {session.id}: {reason}")
        self.registry.unregister(session.id)
        self.sessions.pop(session.id, None)
        self.cancel_timer(self._keepalive_timers.pop(session.id, None))
        if self.closed:
            return
        self.status(
            {
                "fill": "green" if self.sessions else "grey",
                "shape": "dot",
                "text": f"{len(self.sessions)} open",
            }
        )
        self.send(
            [
                None,
                {
                    "_msgid": generate_id(),
                    "sessionId": session.id,
                    "payload": {"sessionId": session.id, "reason": reason, "events": session.events_sent},
                },
            ]
        )

    def _refuse(self, res: Any, status: int, body: str, warning: str) -> None:
        res.statusCode = status
        res.setHeader("Content-Type", "text/plain; charset=utf-8")
        res.end(body + "\n")
        self.warn(warning)

    def on_close(self, removed: bool) -> None:
        for session in list(self.sessions.values()):
            session.close("the node was stopped")
        self.sessions.clear()


@register_type("sse-send")
class SseSendNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "session": {
                "type": "string",
                "default": "sessionId",
                "description": "property holding the session id",
            },
            "sessionType": {"enum": ["msg", "flow", "global", "str", "env"], "default": "msg"},
            "event": {"type": "string", "description": "event name; empty: msg.event or 'message'"},
            "property": {
                "type": "string",
                "default": "payload",
                "description": "msg property holding the data",
            },
            "close": {"type": "boolean", "description": "end the stream after this event"},
        },
    }

    def setup(self) -> None:
        cfg = self.config
        self.session_prop = cfg.get("session") or "sessionId"
        self.session_type = cfg.get("sessionType") or "msg"
        self.event = cfg.get("event") or ""
        self.property = cfg.get("property") or "payload"
        self.close_after = bool(cfg.get("close"))
        self.registry = registry_for(self.runtime)

    async def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        session_id = self.evaluate(self.session_prop, self.session_type, msg)
        if not session_id:
            done(
                NodeError(
                    f"no SSE session id in {self.session_type}.{self.session_prop}", code="SSE_NO_SESSION"
                )
            )
            return
        event = self.event or msg.get("event") or "message"
        data = get_message_property(msg, self.property) if self.property != "payload" else msg.get("payload")
        event_id = msg.get("eventId")
        frame = format_event(data, str(event), event_id)
        if not await self.registry.publish(str(session_id), frame):
            done(NodeError(f"unknown or closed SSE session {session_id!r}", code="SSE_SESSION_NOT_FOUND"))
            return
        if self.close_after or msg.get("close") is True:
            session = self.registry.local(str(session_id))
            if session is not None:
                session.close("closed by sse-send")
        send(msg)
        done()
