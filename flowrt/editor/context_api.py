"""`DELETE /context/...`: the context sidebar's delete button, as Node-RED's runtime/lib/api/context.js.

- `DELETE /context/global/<key>?store=<store>`, `DELETE /context/flow/<flow id>/<key>` and
  `DELETE /context/node/<node id>/<key>` delete one key (a property path such as `a.b` deletes
  that property) from the store given, else the default store; 204.
- An unknown store, scope or node, or no key (Node-RED does not delete a whole context): 404.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from aiohttp import web


def _not_found(message: str) -> web.Response:
    return web.Response(
        status=404,
        text=json.dumps({"code": "not_found", "message": message}),
        content_type="application/json",
    )


class ContextDelete:
    def __init__(self, runtime: Any, admin_root: str, refuse_write: Any = None) -> None:
        self.runtime = runtime
        self.refuse_write = refuse_write  # the admin API's Origin check
        self.prefix = admin_root.rstrip("/") + "/context/"

    def _parts(self, request: web.BaseRequest) -> tuple[str, str, str]:
        raw = request.raw_path.split("?", 1)[0]
        rest = raw[len(self.prefix) :] if raw.startswith(self.prefix) else ""
        scope, _, rest = rest.partition("/")
        if scope == "global":
            return scope, "", unquote(rest)
        node_id, _, key = rest.partition("/")
        return scope, unquote(node_id), unquote(key)

    async def delete(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        refused = self.refuse_write(request) if self.refuse_write is not None else None
        if refused is not None:
            return refused
        scope, owner, key = self._parts(request)
        manager = self.runtime.context
        stores = manager.list_stores()
        store = request.query.get("store")
        if store and store not in (stores.get("stores") or []):
            return _not_found(f"unknown context store {store!r}")
        if scope == "global":
            ctx = manager.global_context()
        elif scope == "flow" and owner:
            ctx = manager.flow_context(owner)
        elif scope == "node" and owner:
            node = self.runtime.get_node(owner)
            if node is None:
                return _not_found(f"no node {owner!r}")
            ctx = node.context()
        else:
            return _not_found(f"unknown context scope {scope!r}")
        if not key:
            return _not_found("a context key to delete is needed")
        try:
            ctx.set(key, None, store)  # None: the default store
        except Exception as err:  # an invalid key: Node-RED answers its error too
            return web.Response(
                status=400,
                text=json.dumps({"code": "unexpected_error", "message": f"context key {key!r}: {err}"}),
                content_type="application/json",
            )
        return web.Response(status=204)
