"""bench/load.py through Debian's nginx (deploy/nginx/ragbot.conf, TLS) in front of two replicas, checked against /metrics.

    .venv/bin/python bench/balanced_load.py [--users 20] [--duration 60]

Starts two `ragbot serve` on loopback (index/ and corpus/ of this checkout, one temporary data folder,
no login), a self-signed certificate and nginx with the shipped site file (ports and certificate
replaced), then runs bench/load.py against https://127.0.0.1:PORT/ (each simulated user keeps its
route cookie, so its two requests per question reach one replica). Prints load.py's summary and what
the replicas' own /metrics counted meanwhile: questions posted (POST /gradio_api/call/{api_name})
and answers finished, per replica and summed, against the questions load.py made (5 warm-up
questions included).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "deploy" / "nginx" / "ragbot.conf"
WARMUP = 5  # questions bench/load.py asks first through each URL it is given


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait(url: str, verify: object = True, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, verify=verify, timeout=2).status_code == 200:  # type: ignore[arg-type]
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not answer in {seconds:.0f} s")


def nginx(folder: Path, replicas: list[int], port: int) -> subprocess.Popen[str]:
    """nginx with the shipped site file on 127.0.0.1:port (TLS), everything it writes kept in folder."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    site = SITE.read_text(encoding="utf-8").replace("127.0.0.1:7861", f"127.0.0.1:{replicas[0]}")
    site = site.replace("127.0.0.1:7862", f"127.0.0.1:{replicas[1]}").replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{free_port()};")
    site = site.replace("/etc/ssl/ragbot/cert.pem", str(cert)).replace("/etc/ssl/ragbot/key.pem", str(key))
    (folder / "ragbot.conf").write_text(site, encoding="utf-8")
    temp = " ".join(f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root; " if os.geteuid() == 0 else ""
    main = f"{user}daemon off; worker_processes 1; pid {folder / 'nginx.pid'}; error_log {folder / 'error.log'};\n"
    main += f"events {{}}\nhttp {{ access_log off; {temp} include {folder / 'ragbot.conf'}; }}\n"
    (folder / "nginx.conf").write_text(main)
    return subprocess.Popen([binary, "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")], text=True)


def counted(urls: list[str]) -> list[dict[str, float]]:
    """Questions posted and answers finished, per replica (its own /metrics)."""
    found = []
    for url in urls:
        mine = {"posted": 0.0, "answers": 0.0}
        for family in text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=30).text):
            for s in family.samples:
                if s.name == "ragbot_http_requests_total" and s.labels.get("route") == "/gradio_api/call/{api_name}":
                    mine["posted"] += s.value if s.labels.get("method") == "POST" and s.labels.get("code") == "200" else 0
                elif s.name == "ragbot_answers_total" and s.labels.get("via") == "page":
                    mine["answers"] += s.value
        found.append(mine)
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--duration", type=float, default=60)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ragbot-balanced-"))
    ports = [free_port(), free_port()]
    env = {k: v for k, v in os.environ.items() if k not in ("RAGBOT_USER", "RAGBOT_PASSWORD", "RAGBOT_USERS_FILE")}
    env["RAGBOT_DATA_DIR"] = str(folder / "data")
    servers = [
        subprocess.Popen([sys.executable, "-m", "ragbot.cli", "serve", "--port", str(p)], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
        for p in ports
    ]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    https = free_port()
    proxy = None
    try:
        for url in urls:
            wait(f"{url}/readyz")
        proxy = nginx(folder, ports, https)
        wait(f"https://127.0.0.1:{https}/readyz", verify=str(folder / "cert.pem"))
        before = counted(urls)
        load = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "load.py"),
                "--url",
                f"https://127.0.0.1:{https}/",
                "--pid",
                *map(str, (s.pid for s in servers)),
                "--users",
                str(args.users),
                "--duration",
                str(args.duration),
                "--json",
            ],
            env={**os.environ, "SSL_CERT_FILE": str(folder / "cert.pem")},
            capture_output=True,
            text=True,
            check=True,
        )
        after = counted(urls)
        summary = json.loads(load.stdout)
        made = summary["requests"] + WARMUP
        per_replica = [{k: a[k] - b[k] for k in a} for a, b in zip(after, before, strict=True)]
        grew = {k: sum(r[k] for r in per_replica) for k in ("posted", "answers")}
        print(json.dumps(summary, indent=1))
        print("per replica, posted:", [round(r["posted"]) for r in per_replica])
        off = {k: f"{v:.0f} ({(v - made) / made:+.2%})" for k, v in grew.items()}
        print(f"questions made by load.py (with {WARMUP} warm-up): {made}; posted per /metrics: {off['posted']}; answers: {off['answers']}")
    finally:
        for proc in [*servers, *([proxy] if proxy else [])]:
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
