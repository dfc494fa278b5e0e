"""Debian's Chromium for the page tests: where it lives, how it starts, and what its absence means."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .required import require

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip


def require_chromium() -> None:
    """At a page test module's top: without Chromium it fails under CI and is skipped elsewhere, saying why."""
    if not CHROMIUM.exists():
        require("Chromium", f"no {CHROMIUM} for the browser tests (`make browser` installs it as root)", module=True)


def launch(pw: Any) -> Any:
    """Headless Chromium through Playwright; installed but not starting is a failure, here and under CI."""
    try:
        return pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    except Exception as e:
        pytest.fail(f"Chromium is required: {CHROMIUM} did not start: {str(e).strip().splitlines()[0][:300]}", pytrace=False)
