"""Who may call an MCP server: static bearer tokens, or an OAuth 2.1 resource server.

The mcp-server node's `auth` property chooses the mode (docs/security.md, "MCP server auth"):

- ``{type: bearer, tokenEnv: NAME | [NAMES]}``: each named environment variable holds one token;
  the `mcpTokens` setting (``{client name: token}``) adds more. Tokens are compared in constant
  time and never logged or shown; a missing or wrong token gets 401.
- ``{type: oauth, resource, authorizationServers, jwksUrl, ...}``: the MCP authorization spec
  (2025-06-18, 2025-11-25) for a resource server: the RFC 9728 protected-resource metadata document
  at ``/.well-known/oauth-protected-resource<resource path>``, RFC 6750 challenges
  (``WWW-Authenticate: Bearer resource_metadata="..."``; 401 without or with a bad token, 403
  ``insufficient_scope`` naming the required scopes), and JWT access tokens verified against the
  authorization server's JWKS (cached, fetched again for an unknown `kid`), with audience
  (RFC 8707: the token must be issued for this resource), issuer and expiry checks.

`build_authenticator(config, settings)` returns the authenticator (None without auth); the
transport awaits `check(method, path, headers)` before it handles a request and serves
`metadata_routes()` as JSON GET routes without auth.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import jwt

__all__ = [
    "AuthConfigError",
    "AuthOutcome",
    "Authenticator",
    "BearerTokenAuthenticator",
    "JwksCache",
    "OAuthResourceServer",
    "build_authenticator",
]

#: Signature algorithms accepted by default: public-key ones only (never "none" or HMAC, whose
#: key a JWKS would have to publish).
DEFAULT_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
MIN_TOKEN_LENGTH = 16
# RFC 6750 section 2.1: b64token
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class AuthConfigError(ValueError):
    """The `auth` property is unusable; the message names the property (never a token)."""


@dataclass
class AuthOutcome:
    """What `check` decided: `ok`, else the HTTP answer to send (status, headers, JSON body)."""

    ok: bool
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: dict | None = None
    claims: dict | None = None


class Authenticator:
    """The interface the MCP transport uses."""

    async def check(self, method: str, path: str, headers: Mapping[str, str]) -> AuthOutcome:
        raise NotImplementedError

    def metadata_routes(self) -> list[tuple[str, Callable[[], dict]]]:
        return []


# ---------------------------------------------------------------- config helpers


def _names(value: Any, key: str) -> list[str]:
    """A string, a space/comma separated string or a list of strings, as a list."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part for part in re.split(r"[\s,]+", value) if part]
    if isinstance(value, list | tuple) and all(isinstance(item, str) and item for item in value):
        return list(value)
    raise AuthConfigError(f"auth.{key} must be a string or a list of strings")


