"""Which corpus folder an index belongs to, so an index is never rebuilt from another folder's documents.

An index records its corpus folder (``corpus_dir`` in its manifest). ``corpus_for`` picks the folder a
command uses: the one named at least as specifically as the index folder (both on the command line,
both in the environment, both in ragbot.toml), else the index's own. ``check_origin`` refuses, in one
line, to rebuild an index from a folder that is not its own, unless that folder holds most of the
files the index was built from, unchanged (the library moved or was copied with its index, and may
have been edited since), or the build was asked to start over (``--rebuild``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ragbot.errors import RagbotError
from ragbot.settings import CONFIG_FILE, ENV_PREFIX, Settings

DEFAULT, CONFIG, ENVIRONMENT, COMMAND_LINE = range(4)


def recorded_corpus(manifest: dict[str, Any] | None) -> Path | None:
    """The corpus folder an index was built from (None for an index that does not say)."""
    value = (manifest or {}).get("corpus_dir")
    return Path(value) if isinstance(value, str) and value else None


def same_folder(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def setting_level(name: str, given: object, config_file: Path | None, env: dict[str, str] | None = None) -> int:
    """Where a setting came from: the command line, the environment, the config file, or the default."""
    env = dict(os.environ) if env is None else env
    if given is not None:
        return COMMAND_LINE
    if ENV_PREFIX + name.upper() in env:
        return ENVIRONMENT
    path = config_file or Path(env.get(ENV_PREFIX + "CONFIG", CONFIG_FILE))
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        values = {}  # Settings.load has already refused a bad file
    return CONFIG if name in values else DEFAULT


def corpus_for(settings: Settings, manifest: Callable[[], dict[str, Any] | None], corpus_level: int, index_level: int) -> Settings:
    """The settings with the index's own corpus folder, when the index folder was named more specifically than the corpus.

    ``ragbot index --corpus DIR --index X`` then ``ragbot ask --index X`` answers from X, and a refresh
    reads DIR, even though ragbot.toml says corpus_dir = "corpus". ``manifest`` reads the index's manifest.
    """
    if corpus_level >= index_level:
        return settings
    try:
        recorded = recorded_corpus(manifest())
    except RagbotError:
        return settings  # a corrupted manifest is reported by whatever reads the index
    if recorded is None or same_folder(recorded, settings.corpus_dir) or not recorded.is_dir():
        return settings
    return settings.model_copy(update={"corpus_dir": recorded})


def check_origin(manifest: dict[str, Any] | None, settings: Settings, state: dict[str, dict[str, str]], rebuild: bool) -> None:
    """Refuse to bring an index up to date from a folder other than its own (one line saying what to do)."""
    recorded = recorded_corpus(manifest)
    if manifest is None or recorded is None or rebuild or same_folder(recorded, settings.corpus_dir):
        return
    built = manifest.get("documents") or {}
    kept = sum(doc_id in state and state[doc_id]["sha256"] == entry.get("sha256") for doc_id, entry in built.items())
    if kept and kept >= len(built) / 2:
        return  # most of its files, unchanged: the library moved or was copied with its index (and edited since); now it is here
    raise RagbotError(
        f"the index in {settings.index_dir}/ was built from {recorded}/, not {settings.corpus_dir}/: "
        f"give --corpus {recorded}, or another --index for {settings.corpus_dir}/ (or `ragbot index --rebuild` to replace it)"
    )


def library_text(settings: Settings, doc_id: str) -> str:
    """The text of a document of the library as the index read it (its offsets point here), whatever its format."""
    from ragbot.corpus.folder import document_text
    from ragbot.readers.cache import ExtractCache

    return document_text(settings.corpus_dir / Path(doc_id).name, ExtractCache.beside(settings.index_dir)).text
