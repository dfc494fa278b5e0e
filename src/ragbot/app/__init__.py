"""The Gradio app: a thin shell that calls Pipeline.ask and renders answers, sources and documents."""

from __future__ import annotations

import os
import sys
import threading

from ragbot.app import concurrency
from ragbot.app.guard import Guard
from ragbot.app.page import CSS, build_app
from ragbot.app.render import render_document, render_sources
from ragbot.chain import Pipeline
from ragbot.errors import RagbotError
from ragbot.settings import Settings
from ragbot.store import open_store

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home: the machine is offline

__all__ = ["build_app", "render_document", "render_sources", "serve"]


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def login_from_environment() -> tuple[str, str] | None:
    """(user, password) from RAGBOT_USER and RAGBOT_PASSWORD, or None; one without the other is an error."""
    user, password = os.environ.get("RAGBOT_USER", ""), os.environ.get("RAGBOT_PASSWORD", "")
    if bool(user) != bool(password):
        raise RagbotError("set both RAGBOT_USER and RAGBOT_PASSWORD for a login, or neither")
    return (user, password) if user else None


def exposure_warning(host: str, login: tuple[str, str] | None) -> str | None:
    if host in LOOPBACK or login is not None:
        return None
    return f"ragbot: warning: serving on {host} without a login; anyone who can reach it can use it (set RAGBOT_USER and RAGBOT_PASSWORD)"


def warm_llm(pipeline: Pipeline) -> None:
    """Load the LLM before the first question; if it cannot load, say so once (answers fall back to quotes)."""
    try:
        getattr(pipeline.engine, "model", None)  # the property joins the model file and starts llama.cpp
    except RagbotError as exc:
        print(f"ragbot: the LLM did not load ({exc}); answers will be quotes", file=sys.stderr)


def serve(settings: Settings) -> None:
    """Load the pipeline (refreshing the index if needed) and serve the page until interrupted."""
    login = login_from_environment()
    warning = exposure_warning(settings.host, login)
    if warning:
        print(warning, file=sys.stderr)
    from starlette.middleware import Middleware

    if concurrency.BLAS_THREADS:
        from threadpoolctl import threadpool_limits

        threadpool_limits(concurrency.BLAS_THREADS, user_api="blas")
    pipeline = Pipeline.load(settings)
    if settings.engine == "llm":  # join the model file (first run) and start llama.cpp while the page comes up
        threading.Thread(target=warm_llm, args=(pipeline,), daemon=True, name="warm-llm").start()
    app = build_app(pipeline, open_store(settings))
    print(f"ragbot: serving on http://{settings.host}:{settings.port}", file=sys.stderr)
    try:
        # Limits measured with bench/load.py (see ragbot/app/concurrency.py); a bounded queue keeps memory bounded under overload.
        concurrency.with_queue(app).launch(
            server_name=settings.host,
            server_port=settings.port,
            show_error=False,
            quiet=True,
            css=CSS,
            max_file_size=f"{settings.max_upload_mb}mb",  # larger uploads are refused before they reach ragbot
            auth=login,
            app_kwargs={"middleware": [Middleware(Guard)]},  # no fetching URLs for clients, no huge bodies (ragbot/app/guard.py)
            state_session_capacity=concurrency.SESSION_CAPACITY,
        )
    except OSError as exc:
        raise RagbotError(f"cannot serve on {settings.host}:{settings.port}: {exc}") from None
