"""Node-RED's MQTT nodes (10-mqtt.js): `mqtt-broker`, `mqtt in` and `mqtt out`.

One `mqtt-broker` config node holds one connection, shared by every mqtt node that names it.
MQTT 3.1 / 3.1.1 / 5.0, TLS through a `tls-config` node, birth / close / will messages, and
reconnection with backoff (up to the `mqttReconnectTime` setting, 5000 ms as in Node-RED).

The client is paho-mqtt 2.x driven by the event loop itself (its socket is registered with
`loop.add_reader` / `add_writer`, as aiomqtt does): `publish` is synchronous and each QoS 1/2
message's `done()` runs from paho's PUBACK/PUBCOMP callback, so the message path needs no
asyncio task per message. Only the blocking TCP/TLS connect runs in an executor thread.

Messages published while the broker is not connected wait in a queue of at most
`mqttOfflineQueueSize` messages per broker (default 1000; Node-RED drops them). When it is
full the oldest message is dropped and its `done` gets an error (so catch nodes see it); the
queue is sent in order once the connection is up again, after the birth message.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import re
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from flowrt import Node, NodeError, register_type
from flowrt.util import clone_value, generate_id, js

DEFAULT_RECONNECT_MS = 5000
DEFAULT_OFFLINE_QUEUE = 1000
CONNECT_TIMEOUT_S = 30.0
CLOSE_WAIT_S = 2.0

STATUS_CONNECTED = {"fill": "green", "shape": "dot", "text": "connected"}
STATUS_CONNECTING = {"fill": "yellow", "shape": "ring", "text": "connecting"}
STATUS_DISCONNECTED = {"fill": "red", "shape": "ring", "text": "disconnected"}

ERR_INVALID_TOPIC = "Invalid topic specified"
ERR_MISSING_CONFIG = "missing broker configuration"
ERR_NOT_DEFINED = "topic not defined"
ERR_JSON_PARSE = "Failed to parse JSON string"
ERR_JSON_STRING = "Invalid JSON string"
ERR_ACTION = "Invalid action specified"
ERR_ALREADY_CONNECTED = "Disconnect from broker before connecting"
ERR_BAD_SUBSCRIPTION = "msg.topic is missing or invalid"
ERR_NONCLEAN = "No client ID set, using clean session"

# Node-RED's table of v5 content types the auto modes trust.
KNOWN_MEDIA_TYPES = {
    "text/css": "string",
    "text/html": "string",
    "text/plain": "string",
    "application/json": "json",
    "application/octet-stream": "buffer",
    "application/pdf": "buffer",
    "application/x-gtar": "buffer",
    "application/x-gzip": "buffer",
    "application/x-tar": "buffer",
    "application/xml": "string",
    "application/zip": "buffer",
    "audio/aac": "buffer",
    "audio/ac3": "buffer",
    "audio/basic": "buffer",
    "audio/mp4": "buffer",
    "audio/ogg": "buffer",
    "image/bmp": "buffer",
    "image/gif": "buffer",
    "image/jpeg": "buffer",
    "image/tiff": "buffer",
    "image/png": "buffer",
}

_SUBSCRIPTION_TOPIC = re.compile(r"^(#$|(\+|[^+#]*)(/(\+|[^+#]*))*(/(\+|#|[^+#]*))?$)")
_PUBLISH_TOPIC_BAD = re.compile(r"[+#\b\f\n\r\t\v\0]")
_SHARE_PREFIX = re.compile(r"^\$share/[^#+/]+/(.*)")


# ----- topics ---------------------------------------------------------------------------------
def is_valid_subscription_topic(topic: Any) -> bool:
    return isinstance(topic, str) and _SUBSCRIPTION_TOPIC.match(topic) is not None


def is_valid_publish_topic(topic: Any) -> bool:
    return isinstance(topic, str) and topic != "" and _PUBLISH_TOPIC_BAD.search(topic) is None


def topic_matcher(topic_filter: str) -> Callable[[str], bool]:
    """A function telling whether a topic matches an MQTT filter (+, #, $share/NAME/...)."""
    if topic_filter == "#":
        return lambda topic: True
    shared = _SHARE_PREFIX.match(topic_filter)
    if shared:
        topic_filter = shared.group(1)
    if "+" not in topic_filter and "#" not in topic_filter:
        return topic_filter.__eq__
    parts = []
    for level in topic_filter.split("/"):
        if level == "+":
            parts.append("[^/]+")
        elif level == "#":
            parts.append("#")
        else:
            parts.append(re.escape(level))
    pattern = "/".join(parts)
    if pattern.endswith("/#"):
        pattern = pattern[:-2] + "(/.*)?"
    elif pattern == "#":
        pattern = ".*"
    return re.compile(f"^{pattern}$").match  # type: ignore[return-value]


# ----- property helpers (Node-RED's setIntProp / setStrProp / ...) ------------------------------
def _int_prop(src: dict, dst: dict, name: str, low: int | None = None, high: int | None = None, default=None):
    if name in src:
        value = js.parse_int(src[name])
        if (
            not isinstance(value, int)
            or (low is not None and value < low)
            or (high is not None and value > high)
        ):
            return
        dst[name] = value
    elif default is not None:
        dst[name] = default


def _str_prop(src: dict, dst: dict, name: str) -> None:
    value = src.get(name)
    if value and isinstance(value, str):
        dst[name] = value


def _bool_prop(src: dict, dst: dict, name: str, default: bool | None = None) -> None:
    value = src.get(name)
    if value is not None:
        if value is True or value == "true":
            dst[name] = True
        elif value is False or value == "false":
            dst[name] = False
    elif default is not None:
        dst[name] = default


def to_bytes(value: Any) -> bytes | None:
    """Buffer.from(value) for what a flow may hold: bytes, text, a byte list, a JSON Buffer."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, dict) and value.get("type") == "Buffer" and isinstance(value.get("data"), list):
        value = value["data"]
    if isinstance(value, list):
        try:
            return bytes(int(v) & 0xFF for v in value)
        except (TypeError, ValueError):
            return None
    return None


def user_properties(src: Any) -> dict[str, str] | None:
    """String key/value pairs; other values as JSON, null/undefined dropped (setUserProperties)."""
    if not isinstance(src, dict) or not src:
        return None
    out = {}
    for key, value in src.items():
        if isinstance(value, str):
            out[key] = value
        elif value is not None and not js.is_undefined(value):
            try:
                out[key] = js.js_json_dumps(value)
            except Exception:
                continue
    return out or None


def _parse_user_props(text: Any) -> dict | None:
    if isinstance(text, dict):
        return user_properties(text)
    if isinstance(text, str) and re.match(r"^ *\{", text):
        try:
            return user_properties(js.js_json_loads(text))
        except ValueError:
            return None
    return None


def encode_payload(payload: Any) -> bytes:
    """How Node-RED's broker node publishes a payload: Buffers raw, objects as JSON, else String()."""
    if payload is None or js.is_undefined(payload):
        return b""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode()
    if isinstance(payload, (dict, list)):
        return js.js_json_dumps(payload).encode()
    return js.js_string(payload).encode()


def _v5_properties(packet_type: int, src: dict) -> Properties | None:
    """paho Properties from Node-RED's camelCase names (already sanitised)."""
    props = Properties(packet_type)
    names = {
        "responseTopic": "ResponseTopic",
        "correlationData": "CorrelationData",
        "contentType": "ContentType",
        "messageExpiryInterval": "MessageExpiryInterval",
        "topicAlias": "TopicAlias",
        "willDelayInterval": "WillDelayInterval",
    }
    used = False
    for ours, theirs in names.items():
        if ours in src:
            setattr(props, theirs, src[ours])
            used = True
    if "payloadFormatIndicator" in src:
        props.PayloadFormatIndicator = 1 if src["payloadFormatIndicator"] else 0
        used = True
    if src.get("userProperties"):
        props.UserProperty = list(src["userProperties"].items())
        used = True
    return props if used else None


def _message_v5(src: dict) -> dict:
    """The v5 properties a birth/close/will or published message carries (createLWT / publish)."""
    out: dict = {}
    _str_prop(src, out, "contentType")
    _str_prop(src, out, "responseTopic")
    corr = to_bytes(src.get("correlationData")) if src.get("correlationData") else None
    if corr is not None:
        out["correlationData"] = corr
    _int_prop(src, out, "messageExpiryInterval", 0)
    _int_prop(src, out, "willDelayInterval", 0)
    props = src.get("userProperties")
    props = _parse_user_props(props) if isinstance(props, str) else user_properties(props)
    if props:
        out["userProperties"] = props
    return out


def _lwt(topic: Any, payload: Any, qos: Any, retain: Any, v5opts: Any) -> dict | None:
    """A birth / close / will message from the broker node's properties (Node-RED's createLWT)."""
    if not topic:
        return None
    message = {
        "topic": topic,
        "payload": payload or "",
        "qos": int(js.js_number(qos or 0)) if js.js_number(qos or 0) == js.js_number(qos or 0) else 0,
        "retain": retain is True or retain == "true",
    }
    if isinstance(v5opts, dict):
        opts = dict(v5opts)
        for short, full in (
            ("respTopic", "responseTopic"),
            ("correl", "correlationData"),
            ("expiry", "messageExpiryInterval"),
            ("delay", "willDelayInterval"),
            ("userProps", "userProperties"),
        ):
            if short in opts:
                opts[full] = opts[short]
        message["properties"] = _message_v5(opts)
    return message


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode_text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


# ----- incoming messages ----------------------------------------------------------------------
def _packet_v5(properties: Any) -> dict:
    """Node-RED's msg fields from a v5 PUBLISH's properties."""
    msg: dict = {}
    if properties is None:
        return msg
    value = getattr(properties, "ResponseTopic", None)
    if value:
        msg["responseTopic"] = value
    value = getattr(properties, "CorrelationData", None)
    if value:
        msg["correlationData"] = bytes(value)
    value = getattr(properties, "ContentType", None)
    if value:
        msg["contentType"] = value
    value = getattr(properties, "MessageExpiryInterval", None)
    if isinstance(value, int) and value >= 0:
        msg["messageExpiryInterval"] = value
    value = getattr(properties, "PayloadFormatIndicator", None)
    if value is not None:
        msg["payloadFormatIndicator"] = bool(value)
    value = getattr(properties, "ReasonString", None)
    if value:
        msg["reasonString"] = value
    pairs = getattr(properties, "UserProperty", None)
    if pairs:
        msg["userProperties"] = dict(pairs)
    return msg


def decode_message(
    node: Node, datatype: str, topic: str, payload: bytes, qos: int, retain: bool, v5: bool, properties: Any
) -> dict | None:
    """Node-RED's subscriptionHandler: the message an `mqtt in` node sends, or None after a node error."""
    msg: dict = {"topic": topic, "payload": None, "qos": qos, "retain": retain}
    if v5 and properties is not None:
        msg.update(_packet_v5(properties))
    v5_utf8 = v5 and msg.get("payloadFormatIndicator") is True
    v5_media = v5 and bool(msg.get("contentType"))
    media = str(msg.get("contentType", "undefined")).lower() if v5 else None

    def fail(text: str, value: Any) -> None:
        node.error(text, {"payload": value, "topic": topic, "qos": qos, "retain": retain})

    value: Any = payload
    if datatype == "buffer":
        pass
    elif datatype == "base64":
        value = base64.b64encode(payload).decode()
    elif datatype == "utf8":
        value = _decode_text(payload)
    elif datatype == "json":
        if v5_utf8 or _is_utf8(payload):
            try:
                value = js.js_json_loads(_decode_text(payload))
            except ValueError:
                fail(ERR_JSON_PARSE, payload)
                return None
        else:
            fail(ERR_JSON_STRING, payload)
            return None
    elif v5_utf8 or v5_media:
        kind = KNOWN_MEDIA_TYPES.get(media or "")
        if kind == "string":
            value = _decode_text(payload)
        elif kind == "buffer":
            pass
        elif kind == "json":
            value = _decode_text(payload)
            try:
                parsed = js.js_json_loads(value)
            except ValueError:
                fail(ERR_JSON_PARSE, value)
                return None
            if datatype == "auto-detect":
                value = parsed
        elif v5_utf8 or _is_utf8(payload):
            value = _auto_text(payload, datatype)
    elif _is_utf8(payload):
        value = _auto_text(payload, datatype)
    msg["payload"] = value
    return msg


def _auto_text(payload: bytes, datatype: str) -> Any:
    text = _decode_text(payload)
    if datatype == "auto-detect":
        try:
            return js.js_json_loads(text)
        except ValueError:
            return text
    return text


# ----- the broker (config) node ---------------------------------------------------------------
class Subscription:
    __slots__ = ("topic", "ref", "qos", "options", "callback", "matches", "sub_id")

    def __init__(self, topic: str, ref: str, options: dict, callback: Callable) -> None:
        self.topic = topic
        self.ref = ref
        self.qos = options.get("qos", 1)
        self.options = options
        self.callback = callback
        self.matches = topic_matcher(topic)
        self.sub_id = 0


def _truthy_flag(value: Any) -> bool:
    return value is True or value == "true"


_BROKER_STR = {"type": ["string", "number", "null"]}
_BOOLISH = {"type": ["boolean", "string", "null"]}
_NUMISH = {"type": ["number", "string", "null"]}
_LWT_PROPS = {"type": ["object", "string", "null"]}


@register_type("mqtt-broker")
class MqttBroker(Node):
    """One shared MQTT connection (Node-RED's MQTTBrokerNode)."""

    schema = {
        "type": "object",
        "properties": {
            "broker": _BROKER_STR,
            "port": _NUMISH,
            "url": {"type": ["string", "null"]},
            "tls": {"type": ["string", "null"]},
            "clientid": {"type": ["string", "null"]},
            "autoConnect": _BOOLISH,
            "usetls": _BOOLISH,
            "verifyservercert": _BOOLISH,
            "compatmode": _BOOLISH,
            "protocolVersion": _NUMISH,
            "keepalive": _NUMISH,
            "cleansession": _BOOLISH,
            "autoUnsubscribe": _BOOLISH,
            "sessionExpiry": _NUMISH,
            "userProps": {"type": ["string", "object", "null"]},
            "credentials": {
                "type": "object",
                "properties": {"user": {"type": "string"}, "password": {"type": "string"}},
            },
            **{f"{kind}Topic": {"type": ["string", "null"]} for kind in ("birth", "close", "will")},
            **{f"{kind}Qos": _NUMISH for kind in ("birth", "close", "will")},
            **{f"{kind}Retain": _BOOLISH for kind in ("birth", "close", "will")},
            **{f"{kind}Payload": {} for kind in ("birth", "close", "will")},
            **{f"{kind}Msg": _LWT_PROPS for kind in ("birth", "close", "will")},
        },
    }

    def setup(self) -> None:
        self.users: dict[str, Node] = {}
        self.connected = False
        self.connecting = False
        self.closing = False
        self.client: paho.Client | None = None
        self.server_properties: dict = {}
        self.subscriptions: dict[str, dict[str, Subscription]] = {}
        self.subscription_ids: dict[str, int] = {}
        self._next_sub_id = 1
        self._dispatch: list[Subscription] = []
        self._pending: dict[int, Callable] = {}
        self._offline: collections.deque = collections.deque()
        self._offline_limit = int(self.settings.get("mqttOfflineQueueSize") or DEFAULT_OFFLINE_QUEUE)
        self._reconnect_max = max(
            0.05, float(self.settings.get("mqttReconnectTime") or DEFAULT_RECONNECT_MS) / 1000
        )
        self._backoff = 0.0
        self._retry_timer: asyncio.TimerHandle | None = None
        self._misc_timer: asyncio.TimerHandle | None = None
        self._connack_timer: asyncio.TimerHandle | None = None
        self._fd: int | None = None
        self._user_disconnect = False
        self._disconnected: asyncio.Future | None = None
        self._connect_waiters: list[Callable] = []
        self._attempt_gen = 0
        self._stopped = False  # on_close ran: never connect again
        self._handled = 0  # packets paho handed to our callbacks (see _readable)
        self._loop_thread = threading.get_ident()
        self.topic_aliases: dict[int, str] = {}
        self.options: dict = {}
        self.birth_message: dict | None = None
        self.close_message: dict | None = None
        self.will_message: dict | None = None
        cfg = dict(self.config)
        cfg["autoConnect"] = not (cfg.get("autoConnect") is False or cfg.get("autoConnect") == "false")
        self.set_options(cfg, init=True)

    # ----- options (Node-RED's setOptions) ----------------------------------------------------
    def set_options(self, opts: dict, init: bool = False) -> None:
        if not isinstance(opts, dict):
            return
        for name in (
            "url",
            "broker",
            "port",
            "clientid",
            "autoConnect",
            "usetls",
            "verifyservercert",
            "compatmode",
            "protocolVersion",
            "keepalive",
            "cleansession",
            "autoUnsubscribe",
        ):
            if init or name in opts:
                setattr(self, name, opts.get(name))
        if "userProperties" in opts:
            self.user_props = opts["userProperties"]
        elif "userProps" in opts:
            self.user_props = opts["userProps"]
        elif init:
            self.user_props = None
        if "sessionExpiry" in opts:
            self.session_expiry = opts["sessionExpiry"]
        elif "sessionExpiryInterval" in opts:
            self.session_expiry = opts["sessionExpiryInterval"]
        elif init:
            self.session_expiry = None
        for kind in ("birth", "close", "will"):
            attr = f"{kind}_message"
            if init and f"{kind}Topic" in opts:  # the node's own properties: birthTopic, birthPayload, ...
                props = [opts.get(f"{kind}{field}") for field in ("Topic", "Payload", "Qos", "Retain", "Msg")]
                setattr(self, attr, _lwt(*props))
            elif not init and kind in opts:  # a connect action's options: {birth: {topic, payload, ...}}
                spec = opts[kind] if isinstance(opts[kind], dict) else {}
                props = [spec.get(field) for field in ("topic", "payload", "qos", "retain", "properties")]
                setattr(self, attr, _lwt(*props))
        creds = self.config.get("credentials") or {}
        if init or not hasattr(self, "username"):
            self.username = creds.get("user") or None
            self.password = creds.get("password") or None
        if not init and "username" in opts:
            self.username = opts["username"]
        if not init and "password" in opts:
            self.password = opts["password"]
        self.usetls = _truthy_flag(self.usetls)
        self.verifyservercert = _truthy_flag(self.verifyservercert)
        keepalive = js.js_number(self.keepalive) if self.keepalive not in (None, "") else 60
        self.keepalive = int(keepalive) if keepalive == keepalive else 60
        self.cleansession = not (self.cleansession is False or self.cleansession == "false")
        self.autoUnsubscribe = not (self.autoUnsubscribe is False or self.autoUnsubscribe == "false")
        self.autoConnect = not (self.autoConnect is False or self.autoConnect == "false")
        self._set_url()
        if not self.cleansession and not self.clientid:
            self.cleansession = True
            self.warn(ERR_NONCLEAN)
        if _truthy_flag(self.compatmode) or str(self.protocolVersion) == "3":
            version = 3
        elif str(self.protocolVersion) == "5":
            version = 5
        else:
            version = 4
        self.options = {
            "username": self.username,
            "password": self.password,
            "keepalive": self.keepalive,
            "clean": self.cleansession,
            "clientId": self.clientid or "nodered" + generate_id(),
            "reconnectPeriod": int(self._reconnect_max * 1000),
        }
        if version != 4:
            self.options["protocolVersion"] = version
        if version == 5:
            props: dict = {"requestResponseInformation": True, "requestProblemInformation": True}
            user = _parse_user_props(self.user_props)
            if user:
                props["userProperties"] = user
            if self.session_expiry not in (None, "", "0", 0):
                _int_prop({"sessionExpiryInterval": self.session_expiry}, props, "sessionExpiryInterval")
            self.options["properties"] = props
        if self.will_message is not None:
            self.options["will"] = self.will_message

    def _set_url(self) -> None:
        broker = self.broker if isinstance(self.broker, str) else js.js_string(self.broker or "")
        if self.url:
            self.brokerurl = self.url
        elif "://" in broker:
            self.brokerurl = broker
        else:
            scheme = "mqtts://" if self.usetls else "mqtt://"
            if broker:
                host = f"[{broker}]" if ":" in broker else broker
                self.brokerurl = f"{scheme}{host}:{self.port or 1883}"
            else:
                self.brokerurl = f"{scheme}localhost:1883"

    @property
    def v5(self) -> bool:
        return self.options.get("protocolVersion") == 5

    @property
    def label(self) -> str:
        return (f"{self.clientid}@" if self.clientid else "") + self.brokerurl

    # ----- users ------------------------------------------------------------------------------
    def register(self, node: Node) -> None:
        self.users[node.id] = node
        node.status(self._status())
        if len(self.users) == 1 and self.autoConnect:
            self.loop.call_soon(self.connect)

    async def deregister(self, node: Node, auto_disconnect: bool) -> None:
        node.status(STATUS_DISCONNECTED)
        self.users.pop(node.id, None)
        if auto_disconnect and not self.closing and self.connected and not self.users:
            await self.disconnect()

    def _status(self) -> dict:
        if self.connecting:
            return STATUS_CONNECTING
        return STATUS_CONNECTED if self.connected else STATUS_DISCONNECTED

    def _set_status(self, status: dict) -> None:
        for user in list(self.users.values()):
            user.status(status)

    def can_connect(self) -> bool:
        return not self.connected and not self.connecting

    # ----- connecting -------------------------------------------------------------------------
    def connect(self, callback: Callable | None = None) -> None:
        """Start connecting (no-op when connected or connecting); `callback` runs once connected."""
        if callback is not None:
            self._connect_waiters.append(callback)
        if not self.can_connect() or self._stopped:
            return
        self.closing = False
        self._user_disconnect = False
        self._backoff = 0.0
        self.cancel_timer(self._retry_timer)
        self._retry_timer = None
        self._drop_client()
        self.client = self._new_client()
        self._attempt()

    def _new_client(self) -> paho.Client:
        opts = self.options
        version = {3: paho.MQTTv31, 5: paho.MQTTv5}.get(opts.get("protocolVersion"), paho.MQTTv311)
        url = urlsplit(self.brokerurl)
        transport = "websockets" if url.scheme in ("ws", "wss") else "tcp"
        client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=opts["clientId"],
            protocol=version,
            clean_session=None if version == paho.MQTTv5 else opts["clean"],
            transport=transport,
            reconnect_on_failure=False,
        )
        if transport == "websockets":
            client.ws_set_options(path=url.path or "/mqtt")
        client.max_inflight_messages_set(1000)
        client.suppress_exceptions = True
        if opts.get("username") is not None:
            client.username_pw_set(opts["username"], opts.get("password"))
        if url.scheme in ("mqtts", "wss", "ssl", "tls") or self.usetls:
            client.tls_set_context(self._tls_context())
        will = opts.get("will")
        if will:
            props = _v5_properties(PacketTypes.WILLMESSAGE, will.get("properties") or {}) if self.v5 else None
            client.will_set(
                will["topic"], encode_payload(will["payload"]), will["qos"], will["retain"], props
            )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        client.connect_timeout = CONNECT_TIMEOUT_S
        return client

    def _tls_context(self) -> ssl.SSLContext:
        tls_id = self.config.get("tls")
        tls_node = self.runtime.get_node(tls_id) if tls_id else None
        ctx = getattr(tls_node, "context", None)
        if isinstance(ctx, ssl.SSLContext):
            return ctx
        # No tls-config node: Node-RED's rejectUnauthorized = verifyservercert (false by default).
        ctx = ssl.create_default_context()
        if not self.verifyservercert:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def _connect_args(self) -> tuple:
        url = urlsplit(self.brokerurl)
        host = url.hostname or "localhost"
        default = 443 if url.scheme == "wss" else 80 if url.scheme == "ws" else 1883
        try:
            port = url.port or default
        except ValueError:
            port = default
        return host, port

    def _attempt(self) -> None:
        client = self.client
        if client is None or self.closing:
            return
        self.connecting = True
        self._set_status(STATUS_CONNECTING)
        self._attempt_gen += 1
        gen = self._attempt_gen
        host, port = self._connect_args()
        props = None
        if self.v5:
            props = Properties(PacketTypes.CONNECT)
            p = self.options.get("properties") or {}
            props.RequestResponseInformation = 1
            props.RequestProblemInformation = 1
            if "sessionExpiryInterval" in p:
                props.SessionExpiryInterval = p["sessionExpiryInterval"]
            if p.get("userProperties"):
                props.UserProperty = list(p["userProperties"].items())

        # paho's connect() keeps the unacknowledged QoS 1/2 messages and re-sends them once connected.
        clean_start = self.options["clean"] if self.v5 else paho.MQTT_CLEAN_START_FIRST_ONLY

        def blocking_connect() -> None:
            client.connect(host, port, self.keepalive, clean_start=clean_start, properties=props)

        future = self.loop.run_in_executor(None, blocking_connect)
        future.add_done_callback(lambda f: self._connect_returned(f, client, gen))

    def _connect_returned(self, future: asyncio.Future, client: paho.Client, gen: int) -> None:
        if client is not self.client or gen != self._attempt_gen or self.closing:
            _close_quietly(client)
            return
        err = future.exception()
        if err is not None:
            self._attempt_failed(f"{type(err).__name__}: {err}")
            return
        sock = client.socket()
        if isinstance(sock, socket.socket):  # not the websocket wrapper
            # small packets go out at once (without it Nagle + delayed ACK add ~40 ms per hop)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._schedule_misc()
        self._connack_timer = self.call_later(CONNECT_TIMEOUT_S, self._connack_timeout, gen)

    def _connack_timeout(self, gen: int) -> None:
        if gen == self._attempt_gen and self.connecting and self.client is not None:
            self._sever_socket()
            self._attempt_failed("no CONNACK from the broker")

    def _attempt_failed(self, reason: str) -> None:
        self.connecting = False
        self.cancel_timer(self._connack_timer)
        self.log(f"Connection failed to broker: {self.label} ({reason})")
        self._set_status(STATUS_DISCONNECTED)
        self._schedule_retry()

    def _schedule_retry(self) -> None:
        if self.closing or self._user_disconnect or self._stopped or self.client is None:
            return
        self._backoff = min(
            self._reconnect_max, self._backoff * 2 if self._backoff else self._reconnect_max / 8
        )
        self.cancel_timer(self._retry_timer)
        self._retry_timer = self.call_later(self._backoff, self._retry)

    def _retry(self) -> None:
        self._retry_timer = None
        if self.can_connect() and not self.closing:
            self._attempt()

    def _schedule_misc(self) -> None:
        self.cancel_timer(self._misc_timer)
        self._misc_timer = self.call_later(1.0, self._misc)

    def _misc(self) -> None:
        client = self.client
        if client is None or self._fd is None:
            self._misc_timer = None
            return
        client.loop_misc()
        self._schedule_misc()

    # ----- paho callbacks ---------------------------------------------------------------------
    def _in_loop(self, fn: Callable, *args: Any) -> None:
        if threading.get_ident() == self._loop_thread:
            fn(*args)
        else:
            self.loop.call_soon_threadsafe(fn, *args)

    def _on_socket_open(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._in_loop(self._add_reader, client, sock.fileno())

    def _add_reader(self, client: paho.Client, fd: int) -> None:
        if client is not self.client:
            return
        self._fd = fd
        self.loop.add_reader(fd, self._readable, client)

    def _readable(self, client: paho.Client) -> None:
        # paho's loop_read reads one packet when nothing is in flight and says SUCCESS whether or
        # not it ran out of bytes: read on while packets keep being handled (64 at most per turn,
        # so a flood cannot starve the loop). TLS may hold decoded bytes the selector cannot see.
        for _ in range(64):
            before = self._handled
            rc = client.loop_read()
            sock = client.socket()
            if rc != paho.MQTT_ERR_SUCCESS or sock is None:
                return
            if self._handled == before:
                pending = getattr(sock, "pending", None)
                if not (pending and pending() > 0):
                    return

    def _on_socket_close(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        fd = sock.fileno()
        if fd >= 0:
            self._in_loop(self._remove_fd, fd)

    def _remove_fd(self, fd: int) -> None:
        self.loop.remove_reader(fd)
        self.loop.remove_writer(fd)
        if self._fd == fd:
            self._fd = None

    def _on_register_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._in_loop(self._add_writer, client, sock.fileno())

    def _add_writer(self, client: paho.Client, fd: int) -> None:
        if client is self.client and client.socket() is not None:
            self.loop.add_writer(fd, client.loop_write)

    def _on_unregister_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._in_loop(self.loop.remove_writer, sock.fileno())

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if client is not self.client:
            return
        self.cancel_timer(self._connack_timer)
        if reason.is_failure:
            self.connecting = False
            self.log(f"Connection failed to broker: {self.label} ({reason})")
            self._set_status(STATUS_DISCONNECTED)
            return  # paho closes the socket next: _on_disconnect schedules the retry
        self.connecting = False
        self.connected = True
        self._backoff = 0.0
        self.topic_aliases = {}
        self.server_properties = _server_properties(properties) if self.v5 else {}
        self.log(f"Connected to broker: {self.label}")
        self._set_status(STATUS_CONNECTED)
        for subs in self.subscriptions.values():
            for sub in subs.values():
                self._client_subscribe(sub)
        if self.birth_message:
            self.publish(dict(self.birth_message))
        self._flush_offline()
        waiters, self._connect_waiters = self._connect_waiters, []
        for waiter in waiters:
            waiter()

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if client is not self.client:
            return
        was_connected = self.connected
        self.connected = False
        if self._disconnected is not None and not self._disconnected.done():
            self._disconnected.set_result(None)
        if self.closing or self._user_disconnect:
            return
        if was_connected:
            if getattr(flags, "is_disconnect_packet_from_server", False):
                self.log(f"Broker {self.label} disconnected client: {reason.value} {reason}")
            self.log(f"Disconnected from broker: {self.label}")
            self._set_status(STATUS_DISCONNECTED)
        elif self.connecting:
            self.connecting = False
            self.log(f"Connection failed to broker: {self.label}")
            self._set_status(STATUS_DISCONNECTED)
        self._schedule_retry()

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        self._handled += 1
        try:
            topic = message.topic
        except UnicodeDecodeError:
            self.warn("MQTT message with a topic that is not UTF-8: dropped")
            return
        ids = None
        if self.v5 and message.properties is not None:
            ids = getattr(message.properties, "SubscriptionIdentifier", None)
        for sub in self._dispatch:
            if ids and sub.sub_id and self.server_properties.get("subscriptionIdentifiersAvailable", True):
                if sub.sub_id not in ids:
                    continue
            elif not sub.matches(topic):
                continue
            try:
                sub.callback(topic, message)
            except Exception as err:
                self.error(f"MQTT subscription handler error: {err}")

    def _on_publish(self, client: paho.Client, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        self._handled += 1
        done = self._pending.pop(mid, None)
        if done is not None:
            if getattr(reason, "is_failure", False):
                done(NodeError(f"publish refused by the broker: {reason}"))
            else:
                done()

    # ----- subscriptions ----------------------------------------------------------------------
    def subscribe(self, topic: str, options: dict, callback: Callable, ref: str) -> None:
        subs = self.subscriptions.setdefault(topic, {})
        sub = Subscription(topic, ref, dict(options), callback)
        if topic not in self.subscription_ids:
            self.subscription_ids[topic] = self._next_sub_id
            self._next_sub_id += 1
        sub.sub_id = self.subscription_ids[topic]
        subs[ref] = sub
        self._rebuild_dispatch()
        if self.connected:
            self._client_subscribe(sub)

    def _client_subscribe(self, sub: Subscription) -> None:
        if self.client is None:
            return
        qos = sub.options.get("qos", 1)
        if self.v5:
            opts = SubscribeOptions(
                qos=qos,
                noLocal=bool(sub.options.get("nl", False)),
                retainAsPublished=bool(sub.options.get("rap", False)),
                retainHandling=int(sub.options.get("rh", 0)),
            )
            props = None
            if self.server_properties.get("subscriptionIdentifiersAvailable", True):
                props = Properties(PacketTypes.SUBSCRIBE)
                props.SubscriptionIdentifier = sub.sub_id
            self.client.subscribe(sub.topic, options=opts, properties=props)
        else:
            self.client.subscribe(sub.topic, qos)

    def unsubscribe(self, topic: str, ref: str, remove: bool) -> None:
        subs = self.subscriptions.get(topic)
        if not subs or ref not in subs:
            return
        del subs[ref]
        self._rebuild_dispatch()
        if subs:
            return
        del self.subscriptions[topic]
        self.subscription_ids.pop(topic, None)
        if (remove or self.autoUnsubscribe) and self.connected and self.client is not None:
            self.client.unsubscribe(topic)

    def _rebuild_dispatch(self) -> None:
        self._dispatch = [sub for subs in self.subscriptions.values() for sub in subs.values()]

    # ----- publishing -------------------------------------------------------------------------
    def publish(self, msg: dict, done: Callable | None = None) -> None:
        """Publish `msg` (topic, payload, qos, retain, v5 properties) or queue it while offline."""
        if not self.connected:
            self._queue_offline(msg, done)
            return
        self._publish_now(msg, done)

    def _queue_offline(self, msg: dict, done: Callable | None) -> None:
        if self._offline_limit <= 0:
            if done:
                done(NodeError("not connected to the MQTT broker: message dropped"))
            return
        if len(self._offline) >= self._offline_limit:
            _old, old_done = self._offline.popleft()
            text = f"MQTT offline queue full ({self._offline_limit} messages): oldest message dropped"
            if old_done:
                old_done(NodeError(text))
            else:
                self.warn(text)
        self._offline.append((msg, done))

    def _flush_offline(self) -> None:
        while self._offline and self.connected:
            msg, done = self._offline.popleft()
            self._publish_now(msg, done)

    def _publish_now(self, msg: dict, done: Callable | None) -> None:
        payload = encode_payload(msg.get("payload"))
        qos = msg.get("qos") or 0
        retain = bool(msg.get("retain") or False)
        topic = msg.get("topic")
        topic_ok = "topic" in msg and is_valid_publish_topic(topic)
        props = None
        if self.v5:
            if "userProperties" in msg and not isinstance(msg["userProperties"], dict):
                msg.pop("userProperties")
            v5: dict = {}
            _str_prop(msg, v5, "responseTopic")
            if msg.get("correlationData"):
                corr = to_bytes(msg["correlationData"])
                if corr is not None:
                    v5["correlationData"] = corr
            _str_prop(msg, v5, "contentType")
            _int_prop(msg, v5, "messageExpiryInterval", 0)
            user = user_properties(msg.get("userProperties"))
            if user:
                v5["userProperties"] = user
            alias_max = self.server_properties.get("topicAliasMaximum", 0)
            if "topicAlias" in msg:
                _int_prop(msg, v5, "topicAlias", 1, alias_max or 0)
            _bool_prop(msg, v5, "payloadFormatIndicator")
            if topic_ok and v5.get("topicAlias"):
                alias = v5["topicAlias"]
                if self.topic_aliases.get(alias) == topic:
                    topic = ""
                else:
                    self.topic_aliases[alias] = topic
            elif not topic and v5.get("responseTopic"):
                topic = msg.get("responseTopic")
                topic_ok = is_valid_publish_topic(topic)
                msg.pop("responseTopic", None)
            props = _v5_properties(PacketTypes.PUBLISH, v5)
        if "properties" in msg and isinstance(msg["properties"], dict) and self.v5 and props is None:
            props = _v5_properties(PacketTypes.PUBLISH, msg["properties"])
        if not topic_ok:
            self.warn(ERR_INVALID_TOPIC) if done is None else done(_Warning(ERR_INVALID_TOPIC))
            return
        try:
            info = self.client.publish(topic, payload, int(qos), retain, props)
        except ValueError as err:
            if done:
                done(NodeError(str(err)))
            else:
                self.warn(str(err))
            return
        if info.rc == paho.MQTT_ERR_NO_CONN:
            if qos == 0:
                self._queue_offline(msg, done)
            elif done:
                self._pending[info.mid] = done  # paho re-sends it after reconnecting
            return
        if info.rc != paho.MQTT_ERR_SUCCESS:
            if done:
                done(NodeError(f"publish failed: {paho.error_string(info.rc)}"))
            return
        if done is None:
            return
        if qos:
            self._pending[info.mid] = done
        else:
            done()

    # ----- disconnecting ----------------------------------------------------------------------
    async def disconnect(self) -> None:
        """Publish the close message (when connected), disconnect cleanly (2 s at most), stop retrying."""
        self._user_disconnect = True
        self.cancel_timer(self._retry_timer)
        self._retry_timer = None
        client = self.client
        was_active = self.connected or self.connecting
        if client is not None and self.connected:
            if self.close_message:
                sent = self.loop.create_future()

                def close_sent(err: Any = None) -> None:
                    if not sent.done():
                        sent.set_result(None)

                self._publish_now(dict(self.close_message), close_sent)
                try:
                    await asyncio.wait_for(sent, CLOSE_WAIT_S)
                except TimeoutError:
                    pass
            self.closing = True
            self._disconnected = self.loop.create_future()
            client.disconnect()
            try:
                await asyncio.wait_for(asyncio.shield(self._disconnected), CLOSE_WAIT_S)
            except TimeoutError:
                pass
        self.closing = True
        self._drop_client()
        self.connected = False
        self.connecting = False
        if was_active:
            self._set_status(STATUS_DISCONNECTED)

    def drop_connection(self) -> None:
        """Close the socket now (no DISCONNECT packet): the broker sends the will message.
        A connection that was up counts as lost (red status, reconnect after the backoff)."""
        self._sever_socket()
        if self.connected:
            self.connected = False
            self.log(f"Disconnected from broker: {self.label}")
            self._set_status(STATUS_DISCONNECTED)
            self._schedule_retry()

    def _sever_socket(self) -> None:
        client = self.client
        sock = client.socket() if client is not None else None
        if self._fd is not None:
            self._remove_fd(self._fd)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _drop_client(self) -> None:
        self.cancel_timer(self._misc_timer)
        self.cancel_timer(self._connack_timer)
        self._misc_timer = None
        client, self.client = self.client, None
        if client is not None:
            if self._fd is not None:
                self._remove_fd(self._fd)
            _close_quietly(client)
        for done in list(self._pending.values()):
            done()
        self._pending.clear()

    async def on_close(self, removed: bool) -> None:
        self._stopped = True
        await self.disconnect()
        for _msg, done in self._offline:
            if done:
                done()
        self._offline.clear()


class _Warning(NodeError):
    """A publish problem Node-RED reports with node.warn instead of an error."""


def _close_quietly(client: paho.Client) -> None:
    sock = client.socket()
    client.on_disconnect = None
    client.on_socket_close = None
    client.on_socket_unregister_write = None
    if sock is not None:
        try:
            sock.close()
        except OSError:
            pass
    try:
        client._reset_sockets()  # noqa: SLF001 - paho's own cleanup of its socket pair
    except Exception:
        pass


def _server_properties(properties: Any) -> dict:
    out: dict = {}
    if properties is None:
        return out
    for ours, theirs in (
        ("topicAliasMaximum", "TopicAliasMaximum"),
        ("receiveMaximum", "ReceiveMaximum"),
        ("sessionExpiryInterval", "SessionExpiryInterval"),
        ("maximumQoS", "MaximumQoS"),
        ("maximumPacketSize", "MaximumPacketSize"),
        ("serverKeepAlive", "ServerKeepAlive"),
        ("responseInformation", "ResponseInformation"),
        ("serverReference", "ServerReference"),
        ("assignedClientIdentifier", "AssignedClientIdentifier"),
        ("reasonString", "ReasonString"),
    ):
        value = getattr(properties, theirs, None)
        if value is not None:
            out[ours] = value
    for ours, theirs in (
        ("retainAvailable", "RetainAvailable"),
        ("wildcardSubscriptionAvailable", "WildcardSubscriptionAvailable"),
        ("subscriptionIdentifiersAvailable", "SubscriptionIdentifierAvailable"),
        ("sharedSubscriptionAvailable", "SharedSubscriptionAvailable"),
    ):
        value = getattr(properties, theirs, None)
        out[ours] = True if value is None else bool(value)
    return out


# ----- the actions both nodes take ----------------------------------------------------------------
def _connect_action(node: Node, broker: MqttBroker, msg: dict, done: Callable) -> None:
    data = msg.get("broker") if isinstance(msg.get("broker"), dict) else None
    if broker.can_connect():
        if data:
            broker.set_options(data)
        broker.connect(lambda: done())
        return
    if not data:
        done()
    elif data.get("force"):

        async def cycle() -> None:
            await broker.disconnect()
            broker.set_options(data)
            broker.connect(lambda: done())

        node.create_task(cycle())
    else:
        done(NodeError(ERR_ALREADY_CONNECTED))


def _disconnect_action(node: Node, broker: MqttBroker, done: Callable) -> None:
    async def run() -> None:
        await broker.disconnect()
        done()

    node.create_task(run())


def _broker_of(node: Node) -> MqttBroker | None:
    broker = node.runtime.get_node(node.config.get("broker") or "")
    return broker if isinstance(broker, MqttBroker) else None


# ----- mqtt in --------------------------------------------------------------------------------
_DATATYPES = ["auto", "auto-detect", "buffer", "utf8", "json", "base64"]


@register_type("mqtt in")
class MqttIn(Node):
    """Subscribes to a topic (or to msg.topic in dynamic mode) and sends what arrives."""

    schema = {
        "type": "object",
        "properties": {
            "broker": {"type": "string"},
            "topic": {"type": ["string", "null"]},
            "qos": _NUMISH,
            "datatype": {"enum": [*_DATATYPES, "", None]},
            "nl": _BOOLISH,
            "rap": _BOOLISH,
            "rh": _NUMISH,
            "inputs": _NUMISH,
        },
    }

    def setup(self) -> None:
        cfg = self.config
        self.dynamic_subs: dict[str, dict] = {}
        self.is_dynamic = "inputs" in cfg and js.js_number(cfg.get("inputs")) == 1
        self.topic = cfg.get("topic")
        qos = js.parse_int(cfg.get("qos"))
        self.qos = qos if isinstance(qos, int) and 0 <= qos <= 2 else 2
        self.datatype = cfg.get("datatype") or "utf8"
        self.broker_conn: MqttBroker | None = None
        if not self.is_dynamic and not is_valid_subscription_topic(self.topic):
            self.warn(ERR_INVALID_TOPIC)
            return
        broker = _broker_of(self)
        if broker is None:
            self.error(ERR_MISSING_CONFIG)
            return
        self.broker_conn = broker
        self.status(STATUS_DISCONNECTED)
        if not (self.topic or self.is_dynamic):
            self.error(ERR_NOT_DEFINED)
            return
        broker.register(self)
        if not self.is_dynamic:
            options: dict = {"qos": self.qos}
            if broker.v5:
                _int_prop(cfg, options, "rh", 0, 2, 0)
                for flag in ("nl", "rap"):
                    if _truthy_flag(cfg.get(flag)):
                        options[flag] = True
                    elif cfg.get(flag) is False or cfg.get(flag) == "false":
                        options[flag] = False
            broker.subscribe(self.topic, options, self._handler(self.datatype), self.id)

    def _handler(self, datatype: str) -> Callable:
        broker = self.broker_conn
        local = broker.broker in ("localhost", "127.0.0.1")

        def handle(topic: str, message: paho.MQTTMessage) -> None:
            msg = decode_message(
                self,
                datatype,
                topic,
                message.payload,
                message.qos,
                bool(message.retain),
                broker.v5,
                message.properties,
            )
            if msg is not None:
                if local:
                    msg["_topic"] = topic
                self.send(msg)

        return handle

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        broker = self.broker_conn
        if broker is None:
            done()
            return
        action = msg.get("action")
        if action == "connect":
            _connect_action(self, broker, msg, done)
        elif action == "disconnect":
            _disconnect_action(self, broker, done)
        elif action in ("subscribe", "unsubscribe"):
            self._sub_action(action, msg, done)
        elif action == "getSubscriptions":
            msg["topic"] = "subscriptions"
            msg["payload"] = list(self.dynamic_subs.values())
            send(msg)
            done()
        else:
            done(NodeError(ERR_ACTION))

    def _sub_action(self, action: str, msg: dict, done: Callable) -> None:
        broker = self.broker_conn
        topic = msg.get("topic")
        if action == "unsubscribe" and topic is True:
            items = list(self.dynamic_subs.values())
        elif isinstance(topic, list):
            items = topic
        elif isinstance(topic, (str, dict)) or topic is None:
            items = [topic]
        else:
            done(NodeError(ERR_BAD_SUBSCRIPTION))
            return
        subs = []
        for item in items:
            sub = {"topic": item} if isinstance(item, str) else dict(item) if isinstance(item, dict) else {}
            if not sub.get("topic") or not is_valid_subscription_topic(sub["topic"]):
                done(NodeError(ERR_INVALID_TOPIC))
                return
            subs.append(sub)
        if action == "unsubscribe":
            for sub in subs:
                broker.unsubscribe(sub["topic"], self.id, True)
                self.dynamic_subs.pop(sub["topic"], None)
        else:
            for sub in subs:
                if sub["topic"] in self.dynamic_subs:
                    broker.unsubscribe(sub["topic"], self.id, True)
                    del self.dynamic_subs[sub["topic"]]
                options: dict = {}
                _int_prop(sub, options, "qos", 0, 2, 2)
                sub["qos"] = options["qos"]
                if broker.v5:
                    _int_prop(sub, options, "rh", 0, 2, 0)
                    sub["rh"] = options["rh"]
                    _bool_prop(sub, options, "rap", True)
                    sub["rap"] = options.get("rap", True)
                    if _truthy_flag(sub.get("nl")):
                        options["nl"] = sub["nl"] = True
                    elif sub.get("nl") is False or sub.get("nl") == "false":
                        options["nl"] = sub["nl"] = False
                    else:
                        sub.pop("nl", None)
                handler = self._handler(sub.get("datatype") or self.datatype)
                broker.subscribe(sub["topic"], options, handler, self.id)
                self.dynamic_subs[sub["topic"]] = sub
        msg["subscriptions"] = [clone_value(s) for s in self.dynamic_subs.values()]
        done()

    async def on_close(self, removed: bool) -> None:
        broker, self.broker_conn = self.broker_conn, None
        if broker is None:
            return
        topics = list(self.dynamic_subs) if self.is_dynamic else [self.topic]
        for topic in topics:
            broker.unsubscribe(topic, self.id, removed)
        self.dynamic_subs = {}
        await broker.deregister(self, removed)


# ----- mqtt out -------------------------------------------------------------------------------
@register_type("mqtt out")
class MqttOut(Node):
    """Publishes msg.payload to the node's topic or msg.topic."""

    schema = {
        "type": "object",
        "properties": {
            "broker": {"type": "string"},
            "topic": {"type": ["string", "null"]},
            "qos": _NUMISH,
            "retain": _BOOLISH,
            "respTopic": {"type": ["string", "null"]},
            "contentType": {"type": ["string", "null"]},
            "userProps": {"type": ["string", "object", "null"]},
            "correl": {"type": ["string", "null"]},
            "expiry": _NUMISH,
        },
    }

    def setup(self) -> None:
        cfg = self.config
        self.topic = cfg.get("topic")
        self.qos = cfg.get("qos") or None
        self.retain = cfg.get("retain")
        self.response_topic = cfg.get("respTopic")
        self.correlation_data = cfg.get("correl")
        self.content_type = cfg.get("contentType")
        self.message_expiry = cfg.get("expiry")
        self.user_properties = _parse_user_props(cfg.get("userProps"))
        self.broker_conn = _broker_of(self)
        if self.broker_conn is None:
            self.error(ERR_MISSING_CONFIG)
            return
        self.status(STATUS_DISCONNECTED)
        self.broker_conn.register(self)

    def on_input(self, msg: dict, send: Callable, done: Callable) -> None:
        broker = self.broker_conn
        if broker is None:
            done()
            return
        action = msg.get("action")
        if action:
            if action == "connect":
                _connect_action(self, broker, msg, done)
            elif action == "disconnect":
                _disconnect_action(self, broker, done)
            else:
                done(NodeError(ERR_ACTION))
            return
        if msg.get("qos"):
            qos = js.parse_int(msg["qos"])
            msg["qos"] = qos if qos in (0, 1, 2) else None
        if self.topic:
            msg["topic"] = self.topic
        qos = js.js_number(self.qos or msg.get("qos") or 0)
        msg["qos"] = int(qos) if qos in (0, 1, 2) else 0
        retain = self.retain or msg.get("retain") or False
        msg["retain"] = retain is True or retain == "true"
        if broker.v5:
            if self.user_properties:
                msg["userProperties"] = self.user_properties
            if self.response_topic:
                msg["responseTopic"] = self.response_topic
            if self.correlation_data:
                msg["correlationData"] = self.correlation_data
            if self.content_type:
                msg["contentType"] = self.content_type
            if self.message_expiry:
                msg["messageExpiryInterval"] = self.message_expiry
        if "payload" not in msg:
            done()
            return
        broker.publish(msg, lambda err=None: self._published(err, done))

    def _published(self, err: Any, done: Callable) -> None:
        if isinstance(err, _Warning):
            self.warn(str(err))
            return
        done(err)

    async def on_close(self, removed: bool) -> None:
        broker, self.broker_conn = self.broker_conn, None
        if broker is not None:
            await broker.deregister(self, removed)
