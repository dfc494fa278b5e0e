"""The HTTP API's refusals: one line of JSON with a status ({"error": "..."}, or OpenAI's error object on /v1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException


class ApiError(Exception):
    """A refusal with its HTTP status and one line saying why."""

    def __init__(self, status: int, message: str, code: str = "invalid_request", headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers


def _validation_message(exc: RequestValidationError) -> str:
    """The first validation error as one line: "question: Field required"."""
    errors = exc.errors()
    if not errors:
        return "invalid request"
    err = errors[0]
    if err.get("type") == "json_invalid":
        return "the body is not valid JSON"
    if tuple(err.get("loc", ())) == ("body",):
        return "the body must be a JSON object, sent with Content-Type: application/json"
    where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
    return f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid request"))


class ErrorRoute(APIRoute):
    """A route whose errors are one line of JSON: {"error": "..."} (OpenAI's {"error": {"message": ...}} when openai is set)."""

    openai = False

    def error(self, exc: ApiError) -> JSONResponse:
        body: dict[str, Any] = {"error": exc.message}
        if self.openai:
            body = {"error": {"message": exc.message, "type": "invalid_request_error", "param": None, "code": exc.code}}
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as exc:
                return self.error(exc)
            except RequestValidationError as exc:
                return self.error(ApiError(422, _validation_message(exc)))
            except HTTPException as exc:
                return self.error(ApiError(exc.status_code, str(exc.detail), headers=dict(exc.headers or {})))

        return handle


class OpenAIErrorRoute(ErrorRoute):
    openai = True
