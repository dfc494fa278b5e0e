"""Two replicas behind Debian's nginx with TLS, configured by the shipped deploy/nginx/ragbot.conf: pages pinned, API spread.

Gradio keeps a page's login in the memory of the replica it logged in to; the test shows that a browser
without the route cookie is refused on the other replica, that with it every request stays on one
replica, and that a brief uploaded through one replica is asked and cited through the other, over the API and
on the page in Chromium.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from .chromium import CHROMIUM, launch
from .conftest import CORPUS, EDITOR, ROOT, running_server
from .index.conftest import free_port
from .readers.conftest import own_brief
from .readers.render import render_pdf
from .required import in_ci, require
from .test_health import samples, total

SHIPPED = ROOT / "deploy" / "nginx" / "ragbot.conf"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        require("nginx", "not installed (`make nginx` installs it as root)")
    return found


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)  # fmt: skip
    return cert, key


def nginx_config(folder: Path, replicas: list[int], https: int, http: int, cert: Path, key: Path) -> Path:
    """The shipped site file with this test's ports and certificate, inside a main file that keeps everything in folder."""
    site = SHIPPED.read_text(encoding="utf-8")
    for shipped, port in zip((7861, 7862), replicas, strict=True):
        site = site.replace(f"127.0.0.1:{shipped}", f"127.0.0.1:{port}")
    site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{https} ssl;").replace("listen 80;", f"listen 127.0.0.1:{http};")
    site = site.replace("/etc/ssl/ragbot/cert.pem", str(cert)).replace("/etc/ssl/ragbot/key.pem", str(key))
    (folder / "ragbot.conf").write_text(site, encoding="utf-8")
    main = folder / "nginx.conf"
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main.write_text(f"{user}daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\n"
                    f"events {{}}\nhttp {{\n    access_log {folder / 'access.log'};\n{temp}\n    include {folder / 'ragbot.conf'};\n}}\n",
                    encoding="utf-8")  # fmt: skip
    return main


@pytest.fixture(scope="module")
def balanced(index, settings, tmp_path_factory) -> Iterator[tuple[str, list[str], Path]]:
    """nginx on https://127.0.0.1:PORT in front of two replicas sharing one library and data folder."""
    binary = nginx_binary()
    root = tmp_path_factory.mktemp("balanced")
    shutil.copytree(CORPUS, root / "corpus")
    shutil.copytree(settings.index_dir, root / "index", symlinks=True)
    env = {"RAGBOT_INDEX_DIR": str(root / "index"), "RAGBOT_CORPUS_DIR": str(root / "corpus"), "RAGBOT_DATA_DIR": str(root / "data"),
           "RAGBOT_USER": EDITOR[0], "RAGBOT_PASSWORD": EDITOR[1]}  # fmt: skip
    with ExitStack() as stack:
        urls = [stack.enter_context(running_server(env)) for _ in range(2)]
        ports = [int(u.rstrip("/").rsplit(":", 1)[1]) for u in urls]
        cert, key = self_signed(root)
        https, http = free_port(), free_port()
        conf = nginx_config(root, ports, https, http, cert, key)
        proc = subprocess.Popen([binary, "-c", str(conf), "-e", str(root / "error.log")], stderr=subprocess.PIPE, text=True)
        stack.callback(lambda: (proc.terminate(), proc.wait(timeout=30)))
        for _ in range(50):
            try:
                httpx.get(f"https://127.0.0.1:{https}/healthz", verify=trusting(cert), timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.2)
        yield f"https://127.0.0.1:{https}", urls, cert


def trusting(cert: Path) -> ssl.SSLContext:
    """TLS that trusts the test's self-signed certificate (and checks it)."""
    return ssl.create_default_context(cafile=str(cert))


def counts(urls: list[str], *routes: str) -> list[float]:
    """Each replica's count of requests to these routes (its own /metrics, asked directly)."""
    scrapes = [samples(httpx.get(f"{u}metrics", auth=EDITOR).text) for u in urls]
    return [sum(total(s, "ragbot_http_requests_total", route=r) for r in routes) for s in scrapes]


def healthz_counts(urls: list[str]) -> list[float]:
    return counts(urls, "/healthz")


def replica_of(balancer: str, urls: list[str], cert: Path, cookies: dict[str, str]) -> int:
    """Which replica a request with these cookies reaches."""
    before = healthz_counts(urls)
    assert httpx.get(f"{balancer}/healthz", cookies=cookies, verify=trusting(cert)).status_code == 200
    grew = [a - b for a, b in zip(healthz_counts(urls), before, strict=True)]
    assert sorted(grew) == [0, 1], grew
    return grew.index(1)


def test_tls_and_the_plain_port_redirects(balanced):
    balancer, _, cert = balanced
    assert httpx.get(f"{balancer}/readyz", verify=trusting(cert)).json()["ready"]
    with pytest.raises(httpx.ConnectError):  # the certificate is checked: not trusted without it
        httpx.get(f"{balancer}/healthz")
    assert httpx.get(f"{balancer}/metrics", auth=EDITOR, verify=trusting(cert)).status_code == 403  # scraped per replica instead


