"""The `ragbot` command: a thin shell over the library (index, ask, chat, serve, feedback, quiz, eval, bench, hash-password)."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any, NoReturn

from ragbot.errors import RagbotError
from ragbot.files import atomic_write
from ragbot.quiz.terminal import add_parsers as add_quiz_parsers

EXIT_ERROR, EXIT_USAGE = 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line instead of a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="ragbot",
        description="Offline question answering over policy briefs; every answer sentence cites its passage.",
        epilog="Settings come from defaults < ragbot.toml < RAGBOT_* environment variables < these options.",
    )
    p.add_argument("--config", type=Path, help="settings file (default: ./ragbot.toml if present)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    with_index = argparse.ArgumentParser(add_help=False)  # the --index option, shared by the commands that read an index
    with_index.add_argument("--index", type=Path, help="index folder (default: index/)")
    with_engine = argparse.ArgumentParser(add_help=False)  # --engine, shared by the commands that answer
    with_engine.add_argument(
        "--engine", choices=["extractive", "llm"], help="extractive (instant quotes) or llm (written answer) (default: the engine setting)"
    )

    s = sub.add_parser(
        "index",
        parents=[with_index],
        help="build or refresh the index from the corpus folder",
        description="Embed the corpus into index/; only changed files are re-embedded. --to milvus copies the index as built into Milvus.",
    )
    s.add_argument("--corpus", type=Path, help="folder of .txt/.md briefs (default: corpus/)")
    s.add_argument("--rebuild", action="store_true", help="re-embed everything, ignoring the existing index")
    s.add_argument(
        "--to",
        choices=["milvus"],
        help="copy the index as built into Milvus (no re-embedding, the index folder unchanged); saves no setting",
    )
    s.add_argument(
        "--milvus-uri", metavar="URI", help="with --to milvus: http://host:19530 or a Milvus Lite .db path (default: milvus_uri setting)"
    )

    s = sub.add_parser(
        "ask",
        parents=[with_index, with_engine],
        help="answer one question (or a JSONL file of them)",
        description="Answer a question from the briefs with cited passages.",
    )
    s.add_argument("question", nargs="?", help="the question, in quotes")
    s.add_argument("-k", type=int, help="passages in the ranked list (default 10)")
    s.add_argument("--json", action="store_true", help="print the result as one JSON object")
    s.add_argument("--jsonl", type=Path, metavar="FILE", help='answer each {"id", "question"} line of FILE; print one JSON result per line')

    s = sub.add_parser(
        "chat",
        parents=[with_index, with_engine],
        help="a conversation in the terminal",
        description="Ask questions one after another; an empty line or Ctrl-D ends.",
    )

    s = sub.add_parser(
        "serve",
        parents=[with_index, with_engine],
        help="start the chat page (http://127.0.0.1:7860)",
        description="Serve the Gradio chat page.",
    )
    s.add_argument("--host", help="address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (default 7860)")

    s = sub.add_parser(
        "feedback", help="export the feedback left on answers", description="Work with the feedback stored by the chat page."
    )
    fsub = s.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=_Parser)
    e = fsub.add_parser("export", help="write all feedback as CSV", description="Write all feedback as CSV (to stdout unless --out).")
    e.add_argument("--out", type=Path, help="CSV file to write (default: standard output)")

    s = sub.add_parser("quiz", help="quizzes for trainers, generated from the briefs", description="Make quizzes from the briefs.")
    qsub = s.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=_Parser)
    g = qsub.add_parser(
        "generate",
        parents=[with_index],
        help="write a quiz file",
        description="Write a validated quiz, spread over the briefs and their sections.",
    )
    g.add_argument("--n", type=int, default=10, help="number of questions (default 10)")
    g.add_argument("--docs", nargs="+", metavar="DOC", help="only these briefs (file names as in corpus/)")
    g.add_argument("--types", default="mcq,short,truefalse", help="comma-separated: mcq, short, truefalse (default: all)")
    g.add_argument("--seed", type=int, default=0, help="the same seed gives the same quiz (default 0)")
    g.add_argument("--out", type=Path, default=Path("quiz.json"), help="quiz file to write (default quiz.json)")
    g.add_argument("--llm", action="store_true", help="have the LLM word fill-in-the-blanks as direct questions (each re-validated)")
    add_quiz_parsers(qsub, with_index)  # take, results

    s = sub.add_parser(
        "eval",
        parents=[with_index, with_engine],
        help="run a QA dataset and write metrics, traces and plots",
        description="Run a QA dataset through the same pipeline a user gets; write results.jsonl, metrics.json, report.md and plots.",
    )
    s.add_argument(
        "--dataset", type=Path, nargs="+", help="JSONL dataset(s), run as one (default: the eval_dataset setting, eval/briefs_qa.jsonl)"
    )
    s.add_argument("--out", type=Path, help="output folder (default: eval/runs/<time>-<config>)")
    s.add_argument("--retriever", choices=["dense", "bm25", "hybrid"], help="retriever to evaluate (default: the configured one)")
    s.add_argument("-k", type=int, default=10, help="passages retrieved per question (default 10)")
    s.add_argument(
        "--baseline",
        choices=["naive", "naive-llm"],
        help="also run a tutorial recipe on the same questions, side by side: 1000/200-char chunks, dense, top 4, "
        "answered by ragbot's extractive engine (naive) or by the same LLM with the tutorial prompt (naive-llm)",
    )
    s.add_argument(
        "--compare", nargs=2, type=Path, metavar=("DIR_A", "DIR_B"), help="print two runs side by side and the questions that flipped"
    )

    sub.add_parser(
        "hash-password",
        help="print a password hash for a users file",
        description="Read a password (typed twice, or one line of standard input) and print its hash for a users file's password_hash.",
    )

    s = sub.add_parser("bench", help="print index build time, ask latency and memory", description="Benchmark ragbot on this machine.")
    s.add_argument("--questions", type=Path, help="JSONL with a question field (default: the eval_dataset setting)")
    s.add_argument("--runs", type=int, default=3, help="cold-start runs (default 3)")
    return p


def _settings(args: argparse.Namespace) -> Any:
    from ragbot.library import for_command
    from ragbot.settings import Settings

    settings = Settings.load(
        config_file=args.config,
        corpus_dir=getattr(args, "corpus", None),
        index_dir=getattr(args, "index", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        engine=getattr(args, "engine", None),
    )
    return for_command(settings, getattr(args, "corpus", None), getattr(args, "index", None), args.config)  # the index's own corpus


def _show_progress() -> bool:
    """Progress bars on a terminal, or when RAGBOT_PROGRESS is set."""
    return sys.stderr.isatty() or bool(os.environ.get("RAGBOT_PROGRESS"))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(COMMANDS[args.command](args) or 0)
    except RagbotError as exc:
        print(f"ragbot: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _usage(command: str, message: str) -> NoReturn:
    """A mistake in a command's options found after parsing: one line and exit code 2, as argparse's own."""
    print(f"ragbot {command}: error: {message} (see `ragbot {command} --help`)", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def cmd_index(args: argparse.Namespace) -> int:
    from ragbot.corpus import corpus_state
    from ragbot.index import build_index, diff_corpus, load_index, read_manifest, remove_leftovers
    from ragbot.index.store import open_store
    from ragbot.models import embedder_for

    if args.milvus_uri is not None and not args.to:
        _usage("index", "--milvus-uri goes with --to milvus (to search Milvus, set vector_store and milvus_uri)")
    if args.to:
        return _index_to_milvus(args)
    settings = _settings(args)
    state = corpus_state(settings.corpus_dir)  # fails on a missing or empty folder before loading the model
    if not args.rebuild and not diff_corpus(read_manifest(settings.index_dir), state, settings).stale:
        index = load_index(settings.index_dir)  # verifies every artifact's checksum
        remove_leftovers(settings.index_dir)  # files of a build killed after its switch
        open_store(index, settings)  # vector_store milvus: Milvus brought up to date with the index too
        print(f"index in {settings.index_dir}/ is up to date", file=sys.stderr)
        return 0
    embedder = embedder_for(settings)
    index, _ = build_index(settings, embedder, rebuild=args.rebuild, progress=_show_progress())
    open_store(index, settings)  # vector_store milvus: the changed documents' rows written to (or deleted from) Milvus
    return 0


def _index_to_milvus(args: argparse.Namespace) -> int:
    """`ragbot index --to milvus`: the local index, as built, written into Milvus; what was written and what to set."""
    from ragbot.index.milvus import migrate, milvus_uri
    from ragbot.store import hide_password

    if args.rebuild or args.corpus:
        _usage("index", "--to milvus copies the index as built, without reading the corpus: run `ragbot index` first, then --to milvus")
    configured = _settings(args)
    settings = configured
    if args.milvus_uri is not None:
        settings = configured.model_copy(update={"milvus_uri": args.milvus_uri})
        try:
            milvus_uri(settings)
        except RagbotError as exc:
            _usage("index", f"--milvus-uri: {exc}")
    done = migrate(settings)
    folder = f"{settings.index_dir}/"
    if done.written or done.removed:
        removed = f"; removed {len(done.removed)} briefs no longer in the index" if done.removed else ""
        print(f"wrote {len(done.written)} briefs ({done.passages} passages, {done.sentences} sentences) from {folder} into Milvus at "
              f"{done.uri} in {done.seconds:.1f} s, without re-embedding{removed}; {folder} is unchanged", file=sys.stderr)  # fmt: skip
    else:
        print(f"Milvus at {done.uri} already held the index in {folder}: nothing written", file=sys.stderr)
    print(f"Milvus now holds the whole index: {done.briefs_held} briefs, {done.passages_held} passages, {done.sentences_held} sentences",
          file=sys.stderr)  # fmt: skip
    if configured.vector_store == "milvus" and configured.milvus_uri == settings.milvus_uri:
        print("vector_store is already milvus at this milvus_uri: ragbot answers from Milvus", file=sys.stderr)
    else:
        uri = hide_password(settings.milvus_uri)
        where = f' and milvus_uri = "{uri}"' if uri else ""
        env = f" RAGBOT_MILVUS_URI={uri}" if uri else ""
        print(f'no setting was changed: to answer from Milvus, set vector_store = "milvus"{where} in ragbot.toml '
              f"(or RAGBOT_VECTOR_STORE=milvus{env})", file=sys.stderr)  # fmt: skip
    return 0


def _pipeline(settings: Any) -> Any:
    from ragbot.chain import Pipeline

    return Pipeline.load(settings)


def cmd_ask(args: argparse.Namespace) -> int:
    from ragbot.chain import check_k, clean_question

    if (args.question is None) == (args.jsonl is None):
        raise RagbotError("give either a QUESTION or --jsonl FILE")
    check_k(args.k, "-k")  # bad input fails before the models load
    settings = _settings(args)
    if args.jsonl is not None:
        return _ask_jsonl(args, settings)
    clean_question(args.question, settings.max_question_chars)  # reject bad input before loading models
    pipeline = _pipeline(settings)
    if args.json:
        print(json.dumps(pipeline.ask(args.question, k=args.k).to_dict(), ensure_ascii=False, indent=None))
    else:
        print(format_answer(stream_answer(pipeline, args.question, k=args.k)))
    return 0


def stream_answer(pipeline: Any, question: str, history: list[tuple[str, str]] | None = None, k: int | None = None) -> Any:
    """Show the answer as it is written (on stderr when stdout is not a terminal), and return the final one."""
    from ragbot.citations import Answer
    from ragbot.engines.judge import Verdict

    out = sys.stdout if sys.stdout.isatty() else sys.stderr
    final, writing = None, False
    for event in pipeline.stream(question, k=k, history=history):
        if isinstance(event, Answer):
            final = event
            if event.standalone and not writing:
                print(f"(as a standalone question: {event.standalone})", file=out, flush=True)
            continue
        if isinstance(event, Verdict):
            print(f"checked: {VERDICT_LINES[event.status]} (confidence that they do: {event.confidence:.2f})", file=out, flush=True)
            continue
        if not writing:
            print("writing: ", end="", file=out, flush=True)
            writing = True
        print(event, end="", file=out, flush=True)
    if writing:
        print("\n", file=out, flush=True)
    if final is not None and final.notice and final.answered:  # an unsure or abstained answer shows its notice itself
        print(f"ragbot: {final.notice}", file=sys.stderr, flush=True)
    return final


def _ask_jsonl(args: argparse.Namespace, settings: Any) -> int:
    """One JSON result per input line; a bad line gets an error record and the run goes on."""
    from ragbot.files import read_lines

    path: Path = args.jsonl
    lines = read_lines(path, "questions file")
    pipeline = _pipeline(settings)
    failed = 0
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        item: dict[str, Any] = {}
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("question"), str):
                raise RagbotError('each line needs a "question" string')
            result = pipeline.ask(item["question"], k=args.k).to_dict()
        except (json.JSONDecodeError, RagbotError) as exc:
            message = f"not JSON ({exc.msg})" if isinstance(exc, json.JSONDecodeError) else str(exc)
            print(f"ragbot: {path}:{n}: {message}", file=sys.stderr)
            result, failed = {"line": n, "error": message}, failed + 1
        print(json.dumps({"id": item.get("id") if isinstance(item, dict) else None, **result}, ensure_ascii=False), flush=True)
    return EXIT_ERROR if failed else 0


VERDICT_LINES = {
    "answered": "the passages state the answer; writing it",
    "unsure": "the passages may not state the answer",
    "abstained": "the passages do not state the answer",
}
STATUS_LINES = {"answered": "Answer", "unsure": "Unsure (not an answer)", "abstained": "The briefs don't say"}


def format_answer(answer: Any, width: int = 100) -> str:
    """Plain-text rendering: the answer's state, the answer, then each cited passage (or the closest) with its words."""
    # confidence: the calibrated probability that the passages state the answer, whatever the state
    label = "confidence" if answer.answered else "confidence that they do:"
    confidence = "" if answer.confidence is None else f", {label} {answer.confidence:.2f}"
    lines = [f"[{STATUS_LINES.get(answer.status, answer.status)}{confidence}]", textwrap.fill(answer.text, width)]
    if answer.notice and not answer.answered:
        lines.append(textwrap.fill(answer.notice, width))
    if answer.dropped:
        lines.append(f"({len(answer.dropped)} written sentence(s) removed: no cited passage supports them)")
    if answer.abstained:
        lines.append("\nClosest passages:")
        for hit in answer.retrieved[:3]:
            p = hit.passage
            lines.append(f"  - {p.title}" + (f" — {p.section}" if p.section else ""))
            lines.append(textwrap.indent(textwrap.fill(textwrap.shorten(p.text, 240), width - 6), "      "))
    else:
        lines.append("\nSources:" if answer.answered else "\nClosest evidence (not an answer):")
        for c in answer.citations:
            p = c.passage
            lines.append(f"  [{c.n}] {p.title}" + (f" — {p.section}" if p.section else "") + f"  ({p.doc_id}, chars {p.start}-{p.end})")
            lines.append(textwrap.indent(textwrap.fill(f"“{c.quote}”", width - 6), "      "))
    return "\n".join(lines)


