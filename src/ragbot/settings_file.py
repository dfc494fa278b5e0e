"""Changing a settings file (ragbot.toml) in place, through tomlkit: every other line and comment is kept."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions

from ragbot.errors import RagbotError
from ragbot.files import atomic_write


def updated(text: str, values: dict[str, Any], comment: str) -> str:
    """The TOML text with each top-level key set to its value: in place (its comment kept), or added, under ``# comment``,
    before the first table."""
    document = tomlkit.parse(text)
    missing = {k: v for k, v in values.items() if k not in document}
    for key, value in values.items():
        if key in document:
            old = document[key]
            new = tomlkit.item(list(value) if isinstance(value, tuple) else value)
            if getattr(old, "trivia", None) is not None:  # "key = value  # why": the why stays
                new.trivia.comment_ws, new.trivia.comment = old.trivia.comment_ws, old.trivia.comment
            document[key] = new
    if missing:
        added = tomlkit.document()
        added.add(tomlkit.comment(comment))
        for key, value in missing.items():
            added.add(key, list(value) if isinstance(value, tuple) else value)
        body = tomlkit.dumps(document)
        table = next((i for i, line in enumerate(body.splitlines()) if line.lstrip().startswith("[") and "=" not in line), None)
        lines = body.splitlines()
        cut = len(lines) if table is None else table
        head, tail = "\n".join(lines[:cut]).rstrip(), "\n".join(lines[cut:])
        return "\n\n".join(part for part in (head, tomlkit.dumps(added).rstrip(), tail) if part).rstrip() + "\n"
    return tomlkit.dumps(document)


def save_settings(path: Path, values: dict[str, Any], comment: str, check: Callable[[dict[str, Any]], Any] | None = None) -> str:
    """Write values into the TOML file at path (created if missing), keeping every other line; returns the new text.

    The result is parsed (and passed to ``check``, e.g. Settings.from_dict) before it replaces the file, atomically.
    """
    try:
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        before = tomllib.loads(old)
    except (OSError, UnicodeDecodeError) as exc:
        raise RagbotError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RagbotError(f"{path} is not valid TOML ({exc}); not changed") from None
    try:
        new = updated(old, values, comment)
    except tomlkit.exceptions.TOMLKitError as exc:
        raise RagbotError(f"cannot update {path} in place ({exc}); set these by hand: {values}") from None
    after = tomllib.loads(new)
    expected = {**before, **{k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}}
    if after != expected:  # never write a file that says something else than intended
        raise RagbotError(f"cannot update {path} in place (an unusual layout); set these by hand: {values}")
    if check is not None:
        check(after)
    try:
        atomic_write(path, new.encode("utf-8"))
    except OSError as exc:
        raise RagbotError(f"cannot write {path}: {exc.strerror}") from None
    return new
