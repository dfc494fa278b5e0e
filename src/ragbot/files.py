"""Small file helpers shared by the index, the corpus, the models, the store's export and quiz files."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from ragbot.errors import RagbotError


def read_lines(path: Path, what: str = "file") -> list[str]:
    """The lines of a UTF-8 text file, or one clear error when it is missing or not text."""
    if not path.is_file():
        raise RagbotError(f"{what} {path} not found")
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise RagbotError(f"{what} {path} is not UTF-8 text") from None


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in 1 MB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write data so that path holds either its old content or all of the new, even after a crash.

    The bytes go to a hidden temporary file in the same folder (names starting with "." are not
    corpus documents), are flushed to disk, and replace path in one rename.
    """
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