def test_a_page_login_stays_on_its_replica_and_is_a_stranger_on_the_other(balanced):
    balancer, urls, cert = balanced
    with httpx.Client(base_url=balancer, verify=trusting(cert), timeout=60) as page:
        page.get("/")
        route = page.cookies.get("ragbot_route")
        assert route, "the balancer gives a browser its route cookie"
        assert page.post("/login", data={"username": EDITOR[0], "password": EDITOR[1]}).status_code == 200
        before = counts(urls, "/config", "/config/")
        assert all(page.get("/config").status_code == 200 for _ in range(20))  # pinned: every request finds the login
        grew = [a - b for a, b in zip(counts(urls, "/config", "/config/"), before, strict=True)]
        assert sorted(grew) == [0, 20], grew  # all on one replica
        login = {k: v for k, v in page.cookies.items() if k.startswith("access-token")}
    refused = 0
    for _ in range(40):  # the same Gradio login, sent without the route: spread over both replicas
        with httpx.Client(base_url=balancer, verify=trusting(cert), cookies=login, timeout=60) as stray:
            refused += stray.get("/config").status_code == 401
    assert 0 < refused < 40, refused  # the other replica does not know the login: why pages are pinned


def test_a_brief_uploaded_through_one_replica_is_cited_through_the_other(balanced, tmp_path):
    balancer, urls, cert = balanced
    routes: dict[int, str] = {}
    for n in range(40):
        routes.setdefault(replica_of(balancer, urls, cert, {"ragbot_route": f"r{n}"}), f"r{n}")
        if len(routes) == 2:
            break
    clients = {
        i: httpx.Client(base_url=balancer, verify=trusting(cert), timeout=300, cookies={"ragbot_route": r}) for i, r in routes.items()
    }
    try:
        up = clients[0].post("/api/briefs/upload", files=[("files", ("pilots.pdf", render_pdf(own_brief())))], auth=EDITOR)
        assert up.status_code == 200 and up.json()["added"][0]["doc_id"] == "pilots.pdf", up.text
        question = "How many pilotage-related incidents were recorded between 2015 and 2024?"
        answer = clients[1].post("/api/ask", json={"question": question, "docs": ["pilots.pdf"]}, auth=EDITOR)
        assert answer.status_code == 200, answer.text
        assert "212" in answer.json()["answer"] and answer.json()["citations"][0]["doc_id"] == "pilots.pdf"
    finally:
        for client in clients.values():
            client.close()
    if in_ci() or CHROMIUM.exists():  # the same on the page in Chromium: upload through one, cited through the other
        pages_upload_and_ask_through_the_balancer(balancer, [routes[0], routes[1]], cert, tmp_path)


def wait_for_brief(balancer: str, route: str, cert: Path, doc_id: str) -> None:
    """Until the replica behind this route lists doc_id: it reloads the shared library when asked, which can take a while."""
    deadline = time.monotonic() + 180
    with httpx.Client(base_url=balancer, verify=trusting(cert), timeout=180, cookies={"ragbot_route": route}) as client:
        while doc_id not in {b["doc_id"] for b in client.get("/api/briefs", auth=EDITOR).json()}:
            assert time.monotonic() < deadline, f"{doc_id} never reached the replica behind {route}"
            time.sleep(1)


def logged_in_page(browser: Any, balancer: str, route: str) -> Any:
    """A page through nginx, pinned to one replica by its route cookie, logged in as the editor."""
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})  # the self-signed certificate
    context.add_cookies([{"name": "ragbot_route", "value": route, "url": balancer}])
    page = context.new_page()
    page.goto(balancer)
    page.get_by_label("username").fill(EDITOR[0], timeout=120_000)
    page.get_by_label("password").fill(EDITOR[1])
    page.get_by_role("button", name="Login").click()
    return page


def pages_upload_and_ask_through_the_balancer(balancer: str, routes: list[str], cert: Path, folder: Path) -> None:
    """Chromium: a page on one replica adds a brief; a page on the other asks about it and sees it cited."""
    from playwright.sync_api import sync_playwright

    brief = folder / "Reef survey 2026.md"
    brief.write_text("# Reef survey\n\nThe 2026 reef survey counted 412 coral species around Palawan.\n", encoding="utf-8")
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            first = logged_in_page(browser, balancer, routes[0])
            first.get_by_role("tab", name="Documents").click()
            first.locator("#rb-upload input[type=file]").set_input_files(str(brief))
            first.get_by_role("button", name="Add to library").click()
            first.locator("#rb-library-status").get_by_text("Added Reef-survey-2026.md").wait_for(timeout=120_000)
            wait_for_brief(balancer, routes[1], cert, "Reef-survey-2026.md")
            second = logged_in_page(browser, balancer, routes[1])
            # the page's load event offers the library as it is now on that replica: the brief picker, under Settings
            second.get_by_label("Question").wait_for(timeout=60_000)
            # the accordion's own header (Gradio's footer has a "Settings" too), as tests/test_browser.py opens it; the
            # picker's choice is checked in the page's DOM, not for its visibility while the accordion opens
            second.locator(".label-wrap", has_text="Settings").click()
            second.locator("label", has_text="Reef survey").first.wait_for(state="attached", timeout=60_000)
            second.get_by_label("Question").fill("How many coral species did the 2026 reef survey count?")
            second.get_by_role("button", name="Ask", exact=True).click()
            second.locator(".rb-card").first.wait_for(timeout=60_000)
            assert "412" in second.locator("[data-testid='bot']").last.inner_text()
            assert "Reef survey" in second.locator(".rb-card").first.inner_text()
        finally:
            browser.close()
