"""The local library: the cases of Node-RED's storage/localfilesystem/library_spec.js (the files in
<userDir>/lib) and editor-api/lib/editor/library_spec.js (the HTTP routes), ported."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from aiohttp import web

from flowrt.editor.library import TYPES, LibraryError, LibraryRoutes, LocalLibrary

OBJECT_TYPES = {*TYPES, "object"}  # Node-RED's storage tests use a type "object" (registered by no node)


def make_library(user_dir: Path, kind: str = "object") -> None:
    """Node-RED's createObjectLibrary fixture."""
    lib = user_dir / "lib" / kind
    for folder in ("A", "B", "B/C", "D"):
        (lib / folder).mkdir(parents=True, exist_ok=True)
    if kind in ("functions", "object"):
        (lib / "file1.js").write_text("// abc: def\n// not a metaline \n\n Hi", encoding="utf-8")
        (lib / "B" / "file2.js").write_text("// ghi: jkl\n// not a metaline \n\n Hi", encoding="utf-8")
        (lib / "D" / "file3.js").write_text("// mno: 日本語テスト\n\nこんにちわ", encoding="utf-8")
    if kind in ("flows", "object"):
        (lib / "B" / "flow.json").write_text("Hi", encoding="utf-8")


# ------------------------------------------------------------------ localfilesystem/library_spec.js


def test_should_return_an_empty_list_of_library_objects(tmp_path):
    assert LocalLibrary(tmp_path, types=OBJECT_TYPES).get_entry("object", "") == []


def test_should_return_an_empty_list_of_library_objects_path_slash(tmp_path):
    assert LocalLibrary(tmp_path, types=OBJECT_TYPES).get_entry("object", "/") == []


def test_should_return_an_error_for_a_non_existent_library_object(tmp_path):
    with pytest.raises(LibraryError) as caught:
        LocalLibrary(tmp_path, types=OBJECT_TYPES).get_entry("object", "A/B")
    assert caught.value.status == 404


def test_should_return_a_directory_listing_of_library_objects(tmp_path):
    make_library(tmp_path)
    library = LocalLibrary(tmp_path, types=OBJECT_TYPES)
    assert library.get_entry("object", "") == ["A", "B", "D", {"abc": "def", "fn": "file1.js"}]
    assert library.get_entry("object", "B") == ["C", {"ghi": "jkl", "fn": "file2.js"}, {"fn": "flow.json"}]
    assert library.get_entry("object", "B/C") == []
    assert library.get_entry("object", "D") == [{"mno": "日本語テスト", "fn": "file3.js"}]


def test_should_load_a_flow_library_object_with_json_unspecified(tmp_path):
    make_library(tmp_path, "flows")
    assert LocalLibrary(tmp_path, types=OBJECT_TYPES).get_entry("flows", "B/flow") == "Hi"


def test_should_return_a_library_object(tmp_path):
    make_library(tmp_path)
    assert (
        LocalLibrary(tmp_path, types=OBJECT_TYPES).get_entry("object", "B/file2.js")
        == "// not a metaline \n\n Hi"
    )


def test_should_return_a_newly_saved_library_function(tmp_path):
    make_library(tmp_path, "functions")
    library = LocalLibrary(tmp_path, types=OBJECT_TYPES)
    assert library.get_entry("functions", "B") == ["C", {"ghi": "jkl", "fn": "file2.js"}]
    library.save_entry("functions", "B/D/file3.js", {"mno": "pqr"}, "// another non meta line\n\n Hi There")
    assert library.get_entry("functions", "B/D") == [{"mno": "pqr", "fn": "file3.js"}]
    assert library.get_entry("functions", "B/D/file3.js") == "// another non meta line\n\n Hi There"


def test_should_return_a_newly_saved_library_flow(tmp_path):
    make_library(tmp_path, "flows")
    library = LocalLibrary(tmp_path, pretty_flows=False, types=OBJECT_TYPES)
    assert library.get_entry("flows", "B") == ["C", {"fn": "flow.json"}]
    library.save_entry("flows", "B/D/file3", {"mno": "pqr"}, "Hi")
    assert library.get_entry("flows", "B/D") == [{"mno": "pqr", "fn": "file3.json"}]
    assert library.get_entry("flows", "B/D/file3.json") == "Hi"


def test_should_return_a_newly_saved_library_flow_multi_byte_character(tmp_path):
    make_library(tmp_path, "flows")
    library = LocalLibrary(tmp_path, pretty_flows=False, types=OBJECT_TYPES)
    library.save_entry("flows", "B/D/file4", {"mno": "pqr"}, "こんにちわこんにちわこんにちわ")
    assert library.get_entry("flows", "B/D") == [{"mno": "pqr", "fn": "file4.json"}]
    assert library.get_entry("flows", "B/D/file4.json") == "こんにちわこんにちわこんにちわ"


def test_meta_values_with_newlines_and_backslashes_survive(tmp_path):
    library = LocalLibrary(tmp_path, types=OBJECT_TYPES)
    library.save_entry("functions", "f.js", {"info": "line 1\nline \\2", "outputs": 2}, "return msg;")
    assert library.get_entry("functions", "") == [{"info": "line 1\nline \\2", "outputs": "2", "fn": "f.js"}]
    assert library.get_entry("functions", "f.js") == "return msg;"