def _url(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise AuthConfigError(f"auth.{key} is required (an absolute http(s) URL)")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise AuthConfigError(f"auth.{key} must be an absolute http(s) URL without a fragment, not {value!r}")
    return value


def _number(config: Mapping, key: str, default: float) -> float:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise AuthConfigError(f"auth.{key} must be a number of seconds >= 0, not {value!r}")
    return float(value)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A request header whatever the mapping's key case (aiohttp's CIMultiDict or msg.req.headers)."""
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    return value


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _challenge(params: list[tuple[str, str]]) -> str:
    return "Bearer " + ", ".join(f"{name}={_quoted(value)}" for name, value in params)


class _Malformed:
    """An Authorization header that says Bearer but carries no well-formed token."""


_MALFORMED = _Malformed()


def _bearer_token(headers: Mapping[str, str]) -> str | _Malformed | None:
    """The token of `Authorization: Bearer <token>`; None without one (or with another scheme)."""
    value = _header(headers, "Authorization")
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    return token if _TOKEN68.fullmatch(token) else _MALFORMED


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


# ---------------------------------------------------------------- static bearer tokens


class BearerTokenAuthenticator(Authenticator):
    """Static tokens; `claims` of an accepted call are ``{"sub": <the token's name>}``."""

    def __init__(self, tokens: Mapping[str, str], realm: str = "mcp") -> None:
        # Only digests are kept: equal-length values for compare_digest, no token in memory dumps.
        self._digests = [(name, _digest(token)) for name, token in tokens.items()]
        self.realm = realm

    def __repr__(self) -> str:
        return f"BearerTokenAuthenticator({len(self._digests)} token(s))"

    async def check(self, method: str, path: str, headers: Mapping[str, str]) -> AuthOutcome:
        if method.upper() == "OPTIONS":  # CORS preflights carry no credentials
            return AuthOutcome(True)
        token = _bearer_token(headers)
        if token is None:
            return self._refuse(401, None, "a bearer token is required (Authorization: Bearer <token>)")
        if isinstance(token, _Malformed):
            return self._refuse(400, "invalid_request", "the Authorization header is malformed")
        digest = _digest(token)
        matched = None
        for name, known in self._digests:  # no early exit: every token is compared
            if hmac.compare_digest(known, digest):
                matched = name
        if matched is None:
            return self._refuse(401, "invalid_token", "the token is not valid")
        return AuthOutcome(True, claims={"sub": matched})

    def _refuse(self, status: int, error: str | None, description: str) -> AuthOutcome:
        params = [("realm", self.realm)]
        if error:
            params += [("error", error), ("error_description", description)]
        body = {"error": error or "unauthorized", "error_description": description}
        return AuthOutcome(False, status, {"WWW-Authenticate": _challenge(params)}, body)


def _static_tokens(config: Mapping, settings: Mapping | None) -> dict[str, str]:
    env_values = (settings or {}).get("env") or {}
    tokens: dict[str, str] = {}
    for name in _names(config.get("tokenEnv"), "tokenEnv"):
        value = os.environ.get(name)
        if value is None and isinstance(env_values, Mapping):
            value = env_values.get(name)
        if not value:
            raise AuthConfigError(f"auth.tokenEnv: environment variable {name} is not set")
        tokens[name] = value
    configured = (settings or {}).get("mcpTokens") or {}
    if isinstance(configured, list):
        configured = {f"mcpTokens[{i}]": value for i, value in enumerate(configured)}
    if not isinstance(configured, Mapping):
        raise AuthConfigError("the mcpTokens setting must map client names to tokens")
    for name, value in configured.items():
        if not isinstance(value, str) or not value:
            raise AuthConfigError(f"the mcpTokens setting: {name} must be a token string")
        tokens[str(name)] = value
    for name, value in tokens.items():
        if len(value) < MIN_TOKEN_LENGTH or not _TOKEN68.fullmatch(value):
            raise AuthConfigError(
                f"auth: the token in {name} must have at least {MIN_TOKEN_LENGTH} characters "
                "of A-Z a-z 0-9 - . _ ~ + / (e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
    if not tokens:
        raise AuthConfigError("auth type bearer needs tokens: name environment variables in auth.tokenEnv")
    return tokens


# ---------------------------------------------------------------- JWKS


class JwksUnavailable(Exception):
    """The key set could not be fetched and none is cached."""


class JwksCache:
    """The authorization server's signing keys by `kid`.

    Fetched on first use, again after `max_age` seconds, and at once when a token names a `kid`
    the set does not have (key rotation), but at most every `min_refresh` seconds, so that
    tokens with made-up kids cannot make the server hammer the authorization server. A failed
    fetch keeps the keys already known.
    """

    def __init__(self, url: str, max_age: float = 300.0, min_refresh: float = 30.0, timeout: float = 10.0):
        self.url = url
        self.max_age = max_age
        self.min_refresh = min_refresh
        self.timeout = timeout
        self.clock: Callable[[], float] = time.monotonic
        self._keys: dict[str | None, dict] = {}
        self._error: str | None = None  # why the last fetch failed
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def get(self, kid: str | None) -> dict | None:
        """The JWK (as a dict) for `kid`; a token without kid gets the set's only key.

        Raises JwksUnavailable when no key set could be fetched yet.
        """
        fetched = self._fetched_at
        age = None if fetched is None else self.clock() - fetched
        if age is None or age >= self.max_age or (self._find(kid) is None and age >= self.min_refresh):
            await self._refresh(fetched)
        if not self._keys and self._error:
            raise JwksUnavailable(self._error)
        return self._find(kid)

    def _find(self, kid: str | None) -> dict | None:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def _refresh(self, seen: float | None) -> None:
        async with self._lock:
            if self._fetched_at != seen:  # another request fetched while this one waited
                return
            try:
                self._keys, self._error = await self._fetch(), None
            except (aiohttp.ClientError, TimeoutError, ValueError) as err:
                self._error = f"cannot fetch the JWKS {self.url}: {err or type(err).__name__}"
            finally:
                self._fetched_at = self.clock()

    async def _fetch(self) -> dict[str | None, dict]:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(self.url) as response:
            if response.status != 200:
                raise ValueError(f"HTTP {response.status}")
            document = await response.json(content_type=None)
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise ValueError('not a JWK Set (no "keys" list)')
        usable = {}
        for key in keys:
            # signing keys of public-key types only (an "oct" key in a public set is a mistake)
            if (
                isinstance(key, dict)
                and key.get("use", "sig") == "sig"
                and key.get("kty") in ("RSA", "EC", "OKP")
            ):
                usable[key.get("kid")] = key
        return usable


# ---------------------------------------------------------------- OAuth 2.1 resource server


class OAuthResourceServer(Authenticator):
    """Accepts JWT access tokens issued for `resource` by the configured authorization servers."""

    def __init__(
        self,
        resource: str,
        authorization_servers: list[str],
        jwks: JwksCache,
        *,
        issuer: str | None = None,
        audiences: list[str] | None = None,
        scopes: list[str] | None = None,
        scopes_supported: list[str] | None = None,
        algorithms: list[str] | None = None,
        leeway: float = 30.0,
        resource_name: str | None = None,
        resource_documentation: str | None = None,
    ) -> None:
        self.resource = resource
        self.authorization_servers = authorization_servers
        self.jwks = jwks
        self.issuer = issuer
        self.audiences = audiences or [resource]
        self.scopes = scopes or []
        self.scopes_supported = scopes_supported if scopes_supported is not None else list(self.scopes)
        self.algorithms = algorithms or list(DEFAULT_ALGORITHMS)
        self.leeway = leeway
        self.resource_name = resource_name
        self.resource_documentation = resource_documentation
        parts = urlsplit(resource)
        # RFC 9728 section 3.1: the well-known segment goes between the host and the resource's path
        self.metadata_path = "/.well-known/oauth-protected-resource" + parts.path.rstrip("/")
        self.metadata_url = f"{parts.scheme}://{parts.netloc}{self.metadata_path}"

    def metadata(self) -> dict:
        """The RFC 9728 protected-resource metadata document."""
        document: dict[str, Any] = {
            "resource": self.resource,
            "authorization_servers": list(self.authorization_servers),
            "bearer_methods_supported": ["header"],
            "resource_signing_alg_values_supported": list(self.algorithms),
        }
        if self.scopes_supported:
            document["scopes_supported"] = list(self.scopes_supported)
        if self.resource_name:
            document["resource_name"] = self.resource_name
        if self.resource_documentation:
            document["resource_documentation"] = self.resource_documentation
        return document

    def metadata_routes(self) -> list[tuple[str, Callable[[], dict]]]:
        return [(self.metadata_path, self.metadata)]

    async def check(self, method: str, path: str, headers: Mapping[str, str]) -> AuthOutcome:
        if method.upper() == "OPTIONS" or path == self.metadata_path:
            return AuthOutcome(True)
        token = _bearer_token(headers)
        if token is None:
            return self._refuse(401, None, "a bearer access token is required")
        if isinstance(token, _Malformed):
            return self._refuse(400, "invalid_request", "the Authorization header is malformed")
        try:
            claims = await self._verify(token)
        except JwksUnavailable as err:
            body = {"error": "temporarily_unavailable", "error_description": str(err)}
            return AuthOutcome(False, 503, {"Retry-After": "30"}, body)
        except jwt.PyJWTError as err:
            return self._refuse(401, "invalid_token", _reason(err))
        missing = [scope for scope in self.scopes if scope not in _granted(claims)]
        if missing:
            wanted = self.scopes + [
                s for s in _granted(claims) if s in self.scopes_supported and s not in self.scopes
            ]
            return self._refuse(
                403, "insufficient_scope", "the token lacks scope " + " ".join(missing), wanted
            )
        return AuthOutcome(True, claims=claims)

    async def _verify(self, token: str) -> dict:
        header = jwt.get_unverified_header(token)
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise jwt.InvalidAlgorithmError(f"alg {alg!r} is not accepted")
        kid = header.get("kid")
        key_data = await self.jwks.get(kid if isinstance(kid, str) else None)
        if key_data is None:
            raise jwt.InvalidTokenError(
                "the token's signing key (kid) is not in the authorization server's JWKS"
            )
        try:
            key = jwt.PyJWK(key_data, None if key_data.get("alg") else alg)
        except jwt.PyJWTError:
            raise jwt.InvalidTokenError(f"the token's signing key cannot verify {alg}") from None
        return jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=self.audiences,
            issuer=self.issuer,
            leeway=self.leeway,
            options={"require": ["exp", "aud"] + (["iss"] if self.issuer else [])},
        )

    def _refuse(
        self, status: int, error: str | None, description: str, scopes: list[str] | None = None
    ) -> AuthOutcome:
        params = []
        if error:
            params.append(("error", error))
        scopes = self.scopes if scopes is None else scopes
        if scopes:
            params.append(("scope", " ".join(scopes)))
        params.append(("resource_metadata", self.metadata_url))
        if error:
            params.append(("error_description", description))
        body = {"error": error or "unauthorized", "error_description": description}
        return AuthOutcome(False, status, {"WWW-Authenticate": _challenge(params)}, body)


def _granted(claims: Mapping) -> list[str]:
    """Scopes of a token: `scope` (RFC 9068, space-separated) or `scp` (a list or a string)."""
    value = claims.get("scope", claims.get("scp"))
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _reason(err: jwt.PyJWTError) -> str:
    """A short reason for the client; never the token itself."""
    if isinstance(err, jwt.ExpiredSignatureError):
        return "the token has expired"
    if isinstance(err, jwt.InvalidAudienceError):
        return "the token was not issued for this resource (audience)"
    if isinstance(err, jwt.InvalidIssuerError):
        return "the token was issued by another issuer"
    if isinstance(err, jwt.ImmatureSignatureError):
        return "the token is not valid yet"
    if isinstance(err, jwt.InvalidSignatureError):
        return "the token's signature does not verify"
    if isinstance(err, jwt.MissingRequiredClaimError):
        return f"the token has no {err.claim!r} claim"
    if isinstance(err, jwt.DecodeError):
        return "the token is not a well-formed JWT"
    return str(err) or type(err).__name__


def _oauth(config: Mapping) -> OAuthResourceServer:
    resource = _url(config.get("resource"), "resource")
    servers = config.get("authorizationServers", config.get("authorizationServer"))
    servers = _names(servers, "authorizationServers")
    if not servers:
        raise AuthConfigError("auth.authorizationServers is required (the authorization server URL(s))")
    servers = [_url(server, "authorizationServers") for server in servers]
    issuer = config.get("issuer")
    if issuer is None and len(servers) == 1:
        issuer = servers[0]
    elif issuer is not None and not isinstance(issuer, str):
        raise AuthConfigError("auth.issuer must be a string")
    algorithms = _names(config.get("algorithms"), "algorithms") or list(DEFAULT_ALGORITHMS)
    refused = [alg for alg in algorithms if alg == "none" or alg.startswith("HS")]
    if refused:
        raise AuthConfigError(f"auth.algorithms: {', '.join(refused)} cannot be verified with a public JWKS")
    jwks = JwksCache(
        _url(config.get("jwksUrl"), "jwksUrl"),
        max_age=_number(config, "jwksCacheSeconds", 300),
        min_refresh=_number(config, "jwksMinRefreshSeconds", 30),
    )
    scopes = _names(config.get("scopes"), "scopes")
    supported = config.get("scopesSupported")
    return OAuthResourceServer(
        resource,
        servers,
        jwks,
        issuer=issuer or None,
        audiences=_names(config.get("audience"), "audience") or None,
        scopes=scopes,
        scopes_supported=_names(supported, "scopesSupported") if supported is not None else None,
        algorithms=algorithms,
        leeway=_number(config, "leeway", 30),
        resource_name=config.get("resourceName") or None,
        resource_documentation=config.get("resourceDocumentation") or None,
    )


def build_authenticator(config: dict | None, settings: Mapping | None) -> Authenticator | None:
    """The authenticator the `auth` property of an mcp-server node asks for; None for no auth.

    Raises AuthConfigError naming the property that is wrong.
    """
    if not config:
        return None
    if not isinstance(config, Mapping):
        raise AuthConfigError("auth must be an object with a type (bearer or oauth)")
    kind = config.get("type")
    if kind in (None, "", "none"):
        return None
    if kind == "bearer":
        realm = config.get("realm") or "mcp"
        return BearerTokenAuthenticator(_static_tokens(config, settings), realm=str(realm))
    if kind == "oauth":
        return _oauth(config)
    raise AuthConfigError(f"auth.type must be bearer, oauth or none, not {kind!r}")
