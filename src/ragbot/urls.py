"""Database and server URLs in messages and saved settings: their passwords hidden."""

from __future__ import annotations

import re
from urllib.parse import unquote


def _password_span(url: str) -> tuple[int, int] | None:
    """Where PASSWORD is in scheme://user:PASSWORD@host; up to the last "@" before any "?", so an unescaped "/" or "@" is covered."""
    start = url.find("://")
    if start < 0:
        return None
    start += 3
    at = url.rfind("@", start, len(url) if "?" not in url[start:] else url.index("?", start))
    colon = url.find(":", start, at)
    return (colon + 1, at) if at > 0 and colon >= 0 else None


def hide_password(url: str) -> str:
    """The URL with any password (user:PASSWORD@ or ?password=) replaced by ***, for messages and saved settings."""
    span = _password_span(url)
    if span:
        url = url[: span[0]] + "***" + url[span[1] :]
    return re.sub(r"(?i)([?&]password=)[^&]*", r"\1***", url)


def passwords_in(url: str) -> list[str]:
    """The password(s) written in url, as typed and percent-decoded, so a message can leave them out."""
    found = re.findall(r"(?i)[?&]password=([^&]*)", url)
    span = _password_span(url)
    if span:
        found.append(url[span[0] : span[1]])
    return [p for raw in found for p in {raw, unquote(raw)} if p]
