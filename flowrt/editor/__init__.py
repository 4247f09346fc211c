"""The official Node-RED editor against flowrt: its files (assets), palette (nodesets), `/comms`
(comms), deploys (flows_api) and the admin API (api). Off unless `flowrt run --editor`."""

from __future__ import annotations

from typing import Any

from flowrt.editor.assets import EditorAssetsError, find, install


def start_editor(
    runtime: Any, registry: Any, flows: list[dict], flow_paths: list[str], sources: dict[str, str]
) -> Any:
    """Mount the editor on the runtime's HTTP server. Raises EditorAssetsError when its files are
    missing (`flowrt editor install` fetches them) or when there is no HTTP server."""
    from flowrt.editor.api import EditorApi
    from flowrt.editor.flows_api import FlowFiles, load_credentials

    files = find(runtime.settings)
    if files is None:
        raise EditorAssetsError("the editor's files are not installed: run `flowrt editor install`")
    if runtime.http is None:
        raise EditorAssetsError("the editor needs the HTTP server (setting httpServer is false)")
    credentials = load_credentials(flow_paths[0]) if flow_paths else {}
    editor = EditorApi(runtime, registry, files, flows, FlowFiles(flow_paths, sources), credentials)
    editor.mount(runtime.http)
    return editor


__all__ = ["EditorAssetsError", "find", "install", "start_editor"]
