"""`adminAuth`: who may use the editor and the admin API, as Node-RED's editor-api/lib/auth.

Settings (Node-RED's names and shapes):

    adminAuth:
      type: credentials
      users:                           # or one user; or a callable username -> user (Python settings)
        - username: admin
          password: "$2b$08$..."       # a bcrypt hash (`flowrt hash-pw`, node-red admin hash-pw)
          permissions: "*"             # "*", "read", or a list of permissions such as flows.write
      default: {permissions: read}     # what a client without a token may do (anonymous user)
      sessionExpiryTime: 604800        # seconds a login token lives (one week)
      tokens:                          # fixed API tokens: [{token, user, scope}]; or a callable
        - {token: "...", user: admin, scope: "*"}  # token -> user (with a `tokenHeader`)

A login (`POST /auth/token`, OAuth2 password grant, clients `node-red-editor` and `node-red-admin`)
gives a random bearer token; the sessions live in `<userDir>/.sessions.json` as Node-RED keeps them.
Each admin route needs a permission (`flows.read`, `flows.write`, ...; PERMISSIONS below); a request
without it gets 401, as Node-RED answers both "no token" and "not allowed". The editor's page, its
files, `/theme`, `/locales`, node icons and `/auth/login|token` need none; `/comms` checks the token
the editor sends in its first message (see comms.py).
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import bcrypt
from aiohttp import web

CLIENTS = {"node-red-editor": "not_available", "node-red-admin": "not_available"}
SESSIONS_FILE = ".sessions.json"
DEFAULT_SESSION_EXPIRY = 604800  # one week, in seconds
LOGIN_WINDOW_MS = 600_000  # failed logins are counted over 10 minutes
LOGIN_ATTEMPTS = 5
BEARER_CHALLENGE = 'Bearer realm="Users"'
#: where a guarded request keeps its user (aiohttp >= 3.12 wants a typed key)
USER_KEY: Any = web.RequestKey("flowrt.user", dict) if hasattr(web, "RequestKey") else "flowrt.user"

_READ = re.compile(r"^((.+)\.)?read$")
_WRITE = re.compile(r"^((.+)\.)?write$")


class AdminAuthError(ValueError):
    """adminAuth settings that cannot work (the message names the setting)."""


def has_permission(scope: Any, permission: Any) -> bool:
    """Node-RED's permissions.hasPermission: `*` is everything, `read` every `*.read`, `write`
    every `*.write`; a list of scopes allows what any of them allows; a list of permissions needs all."""
    if permission == "":
        return True
    if isinstance(permission, list):
        return all(has_permission(scope, p) for p in permission)
    if isinstance(scope, list):
        return any(has_permission(s, permission) for s in scope)
    if scope == "*" or scope == permission:
        return True
    text = permission if isinstance(permission, str) else ""
    if scope in ("read", "*.read"):
        return _READ.match(text) is not None
    if scope in ("write", "*.write"):
        return _WRITE.match(text) is not None
    return False


# ---------------------------------------------------------------------- route permissions

#: first path segment -> the permission family Node-RED's routes use
_FAMILY = {"flow": "flows", "icons": "nodes"}
#: (method, path) pairs anyone may use: the editor page and its files, login
PUBLIC = {
    ("GET", "/"),
    ("GET", "/theme"),
    ("GET", "/favicon.ico"),
    ("GET", "/auth/login"),
    ("POST", "/auth/token"),
    ("GET", "/comms"),  # the WebSocket checks its own first message
}
_PUBLIC_PREFIXES = ("/red/", "/vendor/", "/types/", "/locales/", "/debug/view/", "/icons/", "/resources/")


def permission_for(method: str, path: str) -> str | None:
    """The permission an admin route needs (None: public), as Node-RED's needsPermission calls:
    `<family>.read` for GET, `<family>.write` for the rest; `/auth/revoke` needs a login ("")."""
    method = method.upper()
    if (method, path) in PUBLIC or (method == "GET" and path.startswith(_PUBLIC_PREFIXES)):
        return None
    if path == "/auth/revoke":
        return ""
    segment = path.strip("/").split("/", 1)[0]
    family = _FAMILY.get(segment, segment)
    return f"{family}.{'read' if method in ('GET', 'HEAD') else 'write'}"


def exposure_problem(settings: Mapping[str, Any]) -> str | None:
    """Why the editor must not be served with these settings: it deploys code, so on an address
    other than loopback it needs adminAuth, unless `editorWithoutAuth: true` says so."""
    host = str(settings.get("uiHost") or "127.0.0.1").strip("[]").lower()
    if host in ("localhost", "::1") or host.startswith("127.") or settings.get("adminAuth"):
        return None
    if settings.get("editorWithoutAuth") is True:
        return None
    return (
        f"--editor on {host}: the editor can deploy any code, and uiHost is not a loopback address; "
        "set adminAuth (users with bcrypt password hashes, see docs/security.md), or bind to 127.0.0.1, "
        "or set editorWithoutAuth: true if something in front of flowrt authenticates"
    )


# ---------------------------------------------------------------------- users


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _clean(user: Mapping[str, Any] | None) -> dict | None:
    if not user:
        return None
    return {k: v for k, v in user.items() if k != "password"}


class Users:
    """Node-RED's auth/users: the configured users, the anonymous default user, a token hook."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.users: dict[str, dict] = {}
        self._get: Callable[[str], Any] | None = None
        self._authenticate: Callable[..., Any] | None = None
        self._default = config.get("default")
        self._tokens = config.get("tokens") if callable(config.get("tokens")) else None
        header = config.get("tokenHeader")
        self.token_header = (
            (header.lower() if isinstance(header, str) and header else "authorization")
            if self._tokens
            else None
        )
        users = config.get("users")
        if config.get("type") in ("credentials", "strategy") and users:
            if callable(users):
                self._get = users
            else:
                for index, user in enumerate(users if isinstance(users, list) else [users]):
                    self.users[_checked_user(user, index)] = dict(user)
        if callable(config.get("authenticate")):
            self._authenticate = config["authenticate"]

    async def get(self, username: Any) -> dict | None:
        if self._get is not None:
            return _clean(await _maybe_await(self._get(username)))
        return _clean(self.users.get(username)) if isinstance(username, str) else None

    async def authenticate(self, username: str, password: str) -> dict | None:
        """The user (without its password hash) when the password matches its bcrypt hash."""
        if self._authenticate is not None:
            return _clean(await _maybe_await(self._authenticate(username, password)))
        user = self.users.get(username) if self._get is None else await _maybe_await(self._get(username))
        if not user:
            return None
        hashed = user.get("password")
        if not isinstance(hashed, str) or not isinstance(password, str):
            return None
        matches = await asyncio.to_thread(_bcrypt_matches, password, hashed)  # ~50 ms of CPU
        return _clean(user) if matches else None

    async def default(self) -> dict | None:
        """The anonymous user of `default`, or None: every request then needs a token."""
        if callable(self._default):
            return await _maybe_await(self._default())
        if isinstance(self._default, Mapping):
            return {"anonymous": True, "permissions": self._default.get("permissions")}
        return None

    async def tokens(self, token: str) -> dict | None:
        if self._tokens is None:
            return None
        return await _maybe_await(self._tokens(token))


