"""The index folder's one-writer lock: builds, and Milvus syncs, take turns (across processes and replicas)."""

from __future__ import annotations

import fcntl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ragbot.errors import RagbotError

_held = threading.local()  # the index folders whose build lock this thread holds


@contextmanager
def build_lock(directory: Path, wait: float = 0.0) -> Iterator[None]:
    """The index folder's writer lock (flock on index/.lock), waiting up to wait seconds; this thread's second take is free."""
    key = str(directory.resolve())
    held: set[str] = _held.__dict__.setdefault("folders", set())
    if key in held:  # e.g. `ragbot index --to milvus` syncing Milvus under the lock it took: flock would wait for itself
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    with (directory / ".lock").open("w") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    busy = f"another ragbot is writing the index in {directory}/ (a build, or Milvus brought up to date)"
                    raise RagbotError(f"{busy}; wait for it to finish") from None
                time.sleep(0.05)
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
