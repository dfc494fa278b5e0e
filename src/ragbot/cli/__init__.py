"""The `ragbot` command: a thin shell over the library, one module per command (index, ask, chat, serve, eval, ...)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

from ragbot.cli import ask, backup, bench, chat, eval, feedback, index, passwords, quiz, serve, users
from ragbot.cli.common import EXIT_ERROR, Parser
from ragbot.errors import RagbotError

COMMANDS: dict[str, ModuleType] = {
    "index": index,
    "ask": ask,
    "chat": chat,
    "serve": serve,
    "feedback": feedback,
    "quiz": quiz,
    "eval": eval,
    "hash-password": passwords,
    "users": users,
    "backup": backup,
    "bench": bench,
}


def parser() -> Parser:
    """The whole command line: each command adds its own parser."""
    p = Parser(
        prog="ragbot",
        description="Offline question answering over policy briefs; every answer sentence cites its passage.",
        epilog="Settings come from defaults < ragbot.toml < RAGBOT_* environment variables < these options.",
    )
    p.add_argument("--config", type=Path, help="settings file (default: ./ragbot.toml if present)")
    commands = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS.values():
        command.add_parser(commands)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(COMMANDS[args.command].run(args) or 0)
    except RagbotError as exc:
        print(f"ragbot: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
