"""Which proxy a URL goes through, as Node-RED's network nodes decide it (lib/proxyHelper.js).

`proxy_for_url(url, env)` reads `<scheme>_proxy`, `npm_config_<scheme>_proxy`, `npm_config_proxy`,
`all_proxy` (lower case first, then upper case) and the `no_proxy` list (host names, `.suffix` /
`*.suffix`, `host:port`, `*`) from `env` (default: the process environment). The environment variable
`NR_PROXY_MODE=legacy` switches to Node-RED 1.x/2.x matching (only `http_proxy` / `no_proxy`,
no_proxy entries as substrings of the URL). An `http proxy` config node passes its own env:
{"http_proxy": url, "https_proxy": url, "no_proxy": "a,b"}.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

__all__ = ["proxy_for_url"]

DEFAULT_PORTS = {"ftp": 21, "gopher": 70, "http": 80, "https": 443, "ws": 80, "wss": 443}
DEFAULT_PORTS.update({"mqtt": 1880, "mqtts": 8883})  # as Node-RED's table (mqtt: 1880, not 1883)


def _env_value(env: Mapping[str, str], key: str) -> str:
    return env.get(key.lower()) or env.get(key.upper()) or ""


def _legacy(url: str, env: Mapping[str, str]) -> str:
    proxy = env.get("HTTP_PROXY") or env.get("http_proxy") or ""
    no_proxy = env.get("NO_PROXY") or env.get("no_proxy") or ""
    if no_proxy and any(entry.strip() in url for entry in no_proxy.split(",")):
        return ""
    return proxy


def _excluded(hostname: str, port: int, no_proxy: str) -> bool:
    """Does the no_proxy list name this host (and port)?"""
    if not no_proxy:
        return False
    if no_proxy == "*":
        return True
    for entry in re.split(r"[,\s]", no_proxy):
        if not entry:
            continue
        match = re.match(r"^(.+):(\d+)$", entry)
        name = match.group(1) if match else entry
        if match and int(match.group(2)) != port:
            continue
        if name[0] not in ".*":
            if hostname == name:
                return True
            continue
        if name.startswith("*"):
            name = name[1:]
        if hostname.endswith(name):
            return True
    return False


def proxy_for_url(url: str, env: Mapping[str, str] | None = None) -> str:
    """The proxy URL to use for `url` ("" for a direct connection)."""
    if env is None:
        env = os.environ
    if os.environ.get("NR_PROXY_MODE") == "legacy":
        return _legacy(url or "", env)
    try:
        parts = urlsplit(url or "")
        netloc_host = parts.netloc.rpartition("@")[2]
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if not scheme or not netloc_host:
        return ""
    hostname = re.sub(r":\d*$", "", netloc_host).lower()
    port = port or DEFAULT_PORTS.get(scheme, 0)
    no_proxy = (_env_value(env, "npm_config_no_proxy") or _env_value(env, "no_proxy")).lower()
    if _excluded(hostname, port, no_proxy):
        return ""
    proxy = (
        _env_value(env, f"npm_config_{scheme}_proxy")
        or _env_value(env, f"{scheme}_proxy")
        or _env_value(env, "npm_config_proxy")
        or _env_value(env, "all_proxy")
    )
    if proxy and "://" not in proxy:
        proxy = f"{scheme}://{proxy}"
    return proxy
