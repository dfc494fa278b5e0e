"""`ragbot backup create OUT | restore FROM`: what a deployment must keep, copied out and back.

Kept: the store's feedback and quiz attempts (as JSON lines, so a backup of SQLite restores into PostgreSQL and back),
the corpus folder and the Quiz tab's quiz files. Not kept: the index, which `ragbot index` rebuilds from the corpus.
"""

from __future__ import annotations

import argparse
import filecmp
import io
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from ragbot.cli.common import Parser, settings_of
from ragbot.errors import RagbotError
from ragbot.files import atomic_write

VERSION = 1
MANIFEST, USERDATA = "backup.json", "userdata.jsonl"


def add_parser(commands: Any) -> None:
    s = commands.add_parser("backup", help="back up or restore feedback, quiz results, the corpus and quiz files",
                            description="Back up what cannot be rebuilt (the store's records, the corpus folder, the quiz files), "
                            "or restore it onto this deployment's folders and store.")  # fmt: skip
    actions = s.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=Parser)
    create = actions.add_parser("create", help="write a backup folder", description="Write a backup into OUT, a new folder.")
    create.add_argument("out", type=Path, help="the backup folder to create (must not exist)")
    restore = actions.add_parser("restore", help="restore a backup folder",
                                 description="Restore a backup: records into the store (skipping those already there), "
                                 "files into the corpus and quiz folders; then run `ragbot index`.")  # fmt: skip
    restore.add_argument("source", type=Path, help="a folder written by `ragbot backup create`")


def user_files(folder: Path) -> list[Path]:
    """The files under folder, relative to it, hidden ones (locks, temporary files) left out."""
    if not folder.is_dir():
        return []
    found = (p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    return sorted(p for p in found if not any(part.startswith(".") for part in p.parts))


def copy_files(source: Path, target: Path, check_only: bool = False) -> int:
    """Copy source's files into target; a file already there with other bytes is an error (checked before anything is copied)."""
    files = user_files(source)
    for rel in files:
        if (target / rel).exists() and not filecmp.cmp(source / rel, target / rel, shallow=False):
            raise RagbotError(f"{target / rel} already exists and differs from the backup's; move it away first")
    if not check_only:
        for rel in files:
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / rel, target / rel)
    return len(files)


def create(settings: Any, out: Path) -> str:
    from ragbot.userdata.backup import dump
    from ragbot.userdata.factory import open_userdata

    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RagbotError(f"{out} already exists; a backup goes into a new folder")
    if not settings.corpus_dir.is_dir():
        raise RagbotError(f"the corpus folder {settings.corpus_dir} does not exist")
    lines = io.StringIO()
    counts = dump(open_userdata(settings), lines)
    try:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / USERDATA, lines.getvalue().encode("utf-8"))
        corpus = copy_files(settings.corpus_dir, out / "corpus")
        quizzes = copy_files(settings.data_dir / "quizzes", out / "quizzes")
        manifest = {"version": VERSION, "feedback": counts.feedback, "attempts": counts.attempts, "corpus_files": corpus,
                    "quiz_files": quizzes, "store": "postgresql" if settings.store_url else "sqlite"}  # fmt: skip
        atomic_write(out / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    except OSError as exc:
        raise RagbotError(f"cannot write the backup in {out}: {exc.strerror or exc}") from None
    what = f"{counts.feedback} feedback records, {counts.attempts} quiz attempts, {corpus} corpus files, {quizzes} quiz files"
    return f"backed up {what} to {out}"


def read_manifest(source: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise RagbotError(f"{source} is not a backup folder (no readable {MANIFEST}); make one with `ragbot backup create`") from None
    if not isinstance(manifest, dict) or manifest.get("version") != VERSION:
        raise RagbotError(f"{source}/{MANIFEST}: backup version {manifest.get('version') if isinstance(manifest, dict) else '?'} "
                          f"is not one this ragbot restores ({VERSION})")  # fmt: skip
    return manifest


def restore(settings: Any, source: Path) -> str:
    from ragbot.userdata.backup import load
    from ragbot.userdata.factory import open_userdata

    read_manifest(source)
    copy_files(source / "corpus", settings.corpus_dir, check_only=True)  # refuse before anything is written
    copy_files(source / "quizzes", settings.data_dir / "quizzes", check_only=True)
    try:
        with (source / USERDATA).open(encoding="utf-8") as lines:
            counts = load(open_userdata(settings), lines, str(source / USERDATA))
        corpus = copy_files(source / "corpus", settings.corpus_dir)
        quizzes = copy_files(source / "quizzes", settings.data_dir / "quizzes")
    except (OSError, UnicodeDecodeError) as exc:
        raise RagbotError(f"cannot restore from {source}: {getattr(exc, 'strerror', None) or exc}") from None
    return (f"restored {counts.feedback} feedback records, {counts.attempts} quiz attempts, {corpus} corpus files, {quizzes} quiz files; "
            "run `ragbot index` to build the index")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    message = create(settings, args.out) if args.action == "create" else restore(settings, args.source)
    print(f"ragbot: {message}", file=sys.stderr)
    return 0
