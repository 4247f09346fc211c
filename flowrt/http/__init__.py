"""The HTTP server (aiohttp) and the live request/response objects flows hold; no engine imports."""
