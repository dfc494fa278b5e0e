"""What every command shares: the one-line usage errors, the settings from options, progress bars, loading the pipeline."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

EXIT_ERROR, EXIT_USAGE = 1, 2


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line instead of a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def index_option() -> argparse.ArgumentParser:
    """--index, shared by the commands that read an index."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--index", type=Path, help="index folder (default: index/)")
    return parent


def engine_option() -> argparse.ArgumentParser:
    """--engine, shared by the commands that answer."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--engine", choices=["extractive", "llm"], help="extractive (instant quotes) or llm (written answer) (default: the engine setting)"
    )
    return parent


def settings_of(args: argparse.Namespace) -> Any:
    """Defaults < ragbot.toml (or --config) < RAGBOT_* < the command's options; the corpus folder the index belongs to."""
    from ragbot.index.reader import read_manifest
    from ragbot.library import corpus_for, setting_level
    from ragbot.settings import Settings

    corpus, index = getattr(args, "corpus", None), getattr(args, "index", None)
    settings = Settings.load(
        config_file=args.config,
        corpus_dir=corpus,
        index_dir=index,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        engine=getattr(args, "engine", None),
    )
    # An index named more specifically than the corpus folder answers from its own folder (ragbot/library.py).
    levels = setting_level("corpus_dir", corpus, args.config), setting_level("index_dir", index, args.config)
    return corpus_for(settings, lambda: read_manifest(settings.index_dir), *levels)


def load_pipeline(settings: Any) -> Any:
    """The pipeline over the index (refreshed first if the corpus changed)."""
    from ragbot.chain import Pipeline

    return Pipeline.load(settings)


def show_progress() -> bool:
    """Progress bars on a terminal, or when RAGBOT_PROGRESS is set."""
    return sys.stderr.isatty() or bool(os.environ.get("RAGBOT_PROGRESS"))


def usage(command: str, message: str) -> NoReturn:
    """A mistake in a command's options found after parsing: one line and exit code 2, as argparse's own."""
    print(f"ragbot {command}: error: {message} (see `ragbot {command} --help`)", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)
