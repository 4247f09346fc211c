"""`http proxy` (Node-RED's 06-httpproxy.js): a proxy for http request, MQTT and WebSocket nodes.

Properties: `url` (http://host:port, optionally with user:password@), `noproxy` (a list of host
names, `.suffix`, `host:port`; each entry may itself hold a comma-separated list), credentials
`username` / `password` (Basic proxy authentication; they win over a user:password in the url).
The nodes using it pass `proxy_env` to `flowrt.util.proxy_for_url`, which then ignores the
process environment, as Node-RED does when a node names a proxy config.
"""

from __future__ import annotations

from flowrt import Node, register_type
from flowrt.util import js


@register_type("http proxy")
class HttpProxy(Node):
    schema = {
        "type": "object",
        "properties": {
            "url": {"type": "string", "description": "the proxy, e.g. http://proxy.example:3128"},
            "noproxy": {"type": "array", "items": {"type": "string"}},
        },
    }

    def setup(self) -> None:
        cfg = self.config
        self.url = js.js_string(cfg["url"]) if cfg.get("url") else ""
        noproxy = cfg.get("noproxy")
        self.noproxy = [js.js_string(n) for n in noproxy] if isinstance(noproxy, list) else []
        creds = cfg.get("credentials")
        self.credentials = dict(creds) if isinstance(creds, dict) else {}

    @property
    def proxy_env(self) -> dict[str, str]:
        """The environment proxy_for_url reads for a node using this proxy."""
        return {"no_proxy": ",".join(self.noproxy), "http_proxy": self.url, "https_proxy": self.url}
