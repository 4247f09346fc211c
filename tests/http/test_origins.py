"""flowrt.http.origins.origin_allowed: the one Origin check of sse-session and the MCP transports."""

from flowrt.http.origins import origin_allowed


def test_origin_rules():
    assert origin_allowed(None, ["localhost"])  # not a browser
    assert origin_allowed("https://evil.example", ["*"])
    assert origin_allowed("https://app.example", ["https://app.example"])
    for local in ("http://localhost:3000", "http://127.0.0.1", "http://[::1]:8080", "http://LOCALHOST"):
        assert origin_allowed(local, ["localhost"]), local
    assert not origin_allowed("https://evil.example", ["localhost"])
    assert not origin_allowed("http://localhost.evil.example", ["localhost"])
    assert not origin_allowed("http://[::1", ["localhost"])  # malformed: refused, not an exception
    assert not origin_allowed("http://localhost", [])
