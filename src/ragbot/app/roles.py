"""Who may do what on a shared deployment: readers ask, take quizzes and leave feedback; editors also change the library and evaluate.

Users come from RAGBOT_USER/RAGBOT_PASSWORD (one editor) and the ``users_file`` setting (RAGBOT_USERS_FILE), a TOML or
JSON list of {name, password or password_hash, role}. With no user at all there is no login and everyone is an editor,
as on a loopback-only machine. The page hides what a reader may not do; the handlers check again, so the server refuses it.

The users file is read again whenever it changes (one stat per check), so `ragbot users add/remove` reach running replicas
at their next request; a file that cannot be read keeps the users read before. Whether there is a login at all is
decided at start: a server started without any user must be restarted to get one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ragbot.errors import RagbotError

Role = Literal["reader", "editor"]
READER: Role = "reader"
EDITOR: Role = "editor"
EDITORS_ONLY = "Only editors can do this; you are logged in as a reader."
# scrypt with 16 MiB of memory, tens of milliseconds a check: a stolen users file does not give the passwords away cheaply
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_F = TypeVar("_F", bound=Callable[..., Any])


def hash_password(password: str) -> str:
    """A salted scrypt hash of password, as stored in a users file: "scrypt$n$r$p$salt$digest"."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    b64 = base64.b64encode
    return "$".join(["scrypt", *(str(_SCRYPT[k]) for k in "nrp"), b64(salt).decode(), b64(digest).decode()])


def _hash_matches(stored: str, password: str) -> bool:
    """Whether password hashes to stored ("scrypt$n$r$p$salt$digest")."""
    kind, n, r, p, salt, digest = stored.split("$")
    if kind != "scrypt":
        raise RagbotError(f"unknown password hash kind {kind!r}; make one with `ragbot hash-password`")
    expected = base64.b64decode(digest)
    got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected))
    return hmac.compare_digest(got, expected)


class User(BaseModel):
    """One login: a name, its password (plain or hashed) and its role."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    password: str = ""
    password_hash: str = ""
    role: Role = READER

    @model_validator(mode="after")
    def _one_password(self) -> User:
        if bool(self.password) == bool(self.password_hash):
            raise ValueError(f"user {self.name!r} needs a password or a password_hash (one of them)")
        if self.password_hash and (self.password_hash.count("$") != 5 or not self.password_hash.startswith("scrypt$")):
            raise ValueError(f"user {self.name!r}: password_hash is not a `ragbot hash-password` hash")
        if self.name != self.name.strip() or ":" in self.name:
            raise ValueError(f"user name {self.name!r} may not have a colon or surrounding spaces")
        return self


def _by_name(users: list[User]) -> dict[str, User]:
    """The users by name; a name listed twice is an error."""
    found: dict[str, User] = {}
    for user in users:
        if user.name in found:
            raise RagbotError(f"user {user.name!r} is listed twice")
        found[user.name] = user
    return found


def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """The file's modification time, inode and size (None when it is missing): a change means it was rewritten."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_ino, st.st_size


class Users:
    """The logins and roles of a deployment; with none, there is no login and everyone is an editor."""

    def __init__(self, users: list[User] | None = None, users_file: Path | None = None) -> None:
        self._fixed = list(users or [])  # RAGBOT_USER, or the users given
        self._file = users_file
        self._stamp = file_stamp(users_file) if users_file else None
        self._by_name = _by_name([*self._fixed, *(read_users_file(users_file) if users_file else [])])
        self._checked: set[bytes] = set()  # digests of (name, password) pairs already verified: a hash costs tens of milliseconds
        self._lock = threading.Lock()
        self._key = secrets.token_bytes(32)

    @classmethod
    def load(cls, users_file: str | Path = "", env: Mapping[str, str] | None = None) -> Users:
        """RAGBOT_USER/RAGBOT_PASSWORD as an editor, plus the users file's users (read again when it changes)."""
        users = []
        login = login_from_environment(env)
        if login is not None:
            users.append(User(name=login[0], password=login[1], role=EDITOR))
        return cls(users, Path(users_file) if users_file else None)

    @property
    def by_name(self) -> dict[str, User]:
        """The users now: the users file is read again when it has changed since it was last read."""
        if self._file is not None:
            stamp = file_stamp(self._file)
            if stamp != self._stamp:
                self._reload(self._file, stamp)
        return self._by_name

    def _reload(self, path: Path, stamp: tuple[int, int, int] | None) -> None:
        with self._lock:
            if stamp == self._stamp:
                return
            self._stamp = stamp
            try:
                users = _by_name([*self._fixed, *read_users_file(path)])
            except RagbotError as exc:
                print(f"ragbot: {exc}; still using the users read before", file=sys.stderr)
                return
            self._by_name = users
            self._checked.clear()  # a password changed in the file no longer logs in

    @property
    def login_required(self) -> bool:
        return bool(self.by_name)

    def exists(self, name: str | None) -> bool:
        """Whether this name is a user now (a removed user's page session is ended by auth.RevokeRemoved)."""
        return (name or "") in self.by_name

    def check(self, name: str, password: str) -> bool:
        """Whether name and password are a login (Gradio's `auth` callable, and the API's)."""
        user = self.by_name.get(name)
        if user is None:
            return False
        if user.password:
            return hmac.compare_digest(user.password.encode(), password.encode())
        seen = hmac.new(self._key, f"{name}\0{password}".encode(), "sha256").digest()
        with self._lock:
            if seen in self._checked:
                return True
        if not _hash_matches(user.password_hash, password):
            return False
        with self._lock:
            if len(self._checked) > 1024:
                self._checked.clear()
            self._checked.add(seen)
        return True

    def role_of(self, name: str | None) -> Role:
        """The role of a logged-in user; everyone's an editor without a login, and an unknown name is a reader."""
        if not self.login_required:
            return EDITOR
        user = self.by_name.get(name or "")
        return user.role if user else READER

    def can_edit(self, name: str | None) -> bool:
        """Whether this user may add or remove briefs and run evaluations."""
        return self.role_of(name) == EDITOR


def login_from_environment(env: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """(user, password) from RAGBOT_USER and RAGBOT_PASSWORD, or None; one without the other is an error."""
    env = os.environ if env is None else env
    user, password = env.get("RAGBOT_USER", ""), env.get("RAGBOT_PASSWORD", "")
    if bool(user) != bool(password):
        raise RagbotError("set both RAGBOT_USER and RAGBOT_PASSWORD for a login, or neither")
    return (user, password) if user else None


def read_users_file(path: Path) -> list[User]:
    """The users in a TOML ([[users]] tables) or JSON ({"users": [...]} or a bare list) file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RagbotError(f"cannot read the users file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data: Any = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RagbotError(f"the users file {path} is not valid {path.suffix.lstrip('.').upper() or 'TOML'}: {exc}") from None
    entries = data.get("users", []) if isinstance(data, dict) else data  # a file with no users yet lists none
    if not isinstance(entries, list):
        raise RagbotError(f'the users file {path} needs a list of users ([[users]] tables in TOML, a "users" list in JSON)')
    users = []
    for n, entry in enumerate(entries, 1):
        try:
            users.append(User.model_validate(entry))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise RagbotError(f"the users file {path}, user {n}: {(where + ': ') if where else ''}{err['msg']}") from None
    return users


def username(request: Any) -> str | None:
    """The logged-in user of a Gradio request, or None (no login, or no request)."""
    return getattr(request, "username", None) if request is not None else None
