"""The `watch` node: a message when a watched file or directory changes.

`files` is a comma-separated list of paths; a directory reports changes to its
entries, and with `recursive` to everything below it. Each change sends
{payload: path, topic: the watched path(s), file: base name, filename: path,
event: "update" | "remove", type: "file" | "directory" | ..., size (files)}.

Changes are found by polling (no new dependency, works on every platform and
filesystem): every `POLL_INTERVAL` seconds a snapshot of size, mtime, ctime,
mode and inode is taken in a thread and compared with the previous one, so a
write, an attribute change, a creation or a removal is reported once per poll.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
from typing import Any

from flowrt import Node, register_type

POLL_INTERVAL = 0.2


def _signature(st: os.stat_result) -> tuple:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode, st.st_ino)


def snapshot(paths: list[str], recursive: bool) -> dict[str, tuple]:
    """path -> signature of every watched path and, for directories, their entries."""
    out: dict[str, tuple] = {}
    for root in paths:
        try:
            st = os.stat(root)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            out[root] = _signature(st)
            continue
        if recursive:
            for dirpath, dirnames, filenames in os.walk(root):
                for name in dirnames + filenames:
                    full = os.path.join(dirpath, name)
                    try:
                        out[full] = _signature(os.stat(full))
                    except OSError:
                        pass
        else:
            try:
                names = os.listdir(root)
            except OSError:
                continue
            for name in names:
                full = os.path.join(root, name)
                try:
                    out[full] = _signature(os.stat(full))
                except OSError:
                    pass
    return out


def _file_type(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISBLK(mode):
        return "blockdevice"
    if stat.S_ISCHR(mode):
        return "characterdevice"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISDIR(mode):
        return "directory"
    return "n/a"


@register_type("watch")
class WatchNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "files": {"anyOf": [{"type": "string"}, {"enum": [None, False, 0]}], "x-fatal": True},
            "recursive": {"type": ["boolean", "string"]},
        },
    }

    def setup(self) -> None:
        self.recursive = self.config.get("recursive") in (True, "true")
        self.files = [f.strip() for f in (self.config.get("files") or "").split(",")]
        self.topic = self.files[0] if len(self.files) == 1 else json.dumps(self.files, separators=(",", ":"))
        self._previous: dict[str, tuple] | None = None
        #: set once the first snapshot is taken: changes after that are reported
        self.ready = asyncio.Event()
        self.create_task(self._poll())

    async def _poll(self) -> None:
        paths = []
        for path in (f for f in self.files if f):
            if os.path.exists(path):
                paths.append(path)
            else:  # as node-watch: an error event, and the path is not watched
                self.error(f"Error: {path} does not exist.", {"payload": ""})
        while not self.closed:
            try:
                current = await asyncio.to_thread(snapshot, paths, self.recursive)
            except Exception as err:  # keep watching; report as Node-RED does (no msg context)
                self.error(err, {"payload": ""})
                current = self._previous or {}
            if self._previous is not None:
                self._report(self._previous, current)
            self._previous = current
            self.ready.set()
            await asyncio.sleep(POLL_INTERVAL)

    def _report(self, before: dict[str, tuple], after: dict[str, tuple]) -> None:
        for path, sig in after.items():
            if before.get(path) != sig:
                self._emit(path, "update", sig)
        for path in before.keys() - after.keys():
            self._emit(path, "remove", None)

    def _emit(self, path: str, event: str, sig: Any) -> None:
        msg: dict[str, Any] = {
            "payload": path,
            "topic": self.topic,
            "file": os.path.basename(path),
            "filename": path,
            "event": event,
        }
        kind = "none"
        if sig is not None:
            kind = _file_type(sig[3])
            if kind == "file":
                msg["size"] = sig[0]
        msg["type"] = kind
        self.send(msg)
