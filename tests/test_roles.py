"""Readers and editors: the users file, the same login for the API, and a reader's edits refused by the server itself."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from ragbot.app.concurrency import Lanes
from ragbot.app.roles import EDITORS_ONLY, User, Users, read_users_file
from ragbot.errors import RagbotError

from .conftest import EDITOR, READER, ROOT
from .test_cli import ragbot

BRIEF = "2025-07_fulcrum_asean-rok-security-dual-contingency.txt"
QUESTION = "What share of South Korea's energy supplies passes through the Malacca Strait?"


def test_the_users_file_in_toml_and_json(tmp_path: Path):
    toml = tmp_path / "users.toml"
    toml.write_text(
        '[[users]]\nname = "ann"\npassword = "a"\nrole = "editor"\n\n[[users]]\nname = "bob"\npassword = "b"\n', encoding="utf-8"
    )
    (tmp_path / "users.json").write_text(json.dumps({"users": [{"name": "ann", "password": "a", "role": "editor"}]}), encoding="utf-8")
    assert [(u.name, u.role) for u in read_users_file(toml)] == [("ann", "editor"), ("bob", "reader")], "a reader unless told"
    assert read_users_file(tmp_path / "users.json")[0].role == "editor"
    users = Users.load(toml, env={"RAGBOT_USER": "root", "RAGBOT_PASSWORD": "r"})
    assert users.login_required and users.role_of("root") == "editor" and users.role_of("bob") == "reader"
    assert users.check("bob", "b") and not users.check("bob", "a") and not users.check("nobody", "b")
    assert users.role_of(None) == "reader" and not users.can_edit("someone-else")
    assert Users().role_of(None) == "editor" and not Users().login_required, "no login at all: everyone is an editor, as before"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[[users]]\nname = "a"\nrole = "admin"\npassword = "x"\n', "user 1: role"),
        ('[[users]]\nname = "a"\n', "needs a password or a password_hash"),
        ('[[users]]\nname = "a"\npassword_hash = "md5$abc"\n', "not a `ragbot hash-password` hash"),
        ('[[users]]\nname = "a"\npassword = "x"\n[[users]]\nname = "a"\npassword = "y"\n', "listed twice"),
        ("users = 3\n", "needs a list of users"),
        ("[[users]\n", "not valid TOML"),
    ],
)
def test_a_bad_users_file_is_one_clear_error(tmp_path: Path, text: str, fragment: str):
    path = tmp_path / "users.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RagbotError, match=fragment.replace("$", r"\$").replace("[", r"\[")):
        Users.load(path, env={})


def test_hash_password_makes_a_hash_the_users_file_accepts():
    proc = ragbot("hash-password", cwd=ROOT, stdin="correct horse\n")
    assert proc.returncode == 0, proc.stderr
    users = Users([User(name="ann", password_hash=proc.stdout.strip())])
    assert users.check("ann", "correct horse") and not users.check("ann", "correct horse ")
    assert users.check("ann", "correct horse"), "a verified password is remembered, and still right"


def test_the_page_and_the_api_share_each_group_and_a_full_wait_is_refused():
    lanes = Lanes({"ask": 1}, max_waiting=1)

    async def scenario() -> None:
        first = await lanes.take("ask")
        assert first is not None and lanes.running["ask"] == 1
        waiting = asyncio.create_task(lanes.take("ask"))
        for _ in range(100):  # hands the loop to the waiting task until it queues: no timed sleep
            if lanes.waiting:
                break
            await asyncio.sleep(0)
        assert not waiting.done() and lanes.waiting == 1
        assert await lanes.take("ask") is None, "past max_waiting an API call is refused at once"
        first.release()
        first.release()  # every way out may release: only the first counts
        second = await asyncio.wait_for(waiting, 5)
        assert second is not None and lanes.running["ask"] == 1 and lanes.waiting == 0
        second.release()

    asyncio.run(scenario())
    full = Lanes({"ask": 1}, max_waiting=0)
    with full.hold("ask"):  # a page event holds the group's one slot: the API call finds it taken
        assert asyncio.run(full.take("ask")) is None
    slot = asyncio.run(full.take("ask"))
    assert slot is not None and full.running["ask"] == 1
    slot.release()
    assert full.running["ask"] == 0


@contextmanager
def logged_in(url: str, user: tuple[str, str]) -> Iterator[httpx.Client]:
    """A client holding the page's login cookie, as a browser would after the login form."""
    with httpx.Client(base_url=url, timeout=300) as client:
        r = client.post("/login", data={"username": user[0], "password": user[1]})
        assert r.status_code == 200, r.text
        yield client