def cmd_chat(args: argparse.Namespace) -> int:
    pipeline = _pipeline(_settings(args))
    interactive = sys.stdin.isatty()
    history: list[tuple[str, str]] = []  # earlier turns, so a follow-up can be rewritten into a standalone question
    if interactive:
        print("Ask about the briefs. An empty line or Ctrl-D ends.\n")
    while True:
        try:
            question = input("you> " if interactive else "")
        except EOFError:
            break
        if not question.strip():
            if interactive:
                break
            continue
        try:
            answer = stream_answer(pipeline, question, history)
            print(format_answer(answer) + "\n", flush=True)
            history.append((answer.standalone or answer.question, answer.text))
        except RagbotError as exc:
            print(f"ragbot: {exc}\n", file=sys.stderr, flush=True)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from ragbot.app import serve

    settings = _settings(args)
    serve(settings)
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from ragbot.store import open_store

    store = open_store(_settings(args))
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


def cmd_quiz(args: argparse.Namespace) -> int:
    from collections import Counter

    if args.action != "generate":
        from ragbot.quiz.terminal import run

        return run(args, _settings(args), _pipeline)

    from ragbot.quiz.generate import generate

    types = tuple(t.strip() for t in args.types.split(",") if t.strip())
    settings = _settings(args)
    pipeline = _pipeline(settings)
    generated = generate(pipeline, n=args.n, types=types, docs=set(args.docs) if args.docs else None, seed=args.seed)
    quiz = generated.quiz
    if args.llm:
        from ragbot.engines.llm import chat_model
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


