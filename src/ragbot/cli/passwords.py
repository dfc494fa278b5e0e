"""`ragbot hash-password`: a password hash for a users file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ragbot.errors import RagbotError


def add_parser(commands: Any) -> None:
    commands.add_parser(
        "hash-password",
        help="print a password hash for a users file",
        description="Read a password (typed twice, or one line of standard input) and print its hash for a users file's password_hash.",
    )


def read_password() -> str:
    """A new password: typed twice at a terminal, else one line of standard input; never empty."""
    from getpass import getpass

    if sys.stdin.isatty():
        password = getpass("password: ")
        if getpass("again: ") != password:
            raise RagbotError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise RagbotError("the password is empty")
    return password


def run(args: argparse.Namespace) -> int:
    from ragbot.app.roles import hash_password

    print(hash_password(read_password()))
    return 0
