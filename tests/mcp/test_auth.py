"""flowrt.mcp.auth: bearer tokens and the OAuth 2.1 resource server against a real JWKS endpoint.

The JWKS is served by an aiohttp test server; the keys are made with `cryptography` and the
tokens signed with PyJWT, as an authorization server would.
"""

from __future__ import annotations

import json
import time

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from flowrt.mcp.auth import AuthConfigError, AuthOutcome, build_authenticator

RESOURCE = "https://mcp.example.com/mcp"
ISSUER = "https://auth.example.com"
METADATA_URL = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"


class AuthorizationServer:
    """Signing keys and the JWKS document an aiohttp test server publishes."""

    def __init__(self) -> None:
        self.keys: dict[str, object] = {}  # kid -> private key
        self.published: list[str] = []  # kids in the JWKS
        self.requests = 0

    def add_key(self, kid: str, kind: str = "rsa") -> None:
        if kind == "rsa":
            self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self.keys[kid] = ec.generate_private_key(ec.SECP256R1())
        self.published.append(kid)

    def jwks(self) -> dict:
        keys = []
        for kid in self.published:
            private = self.keys[kid]
            if isinstance(private, rsa.RSAPrivateKey):
                jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
                jwk["alg"] = "RS256"
            else:
                jwk = json.loads(ECAlgorithm.to_jwk(private.public_key()))
            keys.append(jwk | {"kid": kid, "use": "sig"})
        return {"keys": keys}

    def token(self, kid: str = "k1", alg: str | None = None, **claims) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": RESOURCE, "sub": "alice", "iat": now, "exp": now + 600} | claims
        private = self.keys[kid]
        alg = alg or ("RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256")
        return jwt.encode(
            {k: v for k, v in body.items() if v is not None}, private, alg, headers={"kid": kid}
        )


@pytest.fixture
async def auth_server(aiohttp_server):
    server_state = AuthorizationServer()
    server_state.add_key("k1")

    async def jwks(request: web.Request) -> web.Response:
        server_state.requests += 1
        return web.json_response(server_state.jwks())

    app = web.Application()
    app.router.add_get("/jwks.json", jwks)
    server = await aiohttp_server(app)
    server_state.jwks_url = str(server.make_url("/jwks.json"))
    return server_state


def oauth(auth_server, **extra):
    config = {
        "type": "oauth",
        "resource": RESOURCE,
        "authorizationServers": [ISSUER],
        "jwksUrl": auth_server.jwks_url,
    }
    return build_authenticator(config | extra, {})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def test_good_token_is_accepted_with_its_claims(auth_server):
    auth = oauth(auth_server)
    outcome = await auth.check("POST", "/mcp", bearer(auth_server.token(scope="mcp:tools")))
    assert outcome.ok and outcome.status == 200
    assert outcome.claims["sub"] == "alice" and outcome.claims["scope"] == "mcp:tools"
    # the header name's case does not matter (msg.req.headers are lower-case)
    lower = await auth.check("POST", "/mcp", {"authorization": "bearer " + auth_server.token()})
    assert lower.ok


async def test_an_ec_key_without_alg_in_the_jwks_verifies_es256(auth_server):
    auth_server.add_key("ec1", "ec")
    outcome = await oauth(auth_server).check("POST", "/mcp", bearer(auth_server.token("ec1")))
    assert outcome.ok, outcome.body


async def test_missing_token_gets_401_with_the_resource_metadata_challenge(auth_server):
    auth = oauth(auth_server, scopes=["mcp:tools"])
    outcome = await auth.check("POST", "/mcp", {})
    assert (outcome.ok, outcome.status) == (False, 401)
    # RFC 6750 3.1: no error code when the request had no credentials
    assert outcome.headers["WWW-Authenticate"] == (
        f'Bearer scope="mcp:tools", resource_metadata="{METADATA_URL}"'
    )
    # another scheme is no bearer token either
    basic = await auth.check("POST", "/mcp", {"Authorization": "Basic YWxpY2U6c2VjcmV0"})
    assert basic.status == 401 and "error=" not in basic.headers["WWW-Authenticate"]
    assert auth_server.requests == 0  # no key needed to refuse


async def test_malformed_authorization_header_is_400_invalid_request(auth_server):
    outcome = await oauth(auth_server).check("POST", "/mcp", {"Authorization": "Bearer a b"})
    assert outcome.status == 400
    assert 'error="invalid_request"' in outcome.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "https://other.example.com/mcp"}, "audience"),
        ({"aud": None}, "'aud'"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"exp": None}, "'exp'"),
        ({"iss": "https://evil.example.com"}, "issuer"),
        ({"nbf": int(time.time()) + 3600}, "not valid yet"),
    ],
    ids=["wrong-audience", "no-audience", "expired", "no-expiry", "wrong-issuer", "not-yet-valid"],
)
async def test_invalid_tokens_get_401_invalid_token(auth_server, claims, reason):
    token = auth_server.token(**claims)
    outcome = await oauth(auth_server).check("POST", "/mcp", bearer(token))
    assert (outcome.ok, outcome.status) == (False, 401)
    header = outcome.headers["WWW-Authenticate"]
    assert header.startswith('Bearer error="invalid_token", ')
    assert f'resource_metadata="{METADATA_URL}"' in header
    assert reason in outcome.body["error_description"]
    assert token not in header + json.dumps(outcome.body)


