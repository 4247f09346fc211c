"""Warnings for flow endpoints the editor's admin API takes away (checked at start-up and each deploy).

- An `http in` node whose method and path an admin route answers (the editor at `/`, `/flows`,
  `/red/...` with httpAdminRoot and httpNodeRoot both `/`): admin routes are matched first, as
  Node-RED mounts its admin app first, so the node never gets those requests.
- A `websocket-listener` on the editor's `/comms` path: WebSocket upgrades go to the listener,
  so the editor loses its status, debug and deploy notices.

Each warning is logged against the node, so it shows in the editor's debug sidebar.
"""

from __future__ import annotations

from typing import Any

from flowrt.http.server import join_root


def shadowed_endpoints(flows: list[dict], server: Any, settings: Any) -> list[tuple[str, str]]:
    """(node id, warning) for each endpoint of `flows` an admin route shadows or that shadows /comms."""
    node_root = str(settings.get("httpNodeRoot") or "/")
    admin_root = str(settings.get("httpAdminRoot") or "/")
    comms = join_root(admin_root, "comms")
    found: list[tuple[str, str]] = []
    for node in flows:
        node_id, kind = node.get("id"), node.get("type")
        if kind == "http in" and isinstance(node.get("url"), str) and node["url"]:
            method = str(node.get("method") or "get").upper()
            path = join_root(node_root, node["url"])
            if server.admin_table.find(method, path) is not None:
                found.append(
                    (
                        node_id,
                        f"{method} {path} is answered by the editor's admin API (httpAdminRoot "
                        f"{admin_root!r}), which is matched first: this http in node gets no requests; "
                        "move it or set httpNodeRoot / httpAdminRoot apart",
                    )
                )
        elif kind == "websocket-listener" and isinstance(node.get("path"), str) and node["path"]:
            path = join_root(node_root, node["path"])
            if path.rstrip("/").lower() == comms.lower():
                found.append(
                    (
                        node_id,
                        f"websocket-listener on {path} takes the editor's /comms: the editor gets no "
                        "status, debug or deploy notices; give the listener another path",
                    )
                )
    return found


def warn_shadowed(flows: list[dict], runtime: Any) -> None:
    server = runtime.http
    if server is None:
        return
    for node_id, text in shadowed_endpoints(flows, server, runtime.settings):
        runtime.log.log("warn", text, node=runtime.get_node(node_id))
