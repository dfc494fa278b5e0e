"""Quizzes in the terminal: taking one (a question at a time on stdin, feedback with the source, score and review)
and the stored attempts (a table or CSV). Heavy imports wait until a command runs; the parsers are in cli/quiz.py."""

from __future__ import annotations

import io
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ragbot.console import LineReader
from ragbot.errors import RagbotError

WIDTH = 100
_HINT: dict[str, Callable[[Any], str]] = {
    "mcq": lambda q: f"a letter A–{chr(ord('A') + len(q.options) - 1)} or the option's text",
    "truefalse": lambda q: "true or false (t/f, yes/no)",
    "short": lambda q: "a few words",
}


def _read(reader: LineReader, prompt: str, interactive: bool) -> str | None:
    """One line of standard input (the prompt only on a terminal); None at end of input."""
    line = reader.read(prompt if interactive else "")
    if line is None and interactive:
        print()
    return line


def _wrap(text: str, indent: str = "") -> str:
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent)


def _show(n: int, total: int, q: Any) -> None:
    from ragbot.quiz.session import TYPE_NAMES, letter

    print(f"\nQuestion {n} of {total} ({TYPE_NAMES[q.type]})")
    print(_wrap(q.question, "  "))
    for i, option in enumerate(q.options or []):
        print(f"    {letter(i)}) {option}")
    print(f"  Answer with {_HINT[q.type](q)}; an empty line skips.", flush=True)


def _feedback(q: Any, result: Any, response: str) -> None:
    from ragbot.quiz.session import MARKS

    print(f"\n  {MARKS[result.verdict]} {result.verdict.capitalize()}" + (f" (your answer: {response})." if response else "."))
    print(_wrap(result.explanation, "  "))
    print(f"  Source passage ({q.source.title} — {q.source.doc_id}):")
    print(_wrap(q.source.text, "    "), flush=True)


def _review(session: Any) -> None:
    from ragbot.quiz.session import MARKS, score_line

    attempt = session.attempt
    print(f"\nScore: {score_line(attempt.score, attempt.max_score)}")
    print("\nReview:")
    for n, verdict, _credit, response, key, question in session.review():
        key_part = "" if verdict == "correct" else f"; the answer: {key}"
        print(f"  {n:>2}. {MARKS[verdict]} {verdict:<15} your answer: {response}{key_part}")
        print(_wrap(textwrap.shorten(question, 180, placeholder=" …"), "       "))


def take(path: Path, name: str | None, settings: Any, load_pipeline: Callable[[Any], Any]) -> int:
    """Ask every question in turn; the attempt is saved after each answer, so stopping early keeps what was answered."""
    from ragbot.quiz.model import check_corpus, corpus_fingerprint, load_quiz
    from ragbot.quiz.session import Session, choice, clean_response
    from ragbot.userdata.factory import open_userdata
    from ragbot.userdata.records import clean_name

    quiz = load_quiz(path)  # a malformed file fails before the models load
    interactive, reader = sys.stdin.isatty(), LineReader()
    if name is None:
        name = _read(reader, "Your name: ", interactive)
        if name is None:
            raise RagbotError("no trainee name: give --name NAME or type it as the first line")
    trainee = clean_name(name)
    store = open_userdata(settings)
    pipeline = load_pipeline(settings)
    check_corpus(quiz, corpus_fingerprint(pipeline.index.documents), str(path))
    session = Session.start(quiz, trainee)
    total = len(quiz.questions)
    print(f"Quiz {quiz.quiz_id} for {trainee}: {total} questions. Ctrl-D stops; the answers given so far are kept.")
    stopped, code = False, 0
    try:
        while (q := session.question) is not None:
            _show(session.shown + 1, total, q)
            while True:
                line = _read(reader, "answer> ", interactive)
                if line is None:
                    break
                try:
                    clean_response(line)
                except RagbotError as exc:
                    print(f"  {str(exc).capitalize()}; try again.", flush=True)
                    continue
                if not line.strip() or choice(q, line) is not None:
                    break
                print(f"  Not one of the choices: answer with {_HINT[q.type](q)}, or an empty line to skip.", flush=True)
            if line is None:
                stopped = True
                break
            result = session.submit(line, store, pipeline.encoder)
            _feedback(q, result, session.attempt.answers[-1]["response"])
            session.next()
    except KeyboardInterrupt:
        stopped, code = True, 130
        print()
    answered = len(session.attempt.answers)
    if stopped and not answered:
        print("\nStopped before the first answer; nothing was saved.")
        return code
    if stopped:
        print(f"\nStopped after {answered} of {total} questions; the answers given are saved.")
    _review(session)
    print(f"\nSaved as attempt {session.attempt.id[:8]} for {trainee} (see `ragbot quiz results`).")
    return code


def results(quiz_id: str | None, csv_path: Path | None, settings: Any) -> int:
    """The attempts as a table on stdout, or as CSV in a file written atomically."""
    from ragbot.files import atomic_write
    from ragbot.quiz.session import score_line
    from ragbot.userdata.factory import open_userdata

    store = open_userdata(settings)
    if csv_path is not None:
        out = io.StringIO(newline="")
        n = store.export_attempts_csv(out, quiz_id)
        try:
            atomic_write(csv_path, out.getvalue().encode("utf-8"))
        except OSError as exc:
            raise RagbotError(f"cannot write {csv_path}: {exc.strerror}") from None
        print(f"wrote {n} quiz attempts to {csv_path}", file=sys.stderr)
        return 0
    attempts = store.attempts(quiz_id)
    if not attempts:
        print("no quiz attempts yet" if quiz_id is None else f"no attempts at quiz {quiz_id}", file=sys.stderr)
        return 0
    rows = [("when (UTC)", "trainee", "quiz", "score", "status")]
    for a in attempts:
        status = "finished" if a.finished else f"unfinished ({len(a.answers)} of {a.max_score:g} answered)"
        rows.append((a.created[:16].replace("T", " "), textwrap.shorten(a.trainee, 30, placeholder="…"), a.quiz_id,
                     score_line(a.score, a.max_score), status))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=False)) + "  " + r[4])
    finished = [a for a in attempts if a.finished]
    if finished:
        mean = sum(a.score / a.max_score for a in finished if a.max_score) / len(finished)
        plural = "s" if len(attempts) > 1 else ""
        print(f"\n{len(attempts)} attempt{plural}, {len(finished)} finished; mean score of the finished ones {round(100 * mean)}%")
    return 0
