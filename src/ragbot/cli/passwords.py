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


def run(args: argparse.Namespace) -> int:
    from getpass import getpass

    from ragbot.app.roles import hash_password

    if sys.stdin.isatty():
        password = getpass("password: ")
        if getpass("again: ") != password:
            raise RagbotError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise RagbotError("the password is empty")
    print(hash_password(password))
    return 0