def _bcrypt_matches(password: str, hashed: str) -> bool:
    try:  # bcrypt uses 72 bytes of a password; bcryptjs drops the rest, bcrypt 5 would refuse it
        return bcrypt.checkpw(password.encode("utf-8")[:72], hashed.encode("utf-8"))
    except ValueError:  # not a bcrypt hash
        return False


def _checked_user(user: Any, index: int) -> str:
    where = f"adminAuth.users[{index}]"
    if not isinstance(user, Mapping) or not isinstance(user.get("username"), str) or not user["username"]:
        raise AdminAuthError(f"{where}: a user needs a username")
    hashed = user.get("password")
    if not isinstance(hashed, str) or not re.match(r"^\$2[abxy]?\$\d\d\$.{53}$", hashed):
        raise AdminAuthError(
            f"{where} ({user['username']}): password must be a bcrypt hash ($2b$...), "
            "as `node-red admin hash-pw` prints"
        )
    if not isinstance(user.get("permissions"), (str, list)):
        raise AdminAuthError(f'{where} ({user["username"]}): permissions must be "*", "read" or a list')
    return user["username"]


def hash_password(password: str, rounds: int = 8) -> str:
    """A bcrypt hash for adminAuth.users[].password (Node-RED's hash-pw uses 8 rounds)."""
    return bcrypt.hashpw(password.encode("utf-8")[:72], bcrypt.gensalt(rounds)).decode("ascii")