def cmd_eval(args: argparse.Namespace) -> int:
    from datetime import datetime

    from ragbot.chain import check_k
    from ragbot.evaluation import evaluate, evaluate_with_baseline
    from ragbot.evaluation.dataset import combine, load_dataset
    from ragbot.evaluation.report import compare

    if args.compare:
        print(compare(*args.compare))
        return 0
    check_k(args.k, "-k")
    settings = _settings(args).model_copy(update={k: v for k, v in (("retriever", args.retriever),) if v})
    dataset = combine([load_dataset(path, settings.corpus_dir, settings.index_dir) for path in args.dataset or [settings.eval_dataset]])
    for error in dataset.errors:
        print(f"ragbot: skipped {error}", file=sys.stderr)
    pipeline = _pipeline(settings)
    label = f"{settings.retriever}-{settings.engine}"
    versus = f"-vs-{args.baseline}" if args.baseline else ""
    out = args.out or Path("eval/runs") / f"{datetime.now():%Y%m%d-%H%M%S}-{label}{versus}"
    if args.baseline:
        from ragbot.evaluation.baseline import baseline_pipeline

        baseline = baseline_pipeline(args.baseline, settings)
        labels = (f"ragbot-{label}", f"baseline-{args.baseline}")
        print(evaluate_with_baseline(pipeline, baseline, dataset, out, labels, k=args.k, progress=_show_progress()))
        print(f"wrote {out}/comparison.md", file=sys.stderr)
    else:
        evaluate(pipeline, dataset, out, label, k=args.k, progress=_show_progress())
    return EXIT_ERROR if dataset.errors else 0


def cmd_bench(args: argparse.Namespace) -> int:
    from ragbot.bench import run_bench

    settings = _settings(args)
    run_bench(settings, args.questions or settings.eval_dataset, cold_runs=args.runs)
    return 0


def cmd_hash_password(args: argparse.Namespace) -> int:
    from getpass import getpass

    from ragbot.app.roles import hash_password

    if sys.stdin.isatty():
        password = getpass("password: ")
        if getpass("again: ") != password:
            raise RagbotError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise RagbotError("the password is empty")
    print(hash_password(password))
    return 0


COMMANDS = {
    "index": cmd_index,
    "ask": cmd_ask,
    "chat": cmd_chat,
    "serve": cmd_serve,
    "eval": cmd_eval,
    "feedback": cmd_feedback,
    "quiz": cmd_quiz,
    "bench": cmd_bench,
    "hash-password": cmd_hash_password,
}

if __name__ == "__main__":
    sys.exit(main())
