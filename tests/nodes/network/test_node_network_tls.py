"""`tls-config` (Node-RED's 05-tls.js, 5.x): the ssl.SSLContext other nodes take as `.context`.

Real TLS servers on 127.0.0.1 with a CA and certificates the test makes (tests/httpreq_servers.py);
the context is used by the http request node and, as MQTT / WebSocket nodes will, directly.
"""

from __future__ import annotations

import asyncio
import base64
import ssl

import aiohttp
import pytest
from httpreq_servers import TestServers, make_certs

from flowrt.testing import FlowTestHarness

pytest.importorskip("cryptography", reason="the tests make their certificates with `cryptography`")


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch):
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
async def srv(certs):
    servers = await TestServers(certs).start()
    yield servers
    await servers.stop()


def tls(**props) -> dict:
    return {"id": "t1", "type": "tls-config", **props}


async def fetch_with(h: FlowTestHarness, url: str) -> dict:
    h.node("n1").receive({"url": url})
    return await h.node("n2").next_input()


def with_request(tls_node: dict) -> list[dict]:
    return [
        tls_node,
        {"id": "n1", "type": "http request", "method": "GET", "ret": "txt", "tls": "t1", "wires": [["n2"]]},
        {"id": "n2", "type": "helper"},
    ]


async def test_ca_file_verifies_the_server_and_replaces_the_system_store(srv, certs):
    async with FlowTestHarness(
        with_request(tls(ca=str(certs["ca"]), verifyservercert=True)), http=False
    ) as h:
        ctx = h.runtime.get_node("t1").context
        assert isinstance(ctx, ssl.SSLContext)
        assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
        assert len(ctx.get_ca_certs()) == 1  # only the given CA, as Node's `ca` option
        msg = await fetch_with(h, srv.ssl_url("/text"))
        assert msg["payload"] == "hello"


async def test_without_ca_the_system_store_rejects_the_test_ca(srv):
    async with FlowTestHarness(with_request(tls(verifyservercert=True)), http=False) as h:
        msg = await fetch_with(h, srv.ssl_url("/text"))
        assert msg["statusCode"] == "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"


async def test_verifyservercert_false_accepts_an_unknown_issuer(srv):
    async with FlowTestHarness(with_request(tls(verifyservercert=False)), http=False) as h:
        assert h.runtime.get_node("t1").context.verify_mode == ssl.CERT_NONE
        assert (await fetch_with(h, srv.ssl_url("/text")))["payload"] == "hello"


async def test_client_certificate_from_credentials_data(srv, certs):
    creds = {
        "certdata": certs["cert"].read_text(),
        "keydata": certs["key"].read_text(),
        "cadata": certs["ca"].read_text(),
    }
    async with FlowTestHarness(with_request(tls(verifyservercert=True, credentials=creds)), http=False) as h:
        assert (await fetch_with(h, srv.client_cert_url("/getClientCert")))["payload"] == "hello"
    async with FlowTestHarness(with_request(tls(verifyservercert=False)), http=False) as h:
        assert (await fetch_with(h, srv.client_cert_url("/getClientCert")))["statusCode"] == 401


async def test_encrypted_key_file_with_passphrase(srv, certs):
    node = tls(
        cert=str(certs["cert"]),
        key=str(certs["key_encrypted"]),
        ca=str(certs["ca"]),
        verifyservercert=True,
        credentials={"passphrase": "secret"},
    )
    async with FlowTestHarness(with_request(node), http=False) as h:
        assert h.runtime.get_node("t1").valid
        assert (await fetch_with(h, srv.client_cert_url("/getClientCert")))["payload"] == "hello"


async def test_wrong_passphrase_is_an_error_and_the_node_stays_without_the_key(srv, certs):
    node = tls(
        cert=str(certs["cert"]),
        key=str(certs["key_encrypted"]),
        verifyservercert=False,
        credentials={"passphrase": "wrong"},
    )
    async with FlowTestHarness(with_request(node), http=False) as h:
        assert h.runtime.get_node("t1").valid is False
        assert [e for e, _ in h.node("t1").errors] == [
            "Error: cannot decrypt the private key: wrong or missing passphrase"
        ]
        # still usable: the server sees no client certificate
        assert (await fetch_with(h, srv.client_cert_url("/getClientCert")))["statusCode"] == 401


@pytest.mark.parametrize("source", ["file", "credentials", "encrypted"])
async def test_pfx_with_cert_type_pfx(srv, certs, source):
    if source == "file":
        node = tls(certType="pfx", p12=str(certs["pfx"]), verifyservercert=True)
    elif source == "credentials":
        data = base64.b64encode(certs["pfx"].read_bytes()).decode()
        node = tls(certType="pfx", verifyservercert=True, credentials={"p12data": data})
    else:
        node = tls(
            certType="pfx",
            p12=str(certs["pfx_encrypted"]),
            verifyservercert=True,
            credentials={"passphrase": "secret"},
        )
    async with FlowTestHarness(with_request(node), http=False) as h:
        assert h.runtime.get_node("t1").valid
        # the pfx brings the client certificate and (as Node does) its CA for the server check
        assert (await fetch_with(h, srv.client_cert_url("/getClientCert")))["payload"] == "hello"


