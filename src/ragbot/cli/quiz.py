"""`ragbot quiz generate | take | results`: quizzes for trainers, made from the briefs, taken in the terminal, and their scores."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from ragbot.cli.common import Parser, index_option, load_pipeline, settings_of
from ragbot.errors import RagbotError


def add_parser(commands: Any) -> None:
    s = commands.add_parser("quiz", help="quizzes for trainers, generated from the briefs", description="Make quizzes from the briefs.")
    actions = s.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=Parser)
    g = actions.add_parser(
        "generate",
        parents=[index_option()],
        help="write a quiz file",
        description="Write a validated quiz, spread over the briefs and their sections.",
    )
    g.add_argument("--n", type=int, default=10, help="number of questions (default 10)")
    g.add_argument("--docs", nargs="+", metavar="DOC", help="only these briefs (file names as in corpus/)")
    g.add_argument("--types", default="mcq,short,truefalse", help="comma-separated: mcq, short, truefalse (default: all)")
    g.add_argument("--seed", type=int, default=0, help="the same seed gives the same quiz (default 0)")
    g.add_argument("--out", type=Path, default=Path("quiz.json"), help="quiz file to write (default quiz.json)")
    g.add_argument("--llm", action="store_true", help="have the LLM word fill-in-the-blanks as direct questions (each re-validated)")
    t = actions.add_parser(
        "take",
        parents=[index_option()],
        help="take a quiz in the terminal",
        description="Answer a quiz one question at a time (from standard input); each answer is graded at once, with its "
        "source passage, and saved. An empty line skips a question; Ctrl-D or Ctrl-C stops, keeping the answers given.",
    )
    t.add_argument("file", type=Path, help="quiz file (from `ragbot quiz generate`)")
    t.add_argument("--name", help="the trainee's name (asked for when not given)")
    r = actions.add_parser(
        "results",
        help="list or export quiz attempts",
        description="List the stored quiz attempts (who, which quiz, score, when), or write them as CSV.",
    )
    r.add_argument("--quiz", metavar="ID", help="only this quiz's attempts (its quiz_id)")
    r.add_argument("--csv", type=Path, metavar="FILE", help="write the attempts, with every answer, as CSV to FILE")


def run(args: argparse.Namespace) -> int:
    from ragbot.quiz.terminal import results, take

    settings = settings_of(args)
    if args.action == "take":
        return take(args.file, args.name, settings, load_pipeline)
    if args.action == "results":
        return results(args.quiz, args.csv, settings)
    return generate(args, settings)


def generate(args: argparse.Namespace, settings: Any) -> int:
    """Write a validated quiz file and say how many questions were drafted, dropped and kept."""
    from ragbot.quiz.generate import generate as make_quiz

    types = tuple(t.strip() for t in args.types.split(",") if t.strip())
    pipeline = load_pipeline(settings)
    generated = make_quiz(pipeline, n=args.n, types=types, docs=set(args.docs) if args.docs else None, seed=args.seed)
    quiz = generated.quiz
    if args.llm:
        from ragbot.engines.chat_model import chat_model
        from ragbot.quiz.phrase import phrase

        quiz.questions, reworded = phrase(quiz.questions, pipeline, chat_model(settings, max_tokens=60))
        print(f"the LLM reworded {reworded} of {len(quiz.questions)} questions (the others failed a check and keep their wording)",
              file=sys.stderr)  # fmt: skip
    try:
        quiz.save(args.out)
    except OSError as exc:
        raise RagbotError(f"cannot write {args.out}: {exc.strerror}") from None
    kinds = ", ".join(f"{n} {t}" for t, n in sorted(Counter(q.type for q in quiz.questions).items()))
    print(f"wrote {args.out}: {len(quiz.questions)} questions ({kinds}); {generated.candidates} drafted, "
          f"{generated.dropped} failed validation and were dropped", file=sys.stderr)  # fmt: skip
    if len(quiz.questions) < args.n:
        print(f"ragbot: only {len(quiz.questions)} of {args.n} questions could be made from these briefs", file=sys.stderr)
    return 0
