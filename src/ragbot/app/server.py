"""`ragbot serve`: the page and the HTTP API in one process, with the queue, the login and the guard."""

from __future__ import annotations

import sys
import threading
import time

from ragbot.app import concurrency, metrics
from ragbot.app.api import build_api
from ragbot.app.auth import ApiLogin, RevokeRemoved
from ragbot.app.guard import Guard
from ragbot.app.health import Readiness, build_health
from ragbot.app.live import LivePipeline
from ragbot.app.page import CSS, build_app
from ragbot.app.roles import Users
from ragbot.chain import Pipeline
from ragbot.engines.cache_warmer import CacheWarmer, register, slot_files
from ragbot.errors import RagbotError
from ragbot.settings import Settings
from ragbot.userdata.factory import open_userdata

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def exposure_warning(host: str, login: object) -> str | None:
    """A warning when the page is served beyond this machine without a login (``login``: any truthy value means one is set)."""
    if host in LOOPBACK or login:
        return None
    return (
        f"ragbot: warning: serving on {host} without a login; anyone who can reach it can use it "
        "(set RAGBOT_USER and RAGBOT_PASSWORD, or RAGBOT_USERS_FILE)"
    )


def warm_llm_and_cache(readiness: Readiness, live: LivePipeline, watch_seconds: float = 10.0) -> None:
    """Start the LLM; with ``warm_cache``, then warm its prompt cache for the library, yielding to questions (LLM_GROUP).

    The library is watched afterwards: a build that adds briefs (here or on another replica) is warmed too,
    its passages already saved skipped.
    """
    readiness.warm_llm(live.pipeline)
    try:
        slots = slot_files(live.pipeline.settings)
    except RagbotError:  # the model did not load: warm_llm said so
        return
    if slots is None:
        return
    warmer = CacheWarmer(slots, busy=lambda: concurrency.LANES.running.get(concurrency.LLM_GROUP, 0) > 0, report=say)
    register(warmer)
    warmed = None
    while True:
        index = live.pipeline.index  # reloaded first if the library changed on disk
        if index.manifest.get("build") != warmed:
            if warmer.run(index.passages).state.startswith("failed"):
                return
            warmed = index.manifest.get("build")
        time.sleep(watch_seconds)


def say(message: str) -> None:
    print(f"ragbot: {message}", file=sys.stderr)


def serve(settings: Settings) -> None:
    """Load the pipeline (refreshing the index if needed) and serve the page until interrupted."""
    users = Users.load(settings.users_file)
    warning = exposure_warning(settings.host, users.login_required)
    if warning:
        print(warning, file=sys.stderr)
    from starlette.middleware import Middleware

    if concurrency.BLAS_THREADS:
        from threadpoolctl import threadpool_limits

        threadpool_limits(concurrency.BLAS_THREADS, user_api="blas")
    concurrency.configure(settings)  # llm_concurrency generations at once, page and API alike
    pipeline = Pipeline.load(settings)
    live = LivePipeline(pipeline)
    readiness = Readiness(live, needs_llm=settings.engine == "llm")  # /readyz says "loading" until the model is up
    if settings.engine == "llm":  # join the model file (first run) and start llama.cpp while the page comes up
        threading.Thread(target=warm_llm_and_cache, args=(readiness, live), daemon=True, name="warm-llm").start()
    app = concurrency.with_queue(build_app(live, open_userdata(settings), users))
    api = build_api(live, users)  # /api/ask and /v1/chat/completions, beside the page (ragbot/app/api.py)
    health = build_health(readiness, ApiLogin(users))  # /healthz, /readyz, /metrics (ragbot/app/health.py)
    metrics.watch(live, concurrency.LANES, app)
    print(f"ragbot: serving on http://{settings.host}:{settings.port}", file=sys.stderr)
    try:
        # Limits chosen with bench/load.py (ragbot/app/concurrency.py); a bounded queue keeps memory bounded under overload.
        app.launch(
            server_name=settings.host,
            server_port=settings.port,
            show_error=False,
            quiet=True,
            css=CSS,
            max_file_size=f"{settings.max_upload_mb}mb",  # larger uploads are refused before they reach ragbot
            auth=users.check if users.login_required else None,
            # The API's routes come before Gradio's; Guard refuses URL fetches and huge bodies on every route (ragbot/app/guard.py);
            # RequestMetrics counts and times every request, refused ones too; RevokeRemoved logs out users removed meanwhile.
            app_kwargs={
                "middleware": [Middleware(metrics.RequestMetrics), Middleware(Guard), Middleware(RevokeRemoved, users=users)],
                "routes": [*health.routes, *api.routes],
            },
            state_session_capacity=concurrency.SESSION_CAPACITY,
        )
    except OSError as exc:
        raise RagbotError(f"cannot serve on {settings.host}:{settings.port}: {exc}") from None
