"""`ragbot users add/remove/list`: the logins in the users file, changed without restarting the servers that read it.

Running replicas read the file again when it changes (app/roles.py), so a user added here logs in at once and a user
removed here is refused at their next request, on every replica that shares the file.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ragbot.cli.common import Parser, settings_of
from ragbot.errors import RagbotError
from ragbot.files import atomic_write


def add_parser(commands: Any) -> None:
    s = commands.add_parser(
        "users",
        help="add, remove and list the logins of the users file",
        description="Change the users file (the users_file setting, RAGBOT_USERS_FILE, or --file); running servers pick the change up.",
    )
    actions = s.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=Parser)
    add = actions.add_parser("add", help="add a user (password typed twice, or one line of standard input)",
                             description="Add a user with a hashed password; --replace changes a user's password and role.")  # fmt: skip
    add.add_argument("name")
    add.add_argument("--role", choices=["reader", "editor"], default="reader", help="reader (default) or editor")
    add.add_argument("--replace", action="store_true", help="change the user if the name is taken")
    remove = actions.add_parser("remove", help="remove a user", description="Remove a user; their next request is refused.")
    remove.add_argument("name")
    actions.add_parser("list", help="the users and their roles", description="List the users file's users and their roles.")
    for action in (add, remove, actions.choices["list"]):
        action.add_argument("--file", type=Path, help="the users file (default: the users_file setting)")


def users_path(args: argparse.Namespace) -> Path:
    """The users file to change: --file, else the users_file setting."""
    path = args.file or (Path(settings_of(args).users_file) if settings_of(args).users_file else None)
    if path is None:
        raise RagbotError("no users file: set users_file in ragbot.toml (or RAGBOT_USERS_FILE), or pass --file")
    return path


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """One `ragbot users` change to this file at a time (a lock file beside it)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = (path.parent / f".{path.name}.lock").open("a")
    except OSError as exc:
        raise RagbotError(f"cannot lock the users file {path}: {exc.strerror}") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def read_entries(path: Path) -> list[dict[str, Any]]:
    """The file's user entries as written (checked as the servers check them); none when the file does not exist yet."""
    from ragbot.app.roles import read_users_file

    if not path.exists():
        return []
    read_users_file(path)  # one clear line if the file is not a valid users file
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        data = json.loads(text)
        return list(data.get("users") if isinstance(data, dict) else data)
    import tomllib

    return list(tomllib.loads(text).get("users", []))


def write_entries(path: Path, entries: list[dict[str, Any]]) -> None:
    """The users file rewritten whole and atomically (TOML keeps its other keys and comments; JSON is {"users": [...]})."""
    if path.suffix.lower() == ".json":
        data = json.dumps({"users": entries}, indent=2, ensure_ascii=False) + "\n"
    else:
        import tomlkit

        doc = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
        table = tomlkit.aot()
        for entry in entries:
            table.append(tomlkit.item(entry))
        doc["users"] = table
        data = tomlkit.dumps(doc)
    try:
        atomic_write(path, data.encode("utf-8"))
    except OSError as exc:
        raise RagbotError(f"cannot write the users file {path}: {exc.strerror}") from None


def add(path: Path, args: argparse.Namespace) -> str:
    from pydantic import ValidationError

    from ragbot.app.roles import User, hash_password
    from ragbot.cli.passwords import read_password

    try:
        User(name=args.name, password_hash="scrypt$1$1$1$x$x", role=args.role)  # the name checked before a password is asked
    except ValidationError as exc:
        raise RagbotError(str(exc.errors()[0]["msg"]).removeprefix("Value error, ")) from None
    entries = read_entries(path)
    taken = any(e.get("name") == args.name for e in entries)
    if taken and not args.replace:
        raise RagbotError(f"user {args.name!r} already exists in {path}; --replace changes it")
    entry = {"name": args.name, "password_hash": hash_password(read_password()), "role": args.role}
    entries = [entry if e.get("name") == args.name else e for e in entries] if taken else [*entries, entry]
    write_entries(path, entries)
    return f"{'changed' if taken else 'added'} {args.name} ({args.role}) in {path}"


def remove(path: Path, args: argparse.Namespace) -> str:
    entries = read_entries(path)
    kept = [e for e in entries if e.get("name") != args.name]
    if len(kept) == len(entries):
        raise RagbotError(f"no user {args.name!r} in {path}")
    write_entries(path, kept)
    return f"removed {args.name} from {path}"


def run(args: argparse.Namespace) -> int:
    path = users_path(args)
    if args.action == "list":
        for entry in read_entries(path):
            print(f"{entry['name']}\t{entry.get('role', 'reader')}")
        return 0
    with locked(path):
        message = add(path, args) if args.action == "add" else remove(path, args)
    print(f"ragbot: {message}; running servers use it at their next request", file=sys.stderr)
    return 0
