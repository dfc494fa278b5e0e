"""The Gradio app: a thin shell that calls Pipeline.ask and renders answers, sources and documents."""

from __future__ import annotations

import os
import sys

from ragbot.app.page import CSS, build_app
from ragbot.app.render import render_document, render_sources
from ragbot.chain import Pipeline
from ragbot.errors import RagbotError
from ragbot.settings import Settings
from ragbot.store import Store

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home: the machine is offline

__all__ = ["build_app", "render_document", "render_sources", "serve"]


def serve(settings: Settings) -> None:
    """Load the pipeline (refreshing the index if needed) and serve the page until interrupted."""
    pipeline = Pipeline.load(settings)
    app = build_app(pipeline, Store(settings.store_path))
    print(f"ragbot: serving on http://{settings.host}:{settings.port}", file=sys.stderr)
    try:
        app.queue(default_concurrency_limit=4).launch(
            server_name=settings.host, server_port=settings.port, show_error=False, quiet=True, css=CSS
        )
    except OSError as exc:
        raise RagbotError(f"cannot serve on {settings.host}:{settings.port}: {exc}") from None