@pytest.mark.parametrize("path", ["../../secret", "a/../../../x", "../functions2/x"])
def test_a_path_outside_the_library_is_refused(tmp_path, path):
    library = LocalLibrary(tmp_path / "user")
    with pytest.raises(LibraryError) as caught:
        library.save_entry("functions", path, {}, "x")
    assert caught.value.status == 403
    with pytest.raises(LibraryError):
        library.get_entry("functions", path)
    assert not (tmp_path / "secret").exists()


def test_an_absolute_path_stays_inside_the_library(tmp_path):
    library = LocalLibrary(tmp_path)
    library.save_entry("functions", "/etc/passwd", {}, "x")  # as Node-RED's path.join
    assert (tmp_path / "lib" / "functions" / "etc" / "passwd").read_text() == "x"


def test_an_unknown_type_is_refused(tmp_path):
    with pytest.raises(LibraryError, match="Unknown library type"):
        LocalLibrary(tmp_path, types=OBJECT_TYPES).get_entry("settings", "")


# ------------------------------------------------------------------ editor/library_spec.js, over HTTP


@pytest.fixture
async def client(tmp_path, aiohttp_client):
    async def json_body(request):
        return json.loads(await request.text())

    routes = LibraryRoutes({"userDir": str(tmp_path), "flowFilePretty": False}, "/", json_body)
    app = web.Application()

    async def get(request):
        return await routes.get(request, {})

    async def post(request):
        return await routes.post(request, {})

    app.router.add_get("/library/{tail:.*}", get)
    app.router.add_post("/library/{tail:.*}", post)
    http = await aiohttp_client(app)
    http.lib = tmp_path / "lib"
    return http


async def test_returns_an_individual_entry_flow_type(client):
    (client.lib / "flows").mkdir(parents=True)
    (client.lib / "flows" / "abc.json").write_text('{"a":1,"b":2}')
    resp = await client.get("/library/local/flows/abc")
    assert resp.status == 200 and resp.content_type == "application/json"
    assert await resp.json() == {"a": 1, "b": 2}


async def test_returns_a_directory_listing_flow_type(client):
    (client.lib / "flows" / "abc" / "def" / "sub").mkdir(parents=True)
    (client.lib / "flows" / "abc" / "def" / "one.json").write_text("[]")
    resp = await client.get("/library/local/flows/abc/def")
    assert await resp.json() == ["sub", {"fn": "one.json"}]


async def test_returns_an_individual_entry_non_flow_type(client):
    (client.lib / "functions").mkdir(parents=True)
    (client.lib / "functions" / "abc").write_text('{"a":1,"b":2}')
    resp = await client.get("/library/local/functions/abc")
    assert resp.content_type == "text/plain" and await resp.text() == '{"a":1,"b":2}'


async def test_returns_a_directory_listing_non_flow_type(client):
    (client.lib / "functions" / "abc" / "def").mkdir(parents=True)
    (client.lib / "functions" / "abc" / "def" / "f.js").write_text("// name: F\nreturn msg;")
    resp = await client.get("/library/local/functions/abc/def")
    assert await resp.json() == [{"name": "F", "fn": "f.js"}]


async def test_returns_an_error_on_individual_get(client):
    resp = await client.get("/library/local/flows/123")
    assert resp.status == 404
    body = await resp.json()
    assert body["code"] == "not_found" and "123" in body["message"]
    resp = await client.get("/library/elsewhere/flows/123")
    assert resp.status == 400 and (await resp.json())["message"] == "Unknown library: elsewhere"


async def test_saves_an_individual_entry_flow_type(client):
    resp = await client.post("/library/local/flows/abc/def", json={"a": 1, "b": 2, "c": 3})
    assert resp.status == 204
    assert (client.lib / "flows" / "abc" / "def.json").read_text() == json.dumps(
        {"a": 1, "b": 2, "c": 3}, separators=(",", ":")
    )


async def test_saves_an_individual_entry_non_flow_type(client):
    resp = await client.post("/library/local/functions/abc/def", json={"a": 1, "b": 2, "text": "123"})
    assert resp.status == 204
    assert (client.lib / "functions" / "abc" / "def").read_text() == "// a: 1\n// b: 2\n123"
    resp = await client.get("/library/local/functions/abc/")
    assert await resp.json() == [{"a": "1", "b": "2", "fn": "def"}]


async def test_returns_an_error_on_individual_save(client):
    # sent as raw bytes: an HTTP client would resolve the dot segments itself
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    body = b'{"text": "x"}'
    writer.write(
        b"POST /library/local/functions/%2e%2e/%2e%2e/escape HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    answer = (await reader.read()).decode()
    writer.close()
    assert answer.startswith("HTTP/1.1 403") and '"forbidden"' in answer
    assert not (client.lib.parent / "escape").exists()


async def test_examples_library_is_empty(client):
    resp = await client.get("/library/_examples_/flows/")
    assert resp.status == 200 and await resp.json() == []
