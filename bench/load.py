"""Many users at once against the running page's API, on loopback only, bounded in requests and time.

    .venv/bin/python bench/load.py [--users 20] [--duration 180] [--requests 20000] [--think 0]
    .venv/bin/python bench/load.py --url http://127.0.0.1:7860/ --pid PID   # attach to a running `ragbot serve`
    .venv/bin/python bench/load.py --replicas 2    # two servers on one index and data folder, users spread over both

Without --url it starts `ragbot serve` on a free loopback port (index in index/, feedback in a
temporary folder), optionally with other queue limits (--ask-limit) to compare them. Each simulated
user asks questions from the QA set one after another through Gradio's HTTP API (POST
/gradio_api/call/ask, then the event's result stream), waiting --think seconds between questions.
A request fails on any HTTP error, timeout, Gradio error event, or an answer that is a ⚠️ message.
Prints requests, failures, throughput, latency p50/p95/max, and the server's RSS sampled every
half second: the median of each quarter of the run, and growth from the first and the second quarter to the last ("memory flat").
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ragbot.evaluation.metrics import percentile

ROOT = Path(__file__).resolve().parents[1]
MAX_USERS = 200
REQUEST_TIMEOUT = 60.0


def check_loopback(url: str) -> None:
    """Refuse any target but this machine: the load goes to 127.0.0.0/8, ::1 or localhost only."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise SystemExit(f"bench/load.py only drives a server on this machine (loopback); {host!r} is not")


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process from /proc, in MB (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def rss_summary(samples: list[tuple[float, float]]) -> dict[str, object]:
    """Median RSS of each quarter of the run, growth from the first and from the second quarter to the last, and the peak.

    Gradio keeps state per session (up to SESSION_CAPACITY), and every API call is a new session, so
    RSS climbs until that store is full and is flat after; the second-to-last-quarter growth shows the plateau.
    """
    n = len(samples)
    quarters = [statistics.median(m for _, m in samples[i * n // 4 : max((i + 1) * n // 4, i * n // 4 + 1)]) for i in range(4)]
    return {
        "rss_quarters_mb": [round(q, 1) for q in quarters],
        "rss_growth_first_to_last_quarter_mb": round(quarters[3] - quarters[0], 1),
        "rss_growth_second_to_last_quarter_mb": round(quarters[3] - quarters[1], 1),
        "rss_peak_mb": round(max(m for _, m in samples), 1),
    }


@dataclass
class Results:
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (finish time, seconds)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, seconds: float) -> None:
        with self.lock:
            self.latencies.append((time.monotonic(), seconds))

    def fail(self, why: str) -> None:
        with self.lock:
            self.failures.append(why)


def ask_inputs(base: str, briefs: list[str]) -> Callable[[str], list[object]]:
    """How to fill /ask's inputs, read from the server's API description (so a page with more inputs still works)."""
    params = httpx.get(f"{base}gradio_api/info", timeout=30).json()["named_endpoints"]["/ask"]["parameters"]
    known: dict[str, object] = {"history": [], "top_k": 10, "briefs": briefs}
    fixed = [known.get(p["parameter_name"], p.get("parameter_default")) for p in params]
    slot = [p["parameter_name"] for p in params].index("question")
    return lambda question: [question if i == slot else value for i, value in enumerate(fixed)]


def ask(client: httpx.Client, base: str, data: list[object]) -> None:
    """One question through the API; raises with the reason if it did not get a real answer."""
    r = client.post(f"{base}gradio_api/call/ask", json={"data": data})
    if r.status_code != 200:
        raise RuntimeError(f"POST {r.status_code}")
    event_id = r.json()["event_id"]
    event, data = None, None
    with client.stream("GET", f"{base}gradio_api/call/ask/{event_id}") as stream:
        if stream.status_code != 200:
            raise RuntimeError(f"GET {stream.status_code}")
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                data = line.split(":", 1)[1].strip()
                break
    if event != "complete" or data is None:
        raise RuntimeError(f"event {event}: {(data or '')[:80]}")
    history = json.loads(data)[0]
    reply = history[-1]["content"]
    text = reply[0]["text"] if isinstance(reply, list) else str(reply)
    if history[-1]["role"] != "assistant" or text.startswith("⚠️"):
        raise RuntimeError(f"app error: {text[:80]}")


def user(
    base: str,
    questions: list[str],
    inputs: Callable[[str], list[object]],
    stop_at: float,
    budget: list[int],
    think: float,
    seed: int,
    out: Results,
) -> None:
    rng = random.Random(seed)
    with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
        while time.monotonic() < stop_at:
            with out.lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            start = time.monotonic()
            try:
                ask(client, base, inputs(rng.choice(questions)))
                out.ok(time.monotonic() - start)
            except Exception as exc:  # every failure is counted, whatever raised it
                out.fail(f"{type(exc).__name__}: {exc}")
            if think:
                time.sleep(rng.uniform(0, 2 * think))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, overrides: dict[str, int | None], data_dir: str) -> subprocess.Popen[bytes]:
    """`ragbot serve` on loopback; overrides replace values of ragbot/app/concurrency.py (ASK_LIMIT...) for this run."""
    patch = "".join(f"import ragbot.app.concurrency as c; c.{k} = {v}; " for k, v in overrides.items() if v is not None)
    code = f"{patch}import sys; from ragbot.cli import main; sys.exit(main(['serve', '--host', '127.0.0.1', '--port', '{port}']))"
    env = {**os.environ, "RAGBOT_DATA_DIR": data_dir}
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)


def wait_for(url: str, proc: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("ragbot serve exited before the page came up")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not come up in {seconds:.0f} s")


def run(args: argparse.Namespace, bases: list[str], pids: list[int]) -> dict[str, object]:
    """Users spread round-robin over the servers (replicas of one library); RSS is the servers' sum."""
    questions = [json.loads(line)["question"] for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    briefs = sorted(json.loads((args.index / "manifest.json").read_text(encoding="utf-8"))["documents"])
    inputs = {base: ask_inputs(base, briefs) for base in bases}
    warm = Results()
    for base in bases:
        for q in questions[:5]:  # first requests load lazy state; not part of the figures
            user(base, [q], inputs[base], time.monotonic() + 30, [1], 0, 0, warm)
    samples: list[tuple[float, float]] = []
    load_before = os.getloadavg()[0]
    out = Results()
    start = time.monotonic()
    stop_at = start + args.duration
    budget = [args.requests]
    spread = [bases[i % len(bases)] for i in range(args.users)]
    threads = [
        threading.Thread(target=user, args=(base, questions, inputs[base], stop_at, budget, args.think, i, out), daemon=True)
        for i, base in enumerate(spread)
    ]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        sizes = [rss_mb(pid) for pid in pids]
        if sizes and None not in sizes:
            samples.append((time.monotonic() - start, sum(mb or 0.0 for mb in sizes)))
        time.sleep(0.5)
    elapsed = time.monotonic() - start
    lat = [s * 1000 for _, s in out.latencies]
    summary: dict[str, object] = {
        "servers": len(bases),
        "users": args.users,
        "think_s": args.think,
        "ask_limit": args.ask_limit,
        "blas_threads": args.blas_threads,
        "session_capacity": args.session_capacity,
        "load_avg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],  # before and after: the machine is shared
        "duration_s": round(elapsed, 1),
        "requests": len(lat) + len(out.failures),
        "failures": len(out.failures),
        "failure_kinds": sorted({f.split(":")[0] for f in out.failures}),
        "throughput_rps": round(len(lat) / elapsed, 2),
        "p50_ms": round(percentile(lat, 0.5), 1),
        "p95_ms": round(percentile(lat, 0.95), 1),
        "max_ms": round(max(lat, default=float("nan")), 1),
        "warmup_failures": len(warm.failures),
    }
    if samples:
        summary.update(rss_summary(samples))
    if args.samples:
        args.samples.write_text(json.dumps(samples), encoding="utf-8")
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", nargs="+", help="attach to these running servers (loopback only) instead of starting any")
    ap.add_argument("--pid", type=int, nargs="+", default=[], help="with --url: the servers' process ids, to sample their memory")
    ap.add_argument("--replicas", type=int, default=1, help="servers to start on the same index and data folder (default 1)")
    ap.add_argument("--users", type=int, default=20, help="simulated users asking at once (default 20)")
    ap.add_argument("--duration", type=float, default=180, help="seconds of load (default 180)")
    ap.add_argument("--requests", type=int, default=20_000, help="stop after this many requests in all (default 20000)")
    ap.add_argument("--think", type=float, default=0.0, help="mean pause in seconds between one user's questions (default 0)")
    ap.add_argument("--ask-limit", type=int, help="when starting the server: asks run at once (default: ragbot's ASK_LIMIT)")
    ap.add_argument("--blas-threads", type=int, help="when starting the server: numpy BLAS threads (0: the library's default)")
    ap.add_argument("--session-capacity", type=int, help="when starting the server: sessions Gradio keeps in memory")
    ap.add_argument("--questions", type=Path, default=ROOT / "eval" / "briefs_qa.jsonl")
    ap.add_argument("--index", type=Path, default=ROOT / "index", help="index the server uses (for the list of briefs)")
    ap.add_argument("--samples", type=Path, help="write the RSS samples [(seconds, MB)] here as JSON")
    ap.add_argument("--json", action="store_true", help="print only the summary as one JSON object")
    args = ap.parse_args()
    if not 1 <= args.users <= MAX_USERS or args.duration <= 0 or args.duration > 3600 or args.requests < 1:
        raise SystemExit(f"--users 1..{MAX_USERS}, --duration up to 3600 s and --requests >= 1")
    servers: list[subprocess.Popen[bytes]] = []
    if args.url:
        for url in args.url:
            check_loopback(url)
        bases, pids = [url.rstrip("/") + "/" for url in args.url], args.pid
    else:
        data_dir = tempfile.mkdtemp(prefix="ragbot-load-")  # one store for every replica (RAGBOT_STORE_URL, if set, is passed on)
        overrides = {"ASK_LIMIT": args.ask_limit, "BLAS_THREADS": args.blas_threads, "SESSION_CAPACITY": args.session_capacity}
        ports = [free_port() for _ in range(args.replicas)]
        bases = [f"http://127.0.0.1:{port}/" for port in ports]
        servers = [start_server(port, overrides, data_dir) for port in ports]
        pids = [server.pid for server in servers]
    try:
        for base, server in zip(bases, servers, strict=False):
            wait_for(base, server)
        summary = run(args, bases, pids)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    if args.json:
        print(json.dumps(summary))
        return
    for key, value in summary.items():
        print(f"{key:>22}: {value}")


if __name__ == "__main__":
    main()
