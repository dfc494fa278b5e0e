"""The terminal: messages for the person at it (one line each, on standard error) and the lines they type."""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable

Log = Callable[[str], None]


def log_stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


class LineReader:
    """Lines of standard input, read by a thread of their own, so that Ctrl-C ends a wait for input at once.

    A process-wide SIGINT may land on any thread (llama.cpp's, ONNX Runtime's, OpenBLAS'). Python then raises
    KeyboardInterrupt in the main thread only when it next runs Python code; a main thread blocked in input()
    would wait for Enter first. Here the main thread waits in short slices and so notices within 0.1 s.
    """

    def __init__(self) -> None:
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def _pump(self) -> None:
        while line := sys.stdin.readline():
            self._lines.put(line.rstrip("\r\n"))
        self._lines.put(None)

    def read(self, prompt: str = "") -> str | None:
        """The next line without its line break (after showing the prompt), or None at the end of input."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._pump, name="stdin", daemon=True)
            self._thread.start()
        if prompt:
            print(prompt, end="", flush=True)
        while True:
            try:
                line = self._lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                self._lines.put(None)  # every later read sees the end too
            return line
