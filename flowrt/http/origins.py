"""Which browser origins may use an endpoint (DNS-rebinding and cross-site protection)."""

from __future__ import annotations

from urllib.parse import urlsplit

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def origin_allowed(origin: str | None, allowed: list[str]) -> bool:
    """No Origin header (not a browser) passes; '*' allows all; 'localhost' any local origin.
    A malformed Origin is refused."""
    if not origin:
        return True
    if "*" in allowed or origin in allowed:
        return True
    if "localhost" in allowed:
        try:
            host = (urlsplit(origin).hostname or "").strip("[]").lower()
        except ValueError:
            return False
        return host in LOCAL_HOSTS
    return False