async def test_forged_signature_and_refused_algorithms(auth_server):
    auth = oauth(auth_server)
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {"iss": ISSUER, "aud": RESOURCE, "exp": int(time.time()) + 60}
    forged = jwt.encode(claims, attacker, "RS256", headers={"kid": "k1"})
    outcome = await auth.check("POST", "/mcp", bearer(forged))
    assert outcome.status == 401 and "signature" in outcome.body["error_description"]
    unsigned = jwt.encode({"iss": ISSUER, "aud": RESOURCE, "exp": int(time.time()) + 60}, None, "none")
    outcome = await auth.check("POST", "/mcp", bearer(unsigned))
    assert outcome.status == 401 and "'none' is not accepted" in outcome.body["error_description"]
    hmac_token = jwt.encode(
        {"iss": ISSUER, "aud": RESOURCE, "exp": int(time.time()) + 60},
        "a-shared-secret-of-32-bytes-length!!",
        "HS256",
        headers={"kid": "k1"},
    )
    assert (await auth.check("POST", "/mcp", bearer(hmac_token))).status == 401


async def test_unknown_kid_fetches_the_jwks_again(auth_server):
    auth = oauth(auth_server, jwksMinRefreshSeconds=0)
    assert (await auth.check("POST", "/mcp", bearer(auth_server.token()))).ok
    assert auth_server.requests == 1
    assert (await auth.check("POST", "/mcp", bearer(auth_server.token()))).ok
    assert auth_server.requests == 1  # cached
    auth_server.add_key("k2")  # the authorization server rotates its keys
    outcome = await auth.check("POST", "/mcp", bearer(auth_server.token("k2")))
    assert outcome.ok, outcome.body
    assert auth_server.requests == 2


async def test_refetches_for_unknown_kids_are_rate_limited(auth_server):
    auth = oauth(auth_server, jwksMinRefreshSeconds=30)
    now = [1000.0]
    auth.jwks.clock = lambda: now[0]
    assert (await auth.check("POST", "/mcp", bearer(auth_server.token()))).ok
    auth_server.add_key("k2")
    auth_server.published.remove("k2")  # signs with a kid the JWKS does not publish
    for _ in range(5):
        outcome = await auth.check("POST", "/mcp", bearer(auth_server.token("k2")))
        assert outcome.status == 401 and "kid" in outcome.body["error_description"]
    assert auth_server.requests == 1  # made-up kids do not hammer the authorization server
    auth_server.published.append("k2")
    now[0] += 31
    assert (await auth.check("POST", "/mcp", bearer(auth_server.token("k2")))).ok
    assert auth_server.requests == 2


async def test_unreachable_jwks_is_503_not_a_pass(auth_server, unused_tcp_port):
    auth = oauth(auth_server, jwksUrl=f"http://127.0.0.1:{unused_tcp_port}/jwks.json")
    for _ in range(2):  # the second request, before a refetch is due, still says why
        outcome = await auth.check("POST", "/mcp", bearer(auth_server.token()))
        assert (outcome.ok, outcome.status) == (False, 503)
        assert outcome.body["error"] == "temporarily_unavailable"
        assert "cannot fetch the JWKS" in outcome.body["error_description"]
    auth.jwks.url = auth_server.jwks_url  # the authorization server is back
    auth.jwks.min_refresh = 0
    assert (await auth.check("POST", "/mcp", bearer(auth_server.token()))).ok


async def test_a_failed_refetch_keeps_the_known_keys(auth_server, unused_tcp_port):
    auth = oauth(auth_server, jwksCacheSeconds=0)  # every check fetches again
    assert (await auth.check("POST", "/mcp", bearer(auth_server.token()))).ok
    auth.jwks.url = f"http://127.0.0.1:{unused_tcp_port}/jwks.json"
    assert (await auth.check("POST", "/mcp", bearer(auth_server.token()))).ok


async def test_insufficient_scope_is_403_naming_the_required_scopes(auth_server):
    auth = oauth(
        auth_server,
        scopes="mcp:tools mcp:resources",
        scopesSupported=["mcp:tools", "mcp:resources", "profile"],
    )
    outcome = await auth.check("POST", "/mcp", bearer(auth_server.token(scope="profile mcp:tools")))
    assert (outcome.ok, outcome.status) == (False, 403)
    assert outcome.headers["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", scope="mcp:tools mcp:resources profile", '
        f'resource_metadata="{METADATA_URL}", error_description="the token lacks scope mcp:resources"'
    )
    ok = await auth.check("POST", "/mcp", bearer(auth_server.token(scp=["mcp:resources", "mcp:tools"])))
    assert ok.ok


