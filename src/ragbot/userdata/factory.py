"""The user-data store the settings name: SQLite in data_dir, or the PostgreSQL database at store_url."""

from __future__ import annotations

from ragbot.errors import RagbotError
from ragbot.settings import Settings
from ragbot.userdata.base import UserDataStore

POSTGRES_SCHEMES = ("postgresql", "postgres")


def open_userdata(settings: Settings) -> UserDataStore:
    """The store the settings name: SQLite at settings.store_path when store_url is empty, else the PostgreSQL database at store_url."""
    url = settings.store_url.strip()
    if not url:
        from ragbot.userdata.sqlite import SqliteStore

        return SqliteStore(settings.store_path)
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in POSTGRES_SCHEMES:
        named = f"a {scheme}:// URL" if sep and scheme.isascii() and scheme.isalnum() else "that"
        raise RagbotError(f"store_url must be empty (SQLite in data_dir) or a postgresql://user@host/database URL, not {named}")
    try:
        from ragbot.userdata.postgres import PostgresStore
    except ImportError:
        raise RagbotError("store_url names PostgreSQL but psycopg is not installed: pip install 'psycopg[binary]'") from None
    return PostgresStore(url)
