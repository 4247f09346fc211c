"""The editor's files for the editor tests: the installed pinned editor, fetched with npm once
(into ~/.cache/flowrt/editor, outside the repository) when npm is there; else the tests skip."""

from __future__ import annotations

import shutil

import pytest

from flowrt.editor.assets import DEFAULT_VERSION, EditorAssetsError, find, install


@pytest.fixture(scope="session")
def editor_files():
    files = find({})
    if files is not None:
        return files
    if shutil.which("npm") is None:
        pytest.skip(
            "the Node-RED editor's files are not installed and npm is missing (`flowrt editor install`)"
        )
    try:
        return install(DEFAULT_VERSION)
    except EditorAssetsError as err:
        pytest.skip(f"could not install the Node-RED editor's files: {err}")