def page_event(client: httpx.Client, outputs_of: str | None, trigger: str | None, data: list[Any]) -> list[Any]:
    """Run one of the page's events as the browser does (queue/join, then its result stream), whatever the page shows.

    The event is found in the page's config by the elem_id of a component it updates (``outputs_of``) or of its
    trigger's label (``trigger``), so a reader can send what the page does not show them.
    """
    config = client.get("/config").json()
    ids = {c["id"]: c.get("props", {}) for c in config["components"]}
    if trigger is not None:
        target = next(i for i, p in ids.items() if p.get("value") == trigger)
        fn, dep = next((n, d) for n, d in enumerate(config["dependencies"]) if [target, "click"] in d["targets"])
    else:
        target = next(i for i, p in ids.items() if p.get("elem_id") == outputs_of)
        fn, dep = next((n, d) for n, d in enumerate(config["dependencies"]) if target in d["outputs"] and d["targets"][0][1] == "load")
    session = uuid.uuid4().hex
    body = {"data": data, "fn_index": dep.get("id", fn), "trigger_id": dep["targets"][0][0], "session_hash": session, "event_data": None}
    assert client.post("/gradio_api/queue/join", json=body).status_code == 200
    with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            message = json.loads(line[5:]) if line.startswith("data:") else {}
            if message.get("msg") == "process_completed":
                assert message.get("success"), message
                return message["output"]["data"]
    raise AssertionError("the event did not complete")


def test_the_api_needs_the_same_login(deployment):
    from openai import AuthenticationError, OpenAI

    url, _ = deployment
    ask = {"question": QUESTION}
    with httpx.Client(base_url=url, timeout=300) as client:
        chat = {"messages": [{"role": "user", "content": "q"}]}
        for method, path, body in [("POST", "/api/ask", ask), ("GET", "/api/briefs", None), ("GET", "/api/openapi.json", None),
                                   ("GET", "/v1/models", None), ("POST", "/v1/chat/completions", chat)]:  # fmt: skip
            r = client.request(method, path, json=body)
            assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic"), (path, r.status_code)
        r = client.post("/api/ask", json=ask, auth=(READER[0], "wrong"))
        assert r.status_code == 401 and r.json()["error"].startswith("wrong name or password")
        assert client.post("/api/ask", json=ask, auth=READER).json()["status"] == "answered", "HTTP Basic"
        bearer = {"Authorization": f"Bearer {EDITOR[0]}:{EDITOR[1]}"}
        assert client.post("/api/ask", json=ask, headers=bearer).json()["status"] == "answered", "a bearer token"
    with logged_in(url, READER) as browser:
        assert browser.post("/api/ask", json=ask).status_code == 200, "the page's login cookie"
    with pytest.raises(AuthenticationError):
        OpenAI(base_url=f"{url}v1", api_key="not-a-login", max_retries=0).models.list()
    sdk = OpenAI(base_url=f"{url}v1", api_key=f"{READER[0]}:{READER[1]}", max_retries=0)
    reply = sdk.chat.completions.create(model="ragbot", messages=[{"role": "user", "content": QUESTION}])
    assert "90 per cent" in reply.choices[0].message.content


def test_a_readers_remove_and_evaluation_are_refused_by_the_server(deployment):
    url, root = deployment
    with logged_in(url, READER) as reader:
        status, *_ = page_event(reader, None, "Remove from library", [BRIEF])
        assert EDITORS_ONLY in status
        assert (root / "corpus" / BRIEF).exists() and any(b["doc_id"] == BRIEF for b in reader.get("/api/briefs").json())
        status, *_ = page_event(reader, None, "Run evaluation", [None, "extractive"])
        assert EDITORS_ONLY in status and not (root / "data" / "eval").exists()
        status, table, _ = page_event(reader, None, "Compare", [None, None])
        assert EDITORS_ONLY in status and table["data"] == []
    with logged_in(url, EDITOR) as editor:  # the same request from an editor does remove it
        status, *_ = page_event(editor, None, "Remove from library", [BRIEF])
        assert f"Removed **{BRIEF}**" in status and not (root / "corpus" / BRIEF).exists()
        assert all(b["doc_id"] != BRIEF for b in editor.get("/api/briefs").json()), "the API serves the changed library"


def test_the_page_hides_the_editors_controls_from_a_reader(deployment):
    url, _ = deployment
    with logged_in(url, READER) as reader:
        config = reader.get("/config").json()
        hidden = {c["props"].get("elem_id"): c["props"].get("visible") for c in config["components"]}
        assert hidden["rb-library-edit"] is False and hidden["rb-evaluation-tab"] is False, "hidden until the page knows the user"
        assert [u["visible"] for u in page_event(reader, "rb-library-edit", None, [])] == [False, False]
    with logged_in(url, EDITOR) as editor:
        assert [u["visible"] for u in page_event(editor, "rb-library-edit", None, [])] == [True, True]
