from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ragbot.errors import RagbotError
from ragbot.settings import Settings


def test_precedence_defaults_file_environment_overrides(tmp_path: Path):
    config = tmp_path / "ragbot.toml"
    config.write_text('top_k = 7\nretriever = "dense"\nport = 9000\n', encoding="utf-8")
    s = Settings.load(config_file=config, env={"RAGBOT_TOP_K": "12"}, port=9100)
    assert s.top_k == 12  # environment beats the file
    assert s.retriever == "dense"  # the file beats the default
    assert s.port == 9100  # an explicit override beats everything
    assert s.chunk_tokens == Settings().chunk_tokens


def test_round_trips_to_a_dict():
    s = Settings(top_k=4, example_questions=("a?", "b?"))
    assert Settings.from_dict(s.to_dict()) == s


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"top_k": 0}, "top_k"),
        ({"retriever": "magic"}, "retriever"),
        ({"chunk_tokens": 400}, "chunk_tokens"),
        ({"chunk_tokens": 100, "chunk_overlap": 60}, "chunk_overlap"),
        ({"no_such_setting": 1}, "no_such_setting"),
    ],
)
def test_bad_values_raise_at_construction(values, message):
    with pytest.raises(ValidationError):
        Settings(**values)
    with pytest.raises(RagbotError, match=message):
        Settings.load(env={}, config_file=None, **values) if "no_such_setting" not in values else Settings.from_dict(values)


def test_bad_config_file_is_one_clear_error(tmp_path: Path):
    bad = tmp_path / "ragbot.toml"
    bad.write_text("top_k = [unclosed", encoding="utf-8")
    with pytest.raises(RagbotError, match="not valid TOML"):
        Settings.load(config_file=bad, env={})
    with pytest.raises(RagbotError, match="not found"):
        Settings.load(config_file=tmp_path / "missing.toml", env={})