async def test_pem_from_environment_variables_with_cert_type_env(srv, certs, monkeypatch):
    monkeypatch.setenv("TEST_CERT", certs["cert"].read_text())
    monkeypatch.setenv("TEST_KEY", certs["key"].read_text())
    monkeypatch.setenv("TEST_CA", certs["ca"].read_text())
    node = tls(certType="env", certEnv="TEST_CERT", keyEnv="TEST_KEY", caEnv="TEST_CA", verifyservercert=True)
    async with FlowTestHarness(with_request(node), http=False) as h:
        assert (await fetch_with(h, srv.client_cert_url("/getClientCert")))["payload"] == "hello"


async def test_cert_without_key_is_an_error(certs):
    async with FlowTestHarness([tls(cert=str(certs["cert"]), key="")], http=False) as h:
        node = h.runtime.get_node("t1")
        assert node.valid is False
        assert isinstance(node.context, ssl.SSLContext)
        assert [e for e, _ in h.node("t1").errors] == ["No certificate/key file provided"]


async def test_a_missing_file_is_an_error_naming_it(tmp_path):
    missing = tmp_path / "nope.crt"
    async with FlowTestHarness([tls(ca=str(missing))], http=False) as h:
        assert h.runtime.get_node("t1").valid is False
        assert [e for e, _ in h.node("t1").errors] == [
            f"Error: ENOENT: no such file or directory, open '{missing}'"
        ]


async def _tls_server(certs, alpn: list[str] | None, seen: list):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs["cert"], certs["key"])
    if alpn:
        ctx.set_alpn_protocols(alpn)
    ctx.sni_callback = lambda sock, name, _ctx: seen.append(name)

    async def answer(reader, writer):
        seen.append(writer.get_extra_info("ssl_object").selected_alpn_protocol())
        writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", 0, ssl=ctx)


async def test_servername_and_alpn_reach_the_server_when_the_context_is_used_directly(certs):
    seen: list = []
    server = await _tls_server(certs, ["mqtt", "http/1.1"], seen)
    port = server.sockets[0].getsockname()[1]
    node = tls(ca=str(certs["ca"]), servername="localhost", alpnprotocol="mqtt", verifyservercert=True)
    try:
        async with FlowTestHarness([node], http=False) as h:
            cfg = h.runtime.get_node("t1")
            assert cfg.servername == "localhost"
            # as an MQTT/WebSocket node would: connect to an IP, SNI and host check by servername
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=cfg.context, server_hostname=cfg.servername
            )
            assert writer.get_extra_info("ssl_object").selected_alpn_protocol() == "mqtt"
            await reader.read()
            writer.close()
    finally:
        server.close()
        await server.wait_closed()
    assert seen == ["localhost", "mqtt"]


async def test_http_request_passes_servername_as_sni(srv, certs):
    node = tls(ca=str(certs["ca"]), servername="localhost", verifyservercert=True)
    async with FlowTestHarness(with_request(node), http=False) as h:
        # 127.0.0.1 is in the certificate too; the server name decides SNI and the host check
        msg = await fetch_with(h, f"https://127.0.0.1:{srv.ssl_port}/text")
        assert msg["payload"] == "hello"
    node = tls(ca=str(certs["ca"]), servername="wrong.example", verifyservercert=True)
    async with FlowTestHarness(with_request(node), http=False) as h:
        msg = await fetch_with(h, f"https://127.0.0.1:{srv.ssl_port}/text")
        assert msg["statusCode"] == "ERR_TLS_CERT_ALTNAME_INVALID"


async def test_the_context_works_with_a_plain_aiohttp_client(srv, certs):
    async with FlowTestHarness([tls(ca=str(certs["ca"]), verifyservercert=True)], http=False) as h:
        ctx = h.runtime.get_node("t1").context
        async with aiohttp.ClientSession() as session, session.get(srv.ssl_url("/text"), ssl=ctx) as resp:
            assert await resp.text() == "hello"


async def test_an_encrypted_key_without_passphrase_is_an_error_not_a_prompt(certs):
    node = tls(cert=str(certs["cert"]), key=str(certs["key_encrypted"]))
    async with FlowTestHarness([node], http=False) as h:
        assert h.runtime.get_node("t1").valid is False
        (err, _), *_ = h.node("t1").errors
        assert err == "Error: cannot decrypt the private key: wrong or missing passphrase"