async def test_protected_resource_metadata_document(auth_server):
    auth = oauth(auth_server, scopes=["mcp:tools"], resourceName="Flowrt tools")
    [(path, document)] = auth.metadata_routes()
    assert path == "/.well-known/oauth-protected-resource/mcp"
    assert document() == {
        "resource": RESOURCE,
        "authorization_servers": [ISSUER],
        "bearer_methods_supported": ["header"],
        "resource_signing_alg_values_supported": list(auth.algorithms),
        "scopes_supported": ["mcp:tools"],
        "resource_name": "Flowrt tools",
    }
    json.dumps(document())  # JSON as it is
    # the metadata itself and CORS preflights need no token
    assert (await auth.check("GET", path, {})).ok
    assert (await auth.check("OPTIONS", "/mcp", {})).ok


async def test_resource_at_the_root_has_its_metadata_at_the_root(auth_server):
    auth = oauth(auth_server, resource="https://mcp.example.com")
    assert [path for path, _ in auth.metadata_routes()] == ["/.well-known/oauth-protected-resource"]


async def test_audience_may_be_configured(auth_server):
    auth = oauth(auth_server, audience=["api://flowrt"])
    assert (await auth.check("POST", "/mcp", bearer(auth_server.token(aud="api://flowrt")))).ok
    assert (await auth.check("POST", "/mcp", bearer(auth_server.token()))).status == 401


# ---------------------------------------------------------------- static bearer tokens

TOKEN = "s3cr3t-token-for-the-tests-0123456789"


async def test_bearer_token_from_the_environment(monkeypatch):
    monkeypatch.setenv("FLOWRT_TEST_MCP_TOKEN", TOKEN)
    auth = build_authenticator({"type": "bearer", "tokenEnv": "FLOWRT_TEST_MCP_TOKEN"}, {})
    outcome = await auth.check("POST", "/mcp", bearer(TOKEN))
    assert outcome == AuthOutcome(True, 200, {}, None, {"sub": "FLOWRT_TEST_MCP_TOKEN"})
    wrong = await auth.check("POST", "/mcp", bearer(TOKEN + "x"))
    assert wrong.status == 401
    assert wrong.headers["WWW-Authenticate"] == (
        'Bearer realm="mcp", error="invalid_token", error_description="the token is not valid"'
    )
    missing = await auth.check("POST", "/mcp", {})
    assert (missing.status, missing.headers["WWW-Authenticate"]) == (401, 'Bearer realm="mcp"')
    assert TOKEN not in repr(auth) + repr(vars(auth))


async def test_bearer_tokens_from_settings_name_the_client(monkeypatch):
    settings = {"mcpTokens": {"ci": TOKEN, "laptop": TOKEN[::-1]}}
    auth = build_authenticator({"type": "bearer"}, settings)
    assert (await auth.check("POST", "/mcp", bearer(TOKEN[::-1]))).claims == {"sub": "laptop"}
    # the settings' env values count as environment too
    auth = build_authenticator({"type": "bearer", "tokenEnv": ["A_TOKEN"]}, {"env": {"A_TOKEN": TOKEN}})
    assert (await auth.check("POST", "/mcp", bearer(TOKEN))).ok


@pytest.mark.parametrize(
    ("config", "settings", "message"),
    [
        ({"type": "bearer", "tokenEnv": "FLOWRT_TEST_UNSET_VAR"}, {}, "FLOWRT_TEST_UNSET_VAR is not set"),
        ({"type": "bearer"}, {}, "needs tokens"),
        ({"type": "bearer"}, {"mcpTokens": {"ci": "short"}}, "at least 16 characters"),
        (
            {"type": "oauth", "authorizationServers": [ISSUER], "jwksUrl": ISSUER},
            {},
            "auth.resource is required",
        ),
        ({"type": "oauth", "resource": RESOURCE, "jwksUrl": ISSUER}, {}, "auth.authorizationServers"),
        ({"type": "oauth", "resource": RESOURCE, "authorizationServers": ISSUER}, {}, "auth.jwksUrl"),
        (
            {"type": "oauth", "resource": "mcp", "authorizationServers": ISSUER, "jwksUrl": ISSUER},
            {},
            "absolute",
        ),
        (
            {
                "type": "oauth",
                "resource": RESOURCE,
                "authorizationServers": ISSUER,
                "jwksUrl": ISSUER,
                "algorithms": ["HS256"],
            },
            {},
            "HS256",
        ),
        ({"type": "magic"}, {}, "auth.type must be"),
    ],
)
def test_bad_config_is_a_clear_error(config, settings, message):
    with pytest.raises(AuthConfigError, match=message) as caught:
        build_authenticator(config, settings)
    for token in (settings.get("mcpTokens") or {}).values():
        assert token not in str(caught.value)


def test_no_auth():
    assert build_authenticator(None, {}) is None
    assert build_authenticator({}, {}) is None
    assert build_authenticator({"type": "none"}, {}) is None
