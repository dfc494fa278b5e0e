"""Answers per minute at llm_concurrency 1 and 2 against an OpenAI-compatible llama.cpp server with 2 parallel slots.

    .venv/bin/python bench/llm_concurrency.py [--model smollm2-135m] [--questions 12] [--max-tokens 80] [--rounds 2] [--users 4]

Starts xllamacpp's server on loopback (n_parallel 2, each slot its own context), then, for each round and
each concurrency in turn, `ragbot serve --engine llm` with llm_base_url pointing at it and that
llm_concurrency; --users clients post the QA set's first --questions questions to /api/ask (engine llm)
back to back until all are answered. Prints answers per minute (answers / wall time), their states and p50 latency per run, and the
ratio of the medians. The judge's thresholds are set to 0 so every question is written (the same work at
both settings, as in the tests' SmolLM2 runs). Everything stays on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def backend(model: str, threads: int, slots: int) -> tuple[object, str, str]:
    """xllamacpp serving the model on loopback with ``slots`` parallel slots: (server, base URL, API key)."""
    import xllamacpp

    from ragbot.models.llm_file import resolve_llm_path
    from ragbot.settings import Settings

    params = xllamacpp.CommonParams()
    params.model.path = str(resolve_llm_path(model, Settings().model_cache_dir.expanduser()))
    params.n_parallel = slots
    params.n_ctx = 4096 * slots  # the context is shared among the slots: 4096 each, as ragbot's own server
    params.cache_prompt = True
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads
    params.port = 0
    params.model_alias = {"local"}
    key = secrets.token_hex(16)
    params.api_keys = [key]
    params.verbosity = -1
    server = xllamacpp.Server(params)
    return server, f"{server.listening_address}/v1", key


def serve(base_url: str, key: str, concurrency: int, data: str, max_tokens: int = 80) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "RAGBOT_LLM_BASE_URL": base_url, "RAGBOT_LLM_API_KEY": key, "RAGBOT_LLM_MODEL": "local",
           "RAGBOT_LLM_CONCURRENCY": str(concurrency), "RAGBOT_DATA_DIR": data, "RAGBOT_JUDGE_ABSTAIN_BELOW": "0",
           "RAGBOT_JUDGE_ANSWER_FROM": "0", "RAGBOT_CLAIM_THRESHOLD": "0",
           "RAGBOT_PASSAGE_ANSWER_FROM": "0", "RAGBOT_LLM_MAX_TOKENS": str(max_tokens)}  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "ragbot.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit("ragbot serve did not become ready in 120 s")


def run(url: str, questions: list[str], users: int) -> tuple[float, Counter[str], list[float], int]:
    """(wall seconds, states, latencies, failures) for answering every question with ``users`` clients asking back to back."""
    todo, done, failures = list(reversed(questions)), [], [0]
    lock = threading.Lock()

    def user() -> None:
        with httpx.Client(base_url=url, timeout=900) as client:
            while True:
                with lock:
                    if not todo:
                        return
                    question = todo.pop()
                start = time.monotonic()
                r = client.post("/api/ask", json={"question": question, "engine": "llm"})
                with lock:
                    if r.status_code == 200:
                        done.append((r.json()["status"], time.monotonic() - start))
                    else:
                        failures[0] += 1

    start = time.monotonic()
    threads = [threading.Thread(target=user) for _ in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - start, Counter(s for s, _ in done), [t for _, t in done], failures[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m", help="bundled model name or .gguf path (default: smollm2-135m)")
    ap.add_argument("--questions", type=int, default=12, help="questions per run (the QA set's first ones, the same every run)")
    ap.add_argument("--rounds", type=int, default=2, help="runs of each concurrency, alternating")
    ap.add_argument("--users", type=int, default=4, help="clients asking back to back")
    ap.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    ap.add_argument("--max-tokens", type=int, default=80, help="llm_max_tokens: the longest written answer")
    args = ap.parse_args()
    lines = (ROOT / "eval" / "briefs_qa.jsonl").read_text().splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()][: args.questions]
    _server, base_url, key = backend(args.model, args.threads, slots=2)
    rates: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as data:
        for r in range(args.rounds):
            for concurrency in (1, 2):
                proc, url = serve(base_url, key, concurrency, data, args.max_tokens)
                try:
                    load = os.getloadavg()[0]
                    wall, states, latencies, failed = run(url, questions, args.users)
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
                rate = sum(states.values()) * 60 / wall
                rates[concurrency].append(rate)
                p50 = statistics.median(latencies) if latencies else float("nan")
                print(f"round {r + 1} llm_concurrency {concurrency}: {sum(states.values())} answers in {wall:.0f} s = {rate:.1f}/min, "
                      f"states {dict(states)}, p50 {p50:.1f} s, failed {failed}, 1-min load before {load:.1f}", flush=True)  # fmt: skip
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    print(f"median answers/min: llm_concurrency 1 {one:.1f}, 2 {two:.1f}; ratio {two / one if one else float('nan'):.2f}x")


if __name__ == "__main__":
    main()
