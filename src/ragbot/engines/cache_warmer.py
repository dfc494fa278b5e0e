"""llama.cpp's prompt cache warmed for the library: each passage's reading prefix read once, its slot state kept on disk.

A passage is read (engines/passage_reader.py) on ``[system prompt][passage][question]``. The warmer
reads ``[system prompt][passage]`` for every library passage, one at a time in a background thread,
and saves the server's slot state after each (llama.cpp's ``/slots/0?action=save``) to one file per
passage, named by a hash of the model, the system prompt and the passage. A later reading restores
that file first (``action=restore``), so only the question's tokens are evaluated. Files are written
under a temporary name and renamed, and present files are skipped: a killed warming resumes where
it stopped. Beyond ``llm_cache_disk_mib`` the least recently used files are deleted; llama.cpp's
host-memory cache is capped by ``llm_cache_mib`` (``cache_ram_mib``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragbot.chunking import Passage
from ragbot.engines.chat_model import local_llm
from ragbot.engines.passage_reader import READER_SYSTEM_PROMPT, passage_head
from ragbot.models.llm_server import LocalServer
from ragbot.settings import Settings

log = logging.getLogger(__name__)
SUFFIX = ".slot"
PARTIAL = ".part"


class SlotError(RuntimeError):
    """llama.cpp refused or failed a slot action or a warming call."""


class SlotFiles:
    """The saved slot states of one local llama.cpp server, one file per passage prefix, in its ``slot_save_path``."""

    def __init__(self, server: LocalServer, disk_mib: int, timeout: float = 180.0) -> None:
        if server.slot_dir is None:
            raise ValueError("the server was started without a slot folder")
        self.server, self.folder, self.timeout = server, server.slot_dir, timeout
        self.disk_bytes = disk_mib * 1024 * 1024
        st = server.model_path.stat()
        self.model_id = f"{server.model_path.name}:{st.st_size}"
        self.lock = server.slot_lock

    def key(self, passage: Passage) -> str:
        """The hash naming a passage's file: model, system prompt and the passage as it opens the prompt."""
        text = "\0".join((self.model_id, READER_SYSTEM_PROMPT, passage_head(passage)))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def path(self, passage: Passage) -> Path:
        return self.folder / (self.key(passage) + SUFFIX)

    def files(self) -> list[Path]:
        """The complete saved states (never the partial ones)."""
        return sorted(self.folder.glob("*" + SUFFIX))

    def used_bytes(self) -> int:
        return sum(_size(p) for p in self.files())

    def clear_partial(self) -> int:
        """Delete files a killed save left behind; how many."""
        partial = list(self.folder.glob("*" + PARTIAL))
        for p in partial:
            p.unlink(missing_ok=True)
        return len(partial)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST JSON to the server (its API key), the reply's JSON; SlotError on a refusal."""
        request = urllib.request.Request(
            self.server.url + path,
            data=json.dumps(body).encode("utf-8"),
            headers={"Authorization": f"Bearer {self.server.api_key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                return json.loads(reply.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            detail = exc.read().decode("utf-8", "replace")[:200] if isinstance(exc, urllib.error.HTTPError) else str(exc)
            raise SlotError(f"{path}: {detail}") from None

    def save(self, passage: Passage) -> Path:
        """The slot's state saved as this passage's file: written under a temporary name, then renamed."""
        final = self.path(passage)
        partial = final.with_name(f"{final.stem}-{os.getpid()}{PARTIAL}")
        try:
            self.post("/slots/0?action=save", {"filename": partial.name})
            os.replace(partial, final)
        finally:
            partial.unlink(missing_ok=True)
        return final

    def restore(self, passage: Passage) -> bool:
        """Load this passage's saved state into the slot, if there is one (it counts as used now); whether it was loaded."""
        final = self.path(passage)
        if not final.is_file():
            return False
        try:
            self.post("/slots/0?action=restore", {"filename": final.name})
        except SlotError as exc:
            log.warning("cannot restore the cached reading of %s (%s)", passage.passage_id, exc)
            return False
        _touch(final)
        return True

    def evict(self, keep: frozenset[Path] | set[Path] = frozenset(), target: int | None = None) -> int:
        """Delete the least recently used files until the rest fit ``target`` (the disk budget; ``keep`` never); the bytes left."""
        target = self.disk_bytes if target is None else target
        files = sorted(self.files(), key=_mtime)
        total = sum(_size(p) for p in files)
        for p in files:
            if total <= target:
                break
            if p in keep:
                continue
            total -= _size(p)
            p.unlink(missing_ok=True)
        return total


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _touch(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)


@dataclass
class WarmStatus:
    """Where warming stands: passages already cached, of the library's."""

    done: int = 0
    total: int = 0
    state: str = "not started"  # warming, done, stopped, disk budget full, failed: ...

    def line(self) -> str:
        return f"Prompt cache: {self.state}, {self.done}/{self.total} passages warmed."


class CacheWarmer:
    """Reads each passage's prefix once and saves the slot, one passage at a time, waiting while ``busy()`` (a question)."""

    POLL_SECONDS = 0.2
    LOW_WATER = 0.9  # a full budget is evicted down to this share of it, so the folder is listed once per tenth, not per passage

    def __init__(
        self, slots: SlotFiles, busy: Callable[[], bool] = lambda: False, report: Callable[[str], None] = log.info, log_every: int = 10
    ) -> None:
        self.slots, self.busy, self.report, self.log_every = slots, busy, report, log_every
        self.status = WarmStatus()

    def warm_one(self, passage: Passage) -> Path:
        """Read ``[system prompt][passage]`` (one token generated) and save the slot as the passage's file."""
        messages = [{"role": "system", "content": READER_SYSTEM_PROMPT}, {"role": "user", "content": passage_head(passage)}]
        with self.slots.lock:
            self.slots.post("/v1/chat/completions", {"model": "local", "messages": messages, "max_tokens": 1, "temperature": 0.0})
            return self.slots.save(passage)

    def _wait(self, stop: threading.Event) -> None:
        while self.busy() and not stop.is_set():
            stop.wait(self.POLL_SECONDS)

    def run(self, passages: Sequence[Passage], stop: threading.Event | None = None) -> WarmStatus:
        """Warm every passage not saved yet; returns when all are, when ``stop`` is set, or when this run fills the disk budget."""
        stop = stop or threading.Event()
        self.slots.clear_partial()
        todo = [p for p in passages if not self.slots.path(p).is_file()]
        self.status = WarmStatus(len(passages) - len(todo), len(passages), "warming")
        self.report(f"warming the prompt cache: {self.status.done}/{self.status.total} passages already warmed")
        written: set[Path] = set()
        used = self.slots.used_bytes()  # a running total: the folder is listed again only when it is over budget
        start = time.perf_counter()
        for passage in todo:
            self._wait(stop)
            if stop.is_set():
                self.status.state = "stopped"
                return self.status
            try:
                saved = self.warm_one(passage)
            except SlotError as exc:
                self.status.state = f"failed: {exc}"
                self.report(f"warming the prompt cache stopped at {self.status.done}/{self.status.total}: {exc}")
                return self.status
            written.add(saved)
            used += _size(saved)
            self.status.done += 1
            if used > self.slots.disk_bytes:
                used = self.slots.evict(keep=written, target=int(self.slots.disk_bytes * self.LOW_WATER))
            if used > self.slots.disk_bytes:  # this run's own files fill it: keep them, stop
                saved.unlink(missing_ok=True)
                self.status.done -= 1
                self.status.state = "disk budget full"
                self.report(f"warming stopped at {self.status.done}/{self.status.total}: llm_cache_disk_mib is full")
                return self.status
            if len(written) % self.log_every == 0:
                self.report(f"warmed {self.status.done}/{self.status.total} passages ({time.perf_counter() - start:.0f} s)")
        self.status.state = "done"
        self.report(f"warmed {self.status.done}/{self.status.total} passages ({time.perf_counter() - start:.0f} s); done")
        return self.status


def slot_files(settings: Settings) -> SlotFiles | None:
    """The saved slot states of the bundled model's server, with ``warm_cache`` on (None otherwise, or for llm_base_url)."""
    if not settings.warm_cache or settings.llm_base_url:
        return None
    return SlotFiles(local_llm(settings), settings.llm_cache_disk_mib, settings.llm_timeout)


_CURRENT: list[CacheWarmer] = []  # the server's warmer, for the Documents tab's status line


def register(warmer: CacheWarmer) -> None:
    """The warmer whose progress ``status_line`` reports."""
    _CURRENT[:] = [warmer]


def status_line() -> str:
    """The running warmer's progress (empty when no warming was started)."""
    return _CURRENT[0].status.line() if _CURRENT else ""
