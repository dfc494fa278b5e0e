"""`ragbot users add/remove/list` against a running server: a user added logs in at the next request, a removed one is refused.

The server compares the users file's stamp (mtime, inode, size) at each request, so no test here waits or polls.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from .conftest import CORPUS, running_server
from .test_cli import assert_one_line_error, ragbot

EDITOR = ("eda", "editor-pass-1")
NEW = ("nina", "new-pass-1")


@pytest.fixture(scope="module")
def served(index, settings, tmp_path_factory) -> tuple[httpx.Client, Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("users")
    users = root / "users.toml"
    users.write_text("# the office's logins\n", encoding="utf-8")
    env = {"RAGBOT_INDEX_DIR": str(settings.index_dir), "RAGBOT_CORPUS_DIR": str(CORPUS), "RAGBOT_DATA_DIR": str(root / "data"),
           "RAGBOT_USER": EDITOR[0], "RAGBOT_PASSWORD": EDITOR[1], "RAGBOT_USERS_FILE": str(users)}  # fmt: skip
    with running_server(env) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client, users, env


def api_ok(client: httpx.Client, login: tuple[str, str]) -> bool:
    return client.get("/api/briefs", auth=login).status_code == 200


def test_a_user_added_logs_in_without_a_restart_and_a_removed_one_is_refused(served):
    client, users, env = served
    assert not api_ok(client, NEW)
    added = ragbot("users", "add", NEW[0], "--role", "reader", cwd=users.parent, env=env, stdin=NEW[1] + "\n")
    assert added.returncode == 0, added.stderr
    assert api_ok(client, NEW), "the next request after `ragbot users add` returned logs in"
    assert "# the office's logins" in users.read_text(encoding="utf-8")  # the file's comments are kept
    listed = ragbot("users", "list", cwd=users.parent, env=env)
    assert listed.stdout.splitlines() == [f"{NEW[0]}\treader"], listed.stdout
    page = httpx.Client(base_url=str(client.base_url), timeout=60)  # the page's login: Gradio's cookie
    assert page.post("/login", data={"username": NEW[0], "password": NEW[1]}).status_code == 200
    assert page.get("/config").status_code == 200 and page.get("/api/briefs").status_code == 200
    removed = ragbot("users", "remove", NEW[0], cwd=users.parent, env=env)
    assert removed.returncode == 0, removed.stderr
    assert not api_ok(client, NEW), "the next request after `ragbot users remove` returned is refused"
    assert page.get("/config").status_code == 401  # the open page session is refused at its next request
    assert page.get("/api/briefs").status_code == 401
    assert api_ok(client, EDITOR)  # RAGBOT_USER stays


def test_a_changed_password_replaces_the_old_one(served):
    client, users, env = served
    assert ragbot("users", "add", "omar", cwd=users.parent, env=env, stdin="first-pass\n").returncode == 0
    assert api_ok(client, ("omar", "first-pass"))
    changed = ragbot("users", "add", "omar", "--role", "editor", "--replace", cwd=users.parent, env=env, stdin="second-pass\n")
    assert changed.returncode == 0, changed.stderr
    assert api_ok(client, ("omar", "second-pass"))
    assert not api_ok(client, ("omar", "first-pass"))


def test_a_broken_users_file_keeps_the_users_read_before(served):
    client, users, env = served
    before = users.read_text(encoding="utf-8")
    try:
        users.write_text("[[users]\nbroken", encoding="utf-8")  # another size: the next request reads it, and keeps the users before
        assert api_ok(client, EDITOR) and not api_ok(client, NEW)
        assert_one_line_error(ragbot("users", "list", cwd=users.parent, env=env), "not valid TOML")
    finally:
        users.write_text(before, encoding="utf-8")


def test_json_files_and_bad_input(tmp_path):
    path = tmp_path / "users.json"
    assert ragbot("users", "add", "ann", "--file", str(path), cwd=tmp_path, stdin="pw-1\n").returncode == 0
    assert ragbot("users", "add", "bob", "--role", "editor", "--file", str(path), cwd=tmp_path, stdin="pw-2\n").returncode == 0
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [(u["name"], u["role"]) for u in data["users"]] == [("ann", "reader"), ("bob", "editor")]
    assert all(u["password_hash"].startswith("scrypt$") and "password" not in u for u in data["users"])
    assert_one_line_error(ragbot("users", "add", "ann", "--file", str(path), cwd=tmp_path, stdin="x\n"), "already exists", "--replace")
    assert_one_line_error(ragbot("users", "add", "a:b", "--file", str(path), cwd=tmp_path, stdin="x\n"), "colon")
    assert_one_line_error(ragbot("users", "add", "cy", "--file", str(path), cwd=tmp_path, stdin="\n"), "empty")
    assert_one_line_error(ragbot("users", "remove", "zed", "--file", str(path), cwd=tmp_path), "no user 'zed'")
    assert_one_line_error(ragbot("users", "list", cwd=tmp_path), "no users file")
    assert ragbot("users", "remove", "ann", "--file", str(path), cwd=tmp_path).returncode == 0
    assert ragbot("users", "list", "--file", str(path), cwd=tmp_path).stdout == "bob\teditor\n"
