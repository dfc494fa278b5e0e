"""Who is calling the HTTP API: HTTP Basic, ``Authorization: Bearer name:password`` (an OpenAI client's API key), or the
page's login cookie; checked against the users (app/roles.py) by ApiLogin, a FastAPI dependency. RevokeRemoved ends the
page session of a user removed from the users file, at that session's next request."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import Request
from starlette.requests import HTTPConnection

from ragbot.app.api_errors import ApiError
from ragbot.app.roles import Users

LOGIN_HELP = "log in with HTTP Basic auth (curl -u name:password) or the header `Authorization: Bearer name:password`"


def credentials(request: Request) -> tuple[str, str] | None:
    """(name, password) from `Authorization: Basic ...` or `Authorization: Bearer name:password`, else None."""
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            value = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
    elif scheme.lower() != "bearer":
        return None
    name, colon, password = value.partition(":")
    return (name, password) if colon else None


def page_tokens(connection: HTTPConnection) -> tuple[dict[str, str], list[str]]:
    """Gradio's logged-in tokens (token -> user name) and this request's login cookies (when served inside Gradio's app)."""
    app = connection.scope.get("app")
    tokens, cookie_id = getattr(app, "tokens", None), getattr(app, "cookie_id", None)
    if not tokens or not cookie_id:
        return {}, []
    cookies = connection.cookies
    return tokens, [t for t in (cookies.get(f"access-token-{cookie_id}"), cookies.get(f"access-token-unsecure-{cookie_id}")) if t]


def page_login(request: Request) -> str | None:
    """The user logged in to the page, from Gradio's login cookie."""
    tokens, given = page_tokens(request)
    return next((tokens[t] for t in given if t in tokens), None)


class RevokeRemoved:
    """ASGI middleware: a page login whose user is no longer in the users file is forgotten, so that request is refused."""

    def __init__(self, app: Any, users: Users) -> None:
        self.app, self.users = app, users

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and self.users.login_required:
            tokens, given = page_tokens(HTTPConnection(scope))
            for token in given:
                name = tokens.get(token)
                if name is not None and not self.users.exists(name):
                    tokens.pop(token, None)  # Gradio reads its tokens on every request: this session is logged out
        await self.app(scope, receive, send)


class ApiLogin:
    """The caller's name (None without a login); a 401 when a login is required and none is given."""

    def __init__(self, users: Users) -> None:
        self.users = users

    def __call__(self, request: Request) -> str | None:
        if not self.users.login_required:
            return None
        given = credentials(request)
        if given is not None and self.users.check(*given):
            return given[0]
        user = page_login(request)
        if user is not None and self.users.exists(user):
            return user
        why = "wrong name or password" if given is not None else "a login is required"
        raise ApiError(401, f"{why}: {LOGIN_HELP}", "invalid_api_key", {"WWW-Authenticate": 'Basic realm="ragbot"'})
