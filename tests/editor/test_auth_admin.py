"""adminAuth: the cases of Node-RED's test/unit/@node-red/editor-api/lib/auth/*_spec.js (permissions,
clients, users, tokens, strategies, index), ported to flowrt.editor.auth.

The HTTP-level cases run the handlers on a small aiohttp app; test_auth_process.py has the same
rules end to end against `flowrt run --editor`.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from aiohttp import web

from flowrt.editor.auth import (
    CLIENTS,
    AdminAuth,
    AdminAuthError,
    TokenError,
    Tokens,
    Users,
    exposure_problem,
    has_permission,
    permission_for,
)

# Node-RED's users_spec.js fixture: bcryptjs.hashSync('password', 8)
FRED_HASH = "$2a$08$LpYMefvGZ3MjAfZGzcoyR.1BcfHh4wy4NpbN.cEny5aHnWOqjKOXK"


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------------ permissions_spec.js


def test_a_user_with_no_permissions():
    assert has_permission([], "*") is False


def test_a_user_with_global_permissions():
    assert has_permission("*", "read") and has_permission(["*"], "write")


def test_a_user_with_read_permissions():
    assert has_permission(["read"], "read") and has_permission(["read"], "node.read")
    assert not has_permission(["read"], "write") and not has_permission(["read"], "node.write")
    assert has_permission(["*.read"], "read") and has_permission(["*.read"], "node.read")
    assert not has_permission(["*.read"], "write") and not has_permission(["*.read"], "node.write")


def test_a_user_with_foo_permissions():
    assert has_permission("foo", "foo")


def test_an_array_of_permissions():
    assert has_permission(["*"], ["foo.read", "foo.write"])
    assert not has_permission("read", ["foo.read", "foo.write"])
    assert has_permission("read", ["foo.read", "bar.read"])
    assert has_permission(["flows.read"], ["flows.read"])
    assert not has_permission(["flows.read"], ["flows.write"])
    assert not has_permission(["flows.read", "nodes.write"], ["flows.write"])
    assert has_permission(["flows.read", "nodes.write"], ["nodes.write"])


def test_permits_an_empty_permission():
    assert has_permission("*", "") and has_permission("read", [""])


# ------------------------------------------------------------------ clients_spec.js


def test_finds_the_known_editor_client():
    assert CLIENTS["node-red-editor"] == "not_available"


def test_finds_the_known_admin_client():
    assert CLIENTS["node-red-admin"] == "not_available"


def test_returns_null_for_unknown_client():
    assert CLIENTS.get("unknown") is None


# ------------------------------------------------------------------ users_spec.js

FRED = {"type": "credentials", "users": {"username": "fred", "password": FRED_HASH, "permissions": "*"}}


async def test_returns_known_user():
    user = await Users(FRED).get("fred")
    assert user == {"username": "fred", "permissions": "*"}


async def test_returns_null_for_unknown_user():
    assert await Users(FRED).get("barney") is None


async def test_returns_null_for_default_user():
    assert await Users(FRED).default() is None


async def test_authenticates_a_known_user():
    assert await Users(FRED).authenticate("fred", "password") == {"username": "fred", "permissions": "*"}


async def test_rejects_invalid_password_for_a_known_user():
    assert await Users(FRED).authenticate("fred", "wrong") is None


async def test_rejects_invalid_user():
    assert await Users(FRED).authenticate("barney", "wrong") is None


async def test_returns_default_user():
    users = Users({"type": "credentials", "users": [], "default": {"permissions": "*"}})
    assert await users.default() == {"anonymous": True, "permissions": "*"}


async def test_user_functions_delegate_get_and_authenticate():
    seen = []

    async def authenticate(username, password):
        seen.append((username, password))
        return {"username": "pete", "permissions": "write", "password": "x"}

    users = Users(
        {
            "type": "credentials",
            "users": lambda username: {"username": "dave", "permissions": "read"},
            "authenticate": authenticate,
        }
    )
    assert users.token_header is None
    assert await users.get("dave") == {"username": "dave", "permissions": "read"}
    assert await users.authenticate("pete", "secret") == {"username": "pete", "permissions": "write"}
    assert seen == [("pete", "secret")]


async def test_bad_type_loads_no_users():
    assert await Users({**FRED, "type": "foo"}).get("fred") is None


async def test_default_as_a_function():
    assert await Users({"type": "credentials", "default": lambda: "Done"}).default() == "Done"


async def test_tokens_as_a_function_with_the_default_header():
    users = Users({"type": "strategy", "tokens": lambda token: "Done-" + token})
    assert await users.tokens("1234") == "Done-1234"
    assert users.token_header == "authorization"


async def test_tokens_as_a_function_with_a_token_header():
    users = Users(
        {"type": "strategy", "tokens": lambda token: "Done-" + token, "tokenHeader": "X-TEST-TOKEN"}
    )
    assert await users.tokens("1234") == "Done-1234"
    assert users.token_header == "x-test-token"


def test_a_user_without_a_bcrypt_hash_is_refused_naming_it():
    config = {"type": "credentials", "users": [{"username": "ann", "password": "plain", "permissions": "*"}]}
    with pytest.raises(AdminAuthError, match=r"adminAuth.users\[0\] \(ann\): password must be a bcrypt hash"):
        Users(config)


# ------------------------------------------------------------------ tokens_spec.js


def sessions_file(tmp_path, sessions: dict):
    path = tmp_path / ".sessions.json"
    path.write_text(json.dumps(sessions))
    return path


def test_loads_sessions(tmp_path):
    assert Tokens({}, tmp_path / ".sessions.json").sessions == {}


def test_returns_a_valid_token(tmp_path):
    clock = Clock()
    path = sessions_file(tmp_path, {"1234": {"user": "fred", "expires": clock() * 1000 + 1000}})
    assert Tokens({}, path, clock).get("1234")["user"] == "fred"


def test_returns_null_for_an_invalid_token(tmp_path):
    assert Tokens({}, sessions_file(tmp_path, {})).get("1234") is None


def test_returns_null_for_an_expired_token(tmp_path):
    clock = Clock()
    path = sessions_file(tmp_path, {"1234": {"user": "fred", "expires": clock() * 1000 + 50}})
    tokens = Tokens({}, path, clock)
    assert tokens.get("1234") is not None
    clock.now += 0.1
    assert tokens.get("1234") is None
    assert json.loads(path.read_text()) == {}  # saved once the session expired


def test_returns_a_valid_api_token(tmp_path):
    tokens = Tokens({"tokens": [{"token": "1234", "user": "fred"}]}, sessions_file(tmp_path, {}))
    assert tokens.get("1234")["user"] == "fred"


def test_creates_a_token(tmp_path):
    clock = Clock()
    path = tmp_path / ".sessions.json"
    token = Tokens({"sessionExpiryTime": 10}, path, clock).create("user", "client", "scope")
    saved = json.loads(path.read_text())
    assert list(saved) == [token["accessToken"]] and token["expires_in"] == 10
    session = saved[token["accessToken"]]
    assert (session["user"], session["client"], session["scope"]) == ("user", "client", "scope")
    assert session["expires"] == clock() * 1000 + 10_000
    assert path.stat().st_mode & 0o077 == 0


def test_revokes_a_token(tmp_path):
    clock = Clock()
    path = sessions_file(tmp_path, {"1234": {"user": "fred", "expires": clock() * 1000 + 1000}})
    Tokens({}, path, clock).revoke("1234")
    assert "1234" not in json.loads(path.read_text())


# ------------------------------------------------------------------ strategies_spec.js


def auth_with(tmp_path, **config) -> AdminAuth:
    settings = {"userDir": str(tmp_path), "adminAuth": {"type": "credentials", **config}}
    return AdminAuth(settings, clock=Clock())


async def test_password_exchange_handles_authentication_failure(tmp_path):
    auth = auth_with(tmp_path, users=[{"username": "user", "password": FRED_HASH, "permissions": "*"}])
    with pytest.raises(TokenError) as caught:
        await auth.password_exchange("node-red-editor", "user", "wrong", "scope")
    assert (caught.value.status, caught.value.code) == (403, "invalid_grant")


async def test_password_exchange_handles_scope_overreach(tmp_path):
    auth = auth_with(tmp_path, users=[{"username": "user", "password": FRED_HASH, "permissions": "read"}])
    with pytest.raises(TokenError, match="Invalid resource owner credentials"):
        await auth.password_exchange("node-red-editor", "user", "password", "*")


async def test_password_exchange_creates_new_token_on_authentication_success(tmp_path):
    auth = auth_with(tmp_path, users=[{"username": "user", "password": FRED_HASH, "permissions": "*"}])
    token, expires_in = await auth.password_exchange("myclient", "user", "password", "read")
    session = auth.tokens.get(token)
    assert (session["user"], session["client"], session["scope"]) == ("user", "myclient", ["read"])
    assert expires_in == 604800


async def test_password_exchange_uses_provided_token(tmp_path):
    user = {"username": "user", "password": FRED_HASH, "permissions": "*", "token": "123456"}
    auth = auth_with(tmp_path, users=[user])
    assert await auth.password_exchange("myclient", "user", "password", "read") == ("123456", None)


def request_with(headers: dict | None = None, query: str = ""):
    from aiohttp.test_utils import make_mocked_request

    return make_mocked_request("GET", "/flows" + query, headers=headers or {})


async def test_anonymous_strategy_succeeds_if_anon_user_enabled(tmp_path):
    auth = auth_with(tmp_path, default={"permissions": "read"})
    assert await auth.identify(request_with()) == ({"anonymous": True, "permissions": "read"}, "read")


async def test_anonymous_strategy_fails_if_anon_user_not_enabled(tmp_path):
    assert await auth_with(tmp_path).identify(request_with()) is None


async def test_tokens_strategy_succeeds_with_a_custom_header(tmp_path):
    auth = auth_with(
        tmp_path, tokens=lambda t: {"username": f"tokens-{t}", "permissions": "*"}, tokenHeader="x-test-token"
    )
    user, scope = await auth.identify(request_with({"x-test-token": "1234"}))
    assert user["username"] == "tokens-1234" and scope == "*"


async def test_tokens_strategy_succeeds_with_the_default_header(tmp_path):
    auth = auth_with(tmp_path, tokens=lambda t: {"username": f"tokens-{t}", "permissions": "*"})
    user, _ = await auth.identify(request_with({"Authorization": "Bearer 1234"}))
    assert user["username"] == "tokens-1234"


async def test_tokens_strategy_fails_if_the_hook_knows_no_user(tmp_path):
    auth = auth_with(tmp_path, tokens=lambda t: None)
    assert await auth.identify(request_with({"Authorization": "Bearer 1234"})) is None


async def test_bearer_strategy_rejects_invalid_token(tmp_path):
    assert await auth_with(tmp_path).identify(request_with({"Authorization": "Bearer 1234"})) is None


async def test_bearer_strategy_accepts_valid_token(tmp_path):
    auth = auth_with(tmp_path, users=[{"username": "user", "password": FRED_HASH, "permissions": "*"}])
    token = auth.tokens.create("user", "node-red-editor", "scope")["accessToken"]
    user, scope = await auth.identify(request_with({"Authorization": f"Bearer {token}"}))
    assert user == {"username": "user", "permissions": "*"} and scope == "scope"
    query = f"?access_token={quote(token, safe='')}"
    assert await auth.identify(request_with(query=query)) is not None


async def test_bearer_strategy_fails_if_no_user_for_token(tmp_path):
    auth = auth_with(tmp_path, users=[])
    token = auth.tokens.create("gone", "node-red-editor", "*")["accessToken"]
    assert await auth.identify(request_with({"Authorization": f"Bearer {token}"})) is None


async def test_password_exchange_blocks_after_5_failures(tmp_path):
    auth = auth_with(tmp_path, users=[{"username": "user", "password": FRED_HASH, "permissions": "*"}])
    for _ in range(5):
        with pytest.raises(TokenError, match="Invalid resource owner credentials"):
            await auth.password_exchange("node-red-editor", "user", "badpassword", "")
    with pytest.raises(TokenError) as caught:
        await auth.password_exchange("node-red-editor", "user", "password", "")  # right, but blocked
    assert str(caught.value) == "Too many login attempts. Wait 10 minutes and try again"
    auth.clock.now += 601  # the 10 minute window has passed
    assert (await auth.password_exchange("node-red-editor", "user", "password", ""))[0]


# ------------------------------------------------------------------ index_spec.js, over HTTP


@pytest.fixture
async def client(tmp_path, aiohttp_client):
    auth = auth_with(
        tmp_path,
        users=[
            {"username": "fred", "password": FRED_HASH, "permissions": "*"},
            {"username": "reader", "password": FRED_HASH, "permissions": "read"},
        ],
    )
    app = web.Application()

    async def ok(request, params):
        return web.Response(text="ok")

    def route(handler):
        async def call(request):
            return await handler(request, {})

        return call

    app.router.add_get("/auth/login", route(auth.login))
    app.router.add_post("/auth/token", route(auth.token))
    app.router.add_post("/auth/revoke", route(auth.guard("", auth.revoke)))
    app.router.add_get("/flows", route(auth.guard("flows.read", ok)))
    app.router.add_post("/flows", route(auth.guard("flows.write", ok)))
    http = await aiohttp_client(app)
    http.auth = auth
    return http


async def login(client, username="fred", password="password", **extra):
    form = {"client_id": "node-red-editor", "grant_type": "password", "scope": "", **extra}
    form.update(username=username, password=password)
    return await client.post("/auth/token", data=form)


async def test_applies_a_default_client_secret_if_not_present(client):
    resp = await login(client)
    assert resp.status == 200
    body = await resp.json()
    assert set(body) == {"access_token", "expires_in", "token_type"} and body["token_type"] == "Bearer"
    assert resp.headers["Cache-Control"] == "no-store"


async def test_leaves_client_secret_alone_if_present(client):
    assert (await login(client, client_secret="not_available")).status == 200
    assert (await login(client, client_secret="wrong")).status == 401


async def test_unknown_client_and_grant_type(client):
    assert (await login(client, client_id="someone-else")).status == 401
    resp = await login(client, grant_type="client_credentials")
    assert resp.status == 501 and (await resp.json())["error"] == "unsupported_grant_type"
    resp = await client.post("/auth/token", data={"client_id": "node-red-admin", "grant_type": "password"})
    assert resp.status == 400
    assert await resp.json() == {
        "error": "invalid_request",
        "error_description": "Missing required parameter: username",
    }


async def test_revoke_route_revokes_a_token(client):
    token = (await (await login(client)).json())["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/flows", headers=bearer)).status == 200
    assert (await client.post("/auth/revoke", data={"token": token}, headers=bearer)).status == 200
    assert (await client.get("/flows", headers=bearer)).status == 401


async def test_returns_login_details_credentials(client):
    assert await (await client.get("/auth/login")).json() == {
        "type": "credentials",
        "prompts": [
            {"id": "username", "type": "text", "label": "user.username"},
            {"id": "password", "type": "password", "label": "user.password"},
        ],
    }


async def test_returns_login_details_none():
    request = request_with()
    resp = await AdminAuth({"userDir": "/nonexistent"}).login(request, {})
    assert json.loads(resp.text) == {}


def test_strategy_logins_are_refused_clearly():
    with pytest.raises(AdminAuthError, match="strategy"):
        AdminAuth({"adminAuth": {"type": "strategy", "strategy": {"label": "test-strategy"}}})


def test_no_ops_if_admin_auth_not_set():
    def add(*args):
        return args

    assert AdminAuth({}).protect(add) is add


async def test_passes_for_valid_user_permission(client):
    token = (await (await login(client, "reader")).json())["access_token"]
    assert (await client.get("/flows", headers={"Authorization": f"Bearer {token}"})).status == 200


async def test_rejects_for_invalid_user_permission(client):
    token = (await (await login(client, "reader")).json())["access_token"]
    resp = await client.post("/flows", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 401  # Node-RED answers 401 for "not allowed" too
    resp = await client.get("/flows")
    assert resp.status == 401 and resp.headers["WWW-Authenticate"] == 'Bearer realm="Users"'


# ------------------------------------------------------------------ flowrt's own rules


@pytest.mark.parametrize(
    "method, path, permission",
    [
        ("GET", "/", None),
        ("GET", "/red/red.min.js", None),
        ("GET", "/locales/editor", None),
        ("GET", "/icons/node-red/inject.svg", None),
        ("GET", "/debug/view/debug-utils.js", None),
        ("POST", "/auth/token", None),
        ("GET", "/comms", None),
        ("POST", "/auth/revoke", ""),
        ("GET", "/settings", "settings.read"),
        ("POST", "/settings/user", "settings.write"),
        ("GET", "/flows", "flows.read"),
        ("POST", "/flows", "flows.write"),
        ("GET", "/flow/:id", "flows.read"),
        ("DELETE", "/flow/:id", "flows.write"),
        ("GET", "/icons", "nodes.read"),
        ("GET", "/nodes", "nodes.read"),
        ("DELETE", "/context/*", "context.write"),
        ("POST", "/library/*", "library.write"),
        ("POST", "/inject/:id", "inject.write"),
        ("POST", "/debug/:id/:state", "debug.write"),
        ("GET", "/credentials/:type/:id", "credentials.read"),
        ("GET", "/some-new-route", "some-new-route.read"),  # unknown routes are not public
    ],
)
def test_route_permissions_follow_node_red(method, path, permission):
    assert permission_for(method, path) == permission


@pytest.mark.parametrize(
    "settings, refused",
    [
        ({}, False),
        ({"uiHost": "127.0.0.1"}, False),
        ({"uiHost": "::1"}, False),
        ({"uiHost": "0.0.0.0"}, True),
        ({"uiHost": "0.0.0.0", "adminAuth": {"type": "credentials", "users": []}}, False),
        ({"uiHost": "192.168.1.5", "editorWithoutAuth": True}, False),
    ],
)
def test_the_editor_is_not_served_beyond_loopback_without_admin_auth(settings, refused):
    problem = exposure_problem(settings)
    assert (problem is not None) == refused
    if refused:
        assert "adminAuth" in problem and "editorWithoutAuth" in problem


def test_flowrt_editor_hash_pw_prints_a_hash_node_red_accepts_too():
    import subprocess
    import sys

    import bcrypt

    result = subprocess.run(
        [sys.executable, "-m", "flowrt", "editor", "hash-pw"],
        input="s3cret pässword\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    hashed = result.stdout.strip()
    assert hashed.startswith("$2b$08$")
    assert bcrypt.checkpw("s3cret pässword".encode(), hashed.encode())
