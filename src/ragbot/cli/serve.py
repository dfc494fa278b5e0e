"""`ragbot serve`: the chat page and the HTTP API (http://127.0.0.1:7860 by default)."""

from __future__ import annotations

import argparse
from typing import Any

from ragbot.cli.common import engine_option, index_option, settings_of


def add_parser(commands: Any) -> None:
    s = commands.add_parser(
        "serve",
        parents=[index_option(), engine_option()],
        help="start the chat page (http://127.0.0.1:7860)",
        description="Serve the Gradio chat page.",
    )
    s.add_argument("--host", help="address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (default 7860)")


def run(args: argparse.Namespace) -> int:
    from ragbot.app.server import serve

    serve(settings_of(args))
    return 0
