"""Milvus Lite started as a real local gRPC server, for the tests of the Milvus store and of moving an index into it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from ..required import require


def new_database(server: str) -> str:
    """A new database on the Milvus server, so its collections meet no other test's: its URI."""
    from pymilvus import MilvusClient

    from ragbot.index.search.milvus_client import GRPC_OPTIONS

    name = f"m{uuid.uuid4().hex[:8]}"
    client = MilvusClient(uri=server, grpc_options=GRPC_OPTIONS)  # connections are shared by address: the same options as ragbot's
    client.create_database(name)
    client.close()
    return f"{server}/{name}"


def free_port() -> int:
    """A loopback port nothing listens on (as the kernel saw it a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def milvus_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Milvus Lite's gRPC server on a free loopback port: the client speaks the protocol a Milvus cluster does."""
    import milvus_lite  # noqa: F401 (a hard dependency, like pymilvus: missing, the test errors rather than skips)
    import pymilvus

    from ragbot.index.search.milvus_client import GRPC_OPTIONS

    port, folder = free_port(), tmp_path_factory.mktemp("milvus")
    command = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(folder / "data"), "--host", "127.0.0.1"]
    log = (folder / "server.log").open("wb")  # a file, not a pipe nobody reads: a chatty server never blocks on a full pipe
    server = subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=log)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # generous: two cores shared with other jobs
    try:
        while True:
            try:
                pymilvus.MilvusClient(uri=uri, timeout=2, grpc_options=GRPC_OPTIONS).close()
                break
            except Exception:
                if server.poll() is not None or time.monotonic() > deadline:
                    exited = server.poll() is not None
                    tail = (folder / "server.log").read_text(errors="replace").strip().splitlines()[-1:]
                    why = f"exited ({server.returncode}): {tail}" if exited else f"no answer in 120 s on {uri}: {tail}"
                    require("Milvus Lite", f"its server did not start: {why}")
                time.sleep(0.3)
        yield uri
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
