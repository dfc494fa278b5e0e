"""`ragbot feedback export`: the feedback left on the page's answers, as CSV."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import Any

from ragbot.cli.common import Parser, settings_of
from ragbot.errors import RagbotError
from ragbot.files import atomic_write


def add_parser(commands: Any) -> None:
    s = commands.add_parser(
        "feedback", help="export the feedback left on answers", description="Work with the feedback stored by the chat page."
    )
    actions = s.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=Parser)
    e = actions.add_parser("export", help="write all feedback as CSV", description="Write all feedback as CSV (to stdout unless --out).")
    e.add_argument("--out", type=Path, help="CSV file to write (default: standard output)")


def run(args: argparse.Namespace) -> int:
    from ragbot.userdata.factory import open_userdata

    store = open_userdata(settings_of(args))
    if args.out is None:
        store.export_feedback_csv(sys.stdout)
        return 0
    csv_text = io.StringIO(newline="")
    n = store.export_feedback_csv(csv_text)
    try:
        atomic_write(args.out, csv_text.getvalue().encode("utf-8"))
    except OSError as exc:
        raise RagbotError(f"cannot write {args.out}: {exc.strerror}") from None
    print(f"wrote {n} feedback records to {args.out}", file=sys.stderr)
    return 0
