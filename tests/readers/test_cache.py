"""The extracted-text cache: a rebuild does not read a file again; a changed file, or a new reader, does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragbot.readers import cache as cache_module
from ragbot.readers.cache import ExtractCache

from .conftest import own_brief
from .render import render_html


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = cache_module.read

    def counted(data: bytes, name: str, progress=None):
        calls.append(name)
        return real(data, name, progress)

    monkeypatch.setattr(cache_module, "read", counted)
    return calls


def test_a_file_is_read_once_then_again_when_it_changes(tmp_path: Path, reads: list[str]):
    page = tmp_path / "corpus" / "page.html"
    page.parent.mkdir()
    page.write_bytes(render_html(own_brief()))
    cache = ExtractCache.beside(tmp_path / "index")
    first = cache.get(page)
    assert cache.get(page) == first and reads == ["page.html"]
    entries = list((tmp_path / "index" / "extracted").glob("*.json"))
    assert len(entries) == 1 and json.loads(entries[0].read_text())["extracted"]["text"] == first.text
    assert not list((tmp_path / "index" / "extracted").glob(".*"))  # written atomically: no temporary file left
    page.write_bytes(page.read_bytes().replace(b"nine in ten", b"eight in ten"))
    assert "eight in ten" in cache.get(page).text and reads == ["page.html", "page.html"]


def test_a_new_reader_version_reads_the_file_again(tmp_path: Path, reads: list[str], monkeypatch: pytest.MonkeyPatch):
    page = tmp_path / "page.html"
    page.write_bytes(render_html(own_brief()))
    cache = ExtractCache(tmp_path / "cache")
    cache.get(page)
    from ragbot.readers import html

    monkeypatch.setattr(html, "VERSION", "999")
    cache.get(page)
    assert reads == ["page.html", "page.html"]


def test_prune_keeps_only_the_corpus_files(tmp_path: Path):
    cache = ExtractCache(tmp_path)
    for name in ("aaa.json", "bbb.json"):
        (tmp_path / name).write_text("{}")
    cache.prune({"aaa"})
    assert [p.name for p in tmp_path.iterdir()] == ["aaa.json"]
