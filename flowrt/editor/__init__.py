"""The official Node-RED editor against flowrt: its files (assets), palette (nodesets), `/comms`
(comms), deploys (flows_api) and the admin API (api). Off unless `flowrt run --editor`."""

from __future__ import annotations

from typing import Any

from flowrt.editor.assets import EditorAssetsError, find, install


def start_editor(
    runtime: Any, registry: Any, flows: list[dict], flow_paths: list[str], sources: dict[str, str]
) -> Any:
    """Mount the editor on the runtime's HTTP server. Raises EditorAssetsError when its files are
    missing (`flowrt editor install` fetches them), when there is no HTTP server or when it would
    listen beyond loopback without adminAuth; ValueError for adminAuth or credentials that cannot work."""
    from flowrt.editor.api import EditorApi
    from flowrt.editor.auth import exposure_problem
    from flowrt.editor.credentials import CredentialStore, credentials_file
    from flowrt.editor.flows_api import FlowFiles

    problem = exposure_problem(runtime.settings)
    if problem is not None:
        raise EditorAssetsError(problem)
    files = find(runtime.settings)
    if files is None:
        raise EditorAssetsError("the editor's files are not installed: run `flowrt editor install`")
    if runtime.http is None:
        raise EditorAssetsError("the editor needs the HTTP server (setting httpServer is false)")
    flow_files = FlowFiles(flow_paths, sources)
    credentials = {}
    if flow_paths:  # CredentialsError (a ValueError) when the secret does not open the file
        flow_files.credential_store = CredentialStore(
            credentials_file(flow_paths[0]), runtime.settings, runtime.log
        )
        credentials = flow_files.credential_store.load()
    editor = EditorApi(runtime, registry, files, flows, flow_files, credentials)
    editor.mount(runtime.http)
    return editor


__all__ = ["EditorAssetsError", "find", "install", "start_editor"]