# ---------------------------------------------------------------------- tokens


class Tokens:
    """Node-RED's auth/tokens: login sessions (persisted in `.sessions.json`) and fixed API tokens."""

    def __init__(
        self, config: Mapping[str, Any], sessions_file: Path | None, clock: Callable[[], float] = time.time
    ) -> None:
        self.expiry = float(config.get("sessionExpiryTime") or DEFAULT_SESSION_EXPIRY)
        self.file = sessions_file
        self.clock = clock
        self.api_tokens: dict[str, dict] = {}
        if isinstance(config.get("tokens"), list):
            for entry in config["tokens"]:
                if isinstance(entry, Mapping) and isinstance(entry.get("token"), str):
                    self.api_tokens[entry["token"]] = {"user": entry.get("user"), "scope": entry.get("scope")}
        self._sessions: dict[str, dict] | None = None

    def _now_ms(self) -> float:
        return self.clock() * 1000

    @property
    def sessions(self) -> dict[str, dict]:
        if self._sessions is None:  # loaded when first needed, as Node-RED
            self._sessions = self._read()
            self._expire()
        return self._sessions

    def get(self, token: Any) -> dict | None:
        if not isinstance(token, str):
            return None
        if token in self.api_tokens:
            return self.api_tokens[token]
        session = self.sessions.get(token)
        if session is not None and session.get("expires", 0) < self._now_ms():
            self._expire()
            return None
        return session

    def create(self, user: str, client: str, scope: Any) -> dict:
        token = base64.b64encode(secrets.token_bytes(128)).decode("ascii")
        session = {
            "user": user,
            "client": client,
            "scope": scope,
            "accessToken": token,
            "expires": int(self._now_ms() + self.expiry * 1000),
        }
        self.sessions[token] = session
        self._save()
        return {"accessToken": token, "expires_in": int(self.expiry)}

    def revoke(self, token: Any) -> None:
        if isinstance(token, str) and self.sessions.pop(token, None) is not None:
            self._save()

    def _expire(self) -> None:
        now = self._now_ms()
        sessions = self._sessions or {}
        gone = [t for t, s in sessions.items() if not isinstance(s, dict) or s.get("expires", 0) < now]
        for token in gone:
            del sessions[token]
        if gone:
            self._save()

    def _read(self) -> dict[str, dict]:
        if self.file is None:
            return {}
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # Node-RED resets a missing or corrupt sessions file
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self) -> None:
        if self.file is None:
            return
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_name(f".{self.file.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(self._sessions or {}, out)
        os.replace(tmp, self.file)


# ---------------------------------------------------------------------- the login and its checks


class TokenError(Exception):
    """An OAuth2 token endpoint error, answered `{error, error_description}` (oauth2orize's shape)."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status, self.code = status, code


class AdminAuth:
    """The adminAuth of one runtime: users, tokens, the login routes and the permission checks."""

    def __init__(self, settings: Mapping[str, Any], clock: Callable[[], float] = time.time) -> None:
        config = settings.get("adminAuth")
        if config is not None and not isinstance(config, Mapping):
            raise AdminAuthError("adminAuth must be a mapping (type, users, default, ...)")
        self.config: Mapping[str, Any] = config or {}
        self.enabled = config is not None
        if self.config.get("type") == "strategy":
            raise AdminAuthError("adminAuth.type strategy (Passport strategies) is not supported by flowrt")
        self.settings = settings
        self.clock = clock
        self.users = Users(self.config)
        user_dir = Path(settings.get("userDir") or Path.home() / ".flowrt")
        self.tokens = Tokens(self.config, user_dir / SESSIONS_FILE if self.enabled else None, clock)
        self._attempts: list[tuple[float, str]] = []
        self.refuse_write: Callable | None = None  # the admin API's Origin check, for the login posts

    # -------------------------------------------------------------- who is asking

    async def identify(self, request: web.BaseRequest) -> tuple[dict, Any] | None:
        """(user, scope) as Node-RED's strategies in order: bearer token, the `tokens` hook, the
        anonymous default user; None when none applies."""
        token = _bearer(request)
        if token is not None:
            found = await self.user_of_token(token)
            if found is not None:
                return found
        if self.users.token_header is not None:
            custom = _custom_token(request, self.users.token_header)
            user = await self.users.tokens(custom) if custom else None
            if user:
                return user, user.get("permissions")
        anonymous = await self.users.default()
        return (anonymous, anonymous.get("permissions")) if isinstance(anonymous, Mapping) else None

    async def user_of_token(self, token: str) -> tuple[dict, Any] | None:
        """(user, scope) of a login or API token (the bearer strategy, and /comms' auth message)."""
        info = self.tokens.get(token)
        if info is not None:
            user = await self.users.get(info.get("user"))
            return (user, info.get("scope")) if user else None
        user = await self.users.tokens(token)
        return (user, user.get("permissions")) if user else None

    def guard(self, permission: str, handler: Callable) -> Callable:
        """`handler` behind Node-RED's needsPermission(permission)."""

        async def guarded(request: web.BaseRequest, params: dict) -> web.StreamResponse:
            found = await self.identify(request)
            if found is None or not has_permission(found[1], permission):
                return web.Response(
                    status=401, text="Unauthorized", headers={"WWW-Authenticate": BEARER_CHALLENGE}
                )
            request[USER_KEY] = found[0]
            return await handler(request, params)

        return guarded

    def protect(self, add_route: Callable) -> Callable:
        """A route adder that puts every route behind its permission (permission_for); `add_route`
        itself when adminAuth is off."""
        if not self.enabled:
            return add_route

        def add(method: str, path: str, handler: Callable, *rest: Any) -> Any:
            permission = permission_for(method, path)
            return add_route(
                method, path, handler if permission is None else self.guard(permission, handler), *rest
            )

        return add

    # -------------------------------------------------------------- the routes

    async def login(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        """`GET /auth/login`: what the editor's login dialog asks for ({} without adminAuth)."""
        info: dict[str, Any] = {}
        if self.config.get("type") == "credentials":
            info = {
                "type": "credentials",
                "prompts": [
                    {"id": "username", "type": "text", "label": "user.username"},
                    {"id": "password", "type": "password", "label": "user.password"},
                ],
            }
        login_theme = (self.settings.get("editorTheme") or {}).get("login") or {}
        if self.enabled and isinstance(login_theme, Mapping):
            if login_theme.get("image"):
                info["image"] = login_theme["image"]
            if login_theme.get("message"):
                info["loginMessage"] = login_theme["message"]
        return _json(info)

    async def token(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        """`POST /auth/token`: the OAuth2 password grant of Node-RED's oauth2orize server."""
        if self.config.get("type") != "credentials":
            return web.Response(status=404, text="Not Found")
        refused = self.refuse_write(request) if self.refuse_write is not None else None
        if refused is not None:  # a page elsewhere may not try passwords (or log a browser in)
            return refused
        body = await _form(request)
        client = body.get("client_id")
        if CLIENTS.get(client) is None or CLIENTS[client] != (body.get("client_secret") or "not_available"):
            return web.Response(status=401, text="Unauthorized")
        try:
            if body.get("grant_type") != "password":
                raise TokenError(
                    501, "unsupported_grant_type", f"Unsupported grant type: {body.get('grant_type')}"
                )
            token, expires_in = await self.password_exchange(
                client, body.get("username"), body.get("password"), body.get("scope")
            )
        except TokenError as err:
            return _json({"error": err.code, "error_description": str(err)}, err.status)
        answer: dict[str, Any] = {"access_token": token}
        if expires_in is not None:
            answer["expires_in"] = expires_in
        answer["token_type"] = "Bearer"
        return _json(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def password_exchange(
        self, client: str, username: Any, password: Any, scope: Any
    ) -> tuple[str, Any]:
        """Node-RED's passwordTokenExchange: (access token, expires_in) or a TokenError."""
        if not username:
            raise TokenError(400, "invalid_request", "Missing required parameter: username")
        if not password:
            raise TokenError(400, "invalid_request", "Missing required parameter: password")
        scopes: Any = scope
        if isinstance(scope, str) and scope:
            scopes = scope.split(" ") if " " in scope else [scope]
        now = self.clock() * 1000
        self._attempts = [(t, u) for t, u in self._attempts if t + LOGIN_WINDOW_MS > now]
        self._attempts.append((now, username))
        if sum(1 for _, u in self._attempts if u == username) > LOGIN_ATTEMPTS:
            raise TokenError(500, "server_error", "Too many login attempts. Wait 10 minutes and try again")
        user = await self.users.authenticate(username, password)
        invalid = TokenError(403, "invalid_grant", "Invalid resource owner credentials")
        if user is None:
            raise invalid
        if scopes == "" or scopes is None:
            scopes = user.get("permissions")
        if not has_permission(user.get("permissions"), scopes):
            raise invalid
        self._attempts = [(t, u) for t, u in self._attempts if u != username]
        if user.get("token"):
            return user["token"], None
        created = self.tokens.create(username, client, scopes)
        return created["accessToken"], created["expires_in"]

    async def revoke(self, request: web.BaseRequest, params: dict) -> web.StreamResponse:
        """`POST /auth/revoke` (token=...): the session ends (the editor's logout)."""
        body = await _form(request)
        self.tokens.revoke(body.get("token"))
        redirect = ((self.settings.get("editorTheme") or {}).get("logout") or {}).get("redirect")
        return _json({"redirect": redirect}) if redirect else web.Response(status=200)

    def settings_user(self, request: web.BaseRequest) -> dict | None:
        """The `user` of `GET /settings`: the fields the editor shows, for the request's user."""
        user = request.get(USER_KEY) if self.enabled else None
        if not user:
            return None
        return {k: user[k] for k in ("anonymous", "username", "image", "permissions") if k in user}


def _json(data: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(data), content_type="application/json", headers=headers
    )


def _bearer(request: web.BaseRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query.get("access_token") or None


def _custom_token(request: web.BaseRequest, header: str) -> str | None:
    if header == "authorization":
        value = request.headers.get("Authorization", "")
        parts = value.split(" ")
        return parts[1] if len(parts) > 1 and parts[0] == "Bearer" else None
    return request.headers.get(header) or None


async def _form(request: web.BaseRequest) -> dict[str, Any]:
    """A login request's fields: form-encoded (the editor) or JSON (node-red-admin)."""
    if not request.can_read_body:
        return {}
    if request.content_type == "application/json":
        try:
            data = json.loads((await request.content.read(64 * 1024)).decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}
