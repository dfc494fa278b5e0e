"""A missing component fails a CI run and skips elsewhere, in one line naming it and why (tests/required.py)."""

from __future__ import annotations

import pytest

from .required import in_ci, require


@pytest.mark.parametrize("value", ["true", "1", "yes", "True"])
def test_under_ci_a_missing_component_is_a_failure(monkeypatch: pytest.MonkeyPatch, value: str):
    monkeypatch.setenv("CI", value)
    assert in_ci()
    with pytest.raises(pytest.fail.Exception, match=r"^CI=true requires PostgreSQL: no initdb$"):
        require("PostgreSQL", "no initdb")


@pytest.mark.parametrize("value", [None, "", "0", "false"])
def test_outside_ci_it_is_a_skip_that_says_why(monkeypatch: pytest.MonkeyPatch, value: str | None):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert not in_ci()
    with pytest.raises(pytest.skip.Exception, match=r"^Milvus Lite unavailable: its server did not start$"):
        require("Milvus Lite", "its server did not start")
