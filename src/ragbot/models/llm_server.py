"""llama.cpp serving a GGUF model on 127.0.0.1 inside this process (xllamacpp's prebuilt CPU wheel)."""

from __future__ import annotations

import atexit
import secrets
import threading
from functools import lru_cache
from pathlib import Path

from ragbot.errors import RagbotError


class LocalServer:
    """A GGUF model served by llama.cpp on 127.0.0.1 (a random port and API key), in this process."""

    def __init__(
        self, model_path: Path, threads: int = 2, n_ctx: int = 4096, slot_dir: Path | None = None, cache_mib: int | None = None
    ) -> None:
        try:
            import xllamacpp
        except ImportError:
            raise RagbotError("the local LLM runtime xllamacpp is not installed; run `make setup`") from None
        params = xllamacpp.CommonParams()
        params.model.path = str(model_path)
        params.n_ctx = n_ctx
        params.n_parallel = 1  # one slot keeps the shared prompt prefix cached between questions
        params.cache_prompt = True
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.port = 0  # 127.0.0.1 is the runtime's default host
        params.model_alias = {"local"}
        self.api_key = secrets.token_hex(16)
        params.api_keys = [self.api_key]  # other local users and web pages cannot drive it
        params.verbosity = -1
        if slot_dir is not None:  # slot states saved and restored by file name (llama.cpp joins the folder and name as strings)
            slot_dir.mkdir(parents=True, exist_ok=True)
            params.slot_save_path = str(slot_dir.resolve()) + "/"
        if cache_mib is not None:  # the host-memory prompt cache's budget; unset keeps llama.cpp's default (8192)
            params.cache_ram_mib = cache_mib
        self.model_path, self.slot_dir = model_path, slot_dir
        self.slot_lock = threading.Lock()  # its one slot: a saved or restored state and the call that uses it, undisturbed
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:  # the runtime raises plain RuntimeError/ValueError for a bad model file
            raise RagbotError(f"cannot load the LLM {model_path.name}: {exc}") from None
        self.url = self._server.listening_address
        self.base_url = f"{self.url}/v1"

    def close(self) -> None:
        self.__dict__.pop("_server", None)


@lru_cache(maxsize=2)
def local_server(model_path: Path, threads: int, slot_dir: Path | None = None, cache_mib: int | None = None) -> LocalServer:
    """The one server for these arguments in this process, closed at exit."""
    server = LocalServer(model_path, threads, slot_dir=slot_dir, cache_mib=cache_mib)
    atexit.register(server.close)
    return server
