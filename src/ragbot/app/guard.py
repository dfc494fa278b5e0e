"""ASGI middleware in front of Gradio: no fetching of URLs for clients, no huge request bodies.

Gradio's ``/gradio_api/file=<url>`` (and ``/proxy=<url>``) make the server download a public URL and
stream it back: on an office network that is an open proxy anyone who reaches the page can use.
ragbot never shows remote files, so those requests are refused before Gradio sees them.

API calls carry a question, the conversation and settings as JSON: a body over MAX_BODY_BYTES is
refused (413), so nobody can make the server parse and clean a 100 MB "question" while others wait.
File uploads are exempt here; Gradio caps them at max_upload_mb.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

# "/file=" or "/proxy=" followed by a scheme ("http:", "https:", "ftp:") or a protocol-relative "//".
MAX_BODY_BYTES = 1_000_000
_UPLOAD = re.compile(r"/upload/?$")
_REMOTE = re.compile(r"/(?:file|proxy)=\s*(?:[A-Za-z][A-Za-z0-9+.-]*:|//|\\\\)")


def asks_for_remote_file(path: str) -> bool:
    """True when a request path asks the server to fetch a URL (however often it is percent-encoded)."""
    for _ in range(3):
        if _REMOTE.search(path):
            return True
        decoded = unquote(path)
        if decoded == path:
            return False
        path = decoded
    return True  # still encoded after three rounds: nothing legitimate looks like that


async def _refuse(send: Any, status: int, message: str) -> None:
    body = message.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """Refuses URL fetches (403) and oversized API bodies (413); passes everything else through to Gradio."""

    def __init__(self, app: Any, max_body: int = MAX_BODY_BYTES) -> None:
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if asks_for_remote_file(path):
            await _refuse(send, 403, "File not allowed: ragbot does not fetch URLs.")
            return
        if _UPLOAD.search(path):
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.max_body:
            await _refuse(send, 413, f"Request too large: the limit is {self.max_body} bytes.")
            return
        received = 0

        async def counted() -> dict[str, Any]:  # a body sent without its length is cut off at the limit too
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            return {"type": "http.disconnect"} if received > self.max_body else message

        await self.app(scope, counted, send)
