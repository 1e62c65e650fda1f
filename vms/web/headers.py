"""Security headers on every answer: a content security policy everywhere (the API docs
included), HSTS when cookies are Secure, no sniffing, no framing, same-origin referrers.

Pages load only this app's own scripts and styles. The API docs (/docs, /redoc: Swagger UI
and ReDoc as FastAPI serves them) load their bundles from their CDN and carry one inline
script; their policy allows exactly those sources and that script, by its SHA-256, computed
from the page as it is sent (the page is small and buffered; nothing else is).
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'"
)
HSTS = b"max-age=31536000"
_DOCS_CDN = "https://cdn.jsdelivr.net"
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def docs_csp(html: bytes) -> str:
    """The policy of an API docs page: its CDN, its own inline scripts by hash, nothing else."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode()}'"
        for m in _INLINE_SCRIPT.finditer(html)
    )
    return (
        f"default-src 'none'; script-src {_DOCS_CDN} {hashes}; "
        f"style-src {_DOCS_CDN} https://fonts.googleapis.com 'unsafe-inline'; "
        "font-src https://fonts.gstatic.com data:; "
        "img-src 'self' data: https://fastapi.tiangolo.com; "
        "connect-src 'self'; worker-src blob:; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'none'"
    )


class SecurityHeaders:
    """Pure ASGI middleware: streams stay streams (only the API docs pages are buffered)."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = str(scope.get("path", "")).startswith(("/docs", "/redoc"))
        extra = [*_COMMON, *([(b"strict-transport-security", HSTS)] if self.hsts else [])]
        if not docs:

            async def with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    policy = (b"content-security-policy", CSP.encode())
                    message["headers"] = [*message.get("headers", []), *extra, policy]
                await send(message)

            await self.app(scope, receive, with_headers)
            return
        start: Message | None = None
        body = bytearray()

        async def buffered(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            policy = (b"content-security-policy", docs_csp(bytes(body)).encode())
            start["headers"] = [*start.get("headers", []), *extra, policy]
            await send(start)
            await send({"type": "http.response.body", "body": bytes(body)})

        await self.app(scope, receive, buffered)
