"""The Gradio page: chat with cited sources, a document viewer, session settings and feedback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ragbot.app.concurrency import ASK_GROUP, LLM_GROUP, LLM_LIMIT
from ragbot.app.quiz_tab import build_quiz_tab
from ragbot.app.render import HIT_ID, SOURCES_PLACEHOLDER, VIEWER_PLACEHOLDER, answer_markdown, as_text, render_document, render_sources
from ragbot.chain import Pipeline
from ragbot.citations import Answer
from ragbot.corpus import add_document, decode, remove_document
from ragbot.errors import RagbotError
from ragbot.evaluation import evaluate as evaluate_dataset
from ragbot.evaluation.dataset import load_dataset
from ragbot.evaluation.report import metrics_table
from ragbot.store import Feedback, Store

CSS = """
.rb-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; margin-bottom: 10px;}
.rb-card h4 {margin: 0 0 4px 0; font-size: 0.95em;}
.rb-meta {color: var(--body-text-color-subdued); font-size: 0.85em; margin-bottom: 6px;}
.rb-score {font-size: 0.8em; color: var(--body-text-color-subdued);}
.rb-text, .rb-doc-text {font-size: 0.9em; line-height: 1.45; white-space: pre-wrap;}
.rb-doc-text {max-height: 420px; overflow-y: auto; border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 12px;}
.rb-text mark, .rb-doc-text mark {background: #fde68a; color: inherit; padding: 0 1px;}
.rb-empty {color: var(--body-text-color-subdued);}
"""
WRITING_MESSAGE = "A written answer is still on its way: ask again when it is done, or press Clear."
SCROLL_TO_HIT = f"() => {{ const el = document.getElementById('{HIT_ID}'); if (el) el.scrollIntoView({{block: 'center'}}); }}"


class LivePipeline:
    """The pipeline being served; after the library changes a new one replaces it whole, under a lock."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.lock = threading.Lock()
        self._by_engine: dict[str, Pipeline] = {pipeline.settings.engine: pipeline}

    def change_library(self, change: Any) -> Pipeline:
        """Apply a change to the corpus folder, then re-index (only what changed) and swap pipelines."""
        with self.lock:
            change(self.pipeline.settings.corpus_dir)
            self.pipeline = Pipeline.build(self.pipeline.settings, self.pipeline.encoder, log=lambda _m: None)
            self._by_engine = {self.pipeline.settings.engine: self.pipeline}
            return self.pipeline

    def with_engine(self, engine: str | None) -> Pipeline:
        """The served pipeline, answering with another engine when a session chose one (same index and encoder)."""
        with self.lock:
            base = self.pipeline
            if not engine or engine == base.settings.engine:
                return base
            if engine not in self._by_engine:
                settings = base.settings.model_copy(update={"engine": engine})
                self._by_engine[engine] = Pipeline(settings, base.index, base.encoder)
            return self._by_engine[engine]


def document_rows(pipeline: Pipeline) -> list[list[Any]]:
    return [
        [d.get("title") or doc_id, d.get("date") or "", ", ".join(d.get("authors") or []), d.get("n_passages", 0), doc_id]
        for doc_id, d in pipeline.index.documents.items()
    ]


def brief_choices(pipeline: Pipeline) -> list[tuple[str, str]]:
    return [(f"{d.get('title') or doc_id} ({d.get('date') or '?'})", doc_id) for doc_id, d in pipeline.index.documents.items()]


def chat_turn(answer: Answer, written: str = "", pending: bool = False) -> list[dict[str, Any]]:
    """The user's message and the answer as chat messages; while a written answer is pending, the quotes and its text so far.

    Questions, answers and generated text are shown as text: no HTML or markdown from them is rendered.
    """
    lines = []
    if answer.standalone:
        lines.append(f"*Understood as:* {as_text(answer.standalone)}\n")
    lines.append(answer_markdown(answer.text))
    if pending:
        lines.append(f"\n✍️ *Writing an answer…* {as_text(written)}")
    if answer.dropped:
        lines.append(f"\n*{len(answer.dropped)} written sentence(s) removed: no cited passage supports them.*")
    if answer.notice:
        lines.append(f"\n⚠️ {as_text(answer.notice)}")
    return [{"role": "user", "content": as_text(answer.question)}, {"role": "assistant", "content": "\n".join(x for x in lines if x)}]


def example_questions(pipeline: Pipeline) -> list[str]:
    if pipeline.settings.example_questions:
        return list(pipeline.settings.example_questions)
    return [f"What is “{d['title']}” about?" for d in list(pipeline.index.documents.values())[:3]]


def build_app(pipeline: Pipeline, store: Store) -> Any:
    import gradio as gr

    live = LivePipeline(pipeline)

    def scope(briefs: list[str], documents: dict[str, Any]) -> set[str] | None:
        return None if set(briefs) >= set(documents) else set(briefs)

    def settle(answer: Answer, history: list[dict[str, Any]], turns: list[tuple[str, str]], top_k: int, briefs: list[str]) -> tuple:
        """The finished turn: chat, source cards, the record feedback refers to, the source picker and the conversation."""
        documents = live.pipeline.index.documents
        last = {
            "question": answer.question,
            "answer": answer.text,
            "abstained": answer.abstained,
            "citations": [{k: v for k, v in c.to_dict().items() if k != "text"} for c in answer.citations],
            "settings": {
                "engine": answer.engine,
                "top_k": int(top_k),
                "briefs": sorted(briefs),
                "retriever": live.pipeline.settings.retriever,
            },
        }
        sources = [(f"[{c.n}] {c.passage.title}", c.passage.passage_id) for c in answer.citations]
        if answer.abstained:
            sources = [(f"closest: {h.passage.title}", h.passage.passage_id) for h in answer.retrieved[:3]]
        turns = [*(turns or []), (answer.standalone or answer.question, answer.text)][-6:]
        picker = gr.Radio(choices=sources, value=None)
        return [*history, *chat_turn(answer)], render_sources(answer, documents), last, picker, turns

    def respond(
        question: str,
        history: list[dict[str, Any]],
        turns: list[tuple[str, str]],
        top_k: int,
        briefs: list[str],
        engine: str,
        pending: dict[str, Any] | None,
    ) -> tuple[Any, ...]:
        """The quotes, at once (ASK_GROUP): retrieval and the extractive answer. With the LLM engine, `write` follows."""
        if pending and time.monotonic() - pending["since"] < live.pipeline.settings.llm_timeout + 30:
            # The written answer redraws this chat as it streams: a second question now would be drawn over.
            raise gr.Error(WRITING_MESSAGE, title="Still writing", print_exception=False)
        current = live.with_engine("extractive")
        history = list(history or [])
        no_sources = gr.Radio(choices=[], value=None)
        if not briefs:
            message = "⚠️ Choose at least one brief to search in Settings."
            return [*history, {"role": "assistant", "content": message}], SOURCES_PLACEHOLDER, question, None, no_sources, "", turns, None
        try:
            answer = current.ask(question, k=int(top_k), docs=scope(briefs, current.index.documents), history=turns)
        except RagbotError as exc:
            return (
                [*history, {"role": "assistant", "content": f"⚠️ {exc}"}],
                SOURCES_PLACEHOLDER,
                question,
                None,
                no_sources,
                "",
                turns,
                None,
            )
        if engine == "llm" and not answer.abstained:  # below the threshold the LLM engine abstains too: nothing to write
            pending = {"question": answer.question, "history": history, "turns": turns, "since": time.monotonic()}
            shown = [*history, *chat_turn(answer, pending=True)]
            return shown, render_sources(answer, current.index.documents), "", None, no_sources, "", turns, pending
        chat_out, sources_out, last, picker, turns = settle(answer, history, turns, top_k, briefs)
        return chat_out, sources_out, "", last, picker, "", turns, None

    def write(pending: dict[str, Any] | None, top_k: int, briefs: list[str]) -> Iterator[tuple[Any, ...]]:
        """The written answer (LLM_GROUP, one at a time), streamed under the quotes, then its verified citations."""
        if not pending:
            yield tuple(gr.skip() for _ in range(6))
            return
        current = live.with_engine("llm")
        history, turns = pending["history"], pending["turns"]
        preview: Answer | None = None
        written = ""
        try:
            for event in current.stream(pending["question"], k=int(top_k), docs=scope(briefs, current.index.documents), history=turns):
                if isinstance(event, Answer):
                    if event.engine == "llm" or event.notice or preview is not None:
                        yield (*settle(event, history, turns, top_k, briefs), None)
                        return
                    preview = event
                    continue
                written += event
                if preview is not None:
                    yield [*history, *chat_turn(preview, written, pending=True)], gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        except RagbotError as exc:
            yield [*history, {"role": "assistant", "content": f"⚠️ {exc}"}], gr.skip(), None, gr.skip(), turns, None

    def open_source(passage_id: str | None) -> str:
        current = live.pipeline
        row = current.index.row_of(passage_id) if passage_id else None
        if row is None:
            return VIEWER_PLACEHOLDER
        p = current.index.passages[row]
        path = current.settings.corpus_dir / p.doc_id
        try:
            raw = decode(path.read_bytes(), path)
        except (OSError, RagbotError):
            return f"<p class='rb-empty'>{p.doc_id} is no longer in the corpus folder.</p>"
        return render_document(raw, current.index.documents.get(p.doc_id, {}), p)

    def give_feedback(rating: int, comment: str, last: dict[str, Any] | None) -> tuple[str, str]:
        if not last:
            return "Ask a question first.", comment
        try:
            store.add_feedback(Feedback(rating=rating, comment=comment or "", **last))
        except RagbotError as exc:
            return f"⚠️ {exc}", comment
        return "Thank you: your feedback is saved.", ""

    def library_outputs(current: Pipeline, message: str) -> tuple[Any, ...]:
        choices = brief_choices(current)
        ids = [doc_id for _, doc_id in choices]
        return message, document_rows(current), gr.Dropdown(choices=choices, value=None), gr.CheckboxGroup(choices=choices, value=ids)

    def add_brief(path: str | None, progress: Any = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008 (Gradio injects it)
        current = live.pipeline
        if not path:
            return library_outputs(current, "Choose a .txt, .md or .pdf file first.")
        upload = Path(path)
        max_bytes = current.settings.max_upload_mb * 1_000_000
        try:
            if upload.stat().st_size > max_bytes:
                raise RagbotError(f"{upload.name} is larger than {current.settings.max_upload_mb} MB")
            data = upload.read_bytes()
            progress(0.2, desc="Checking the file")
            added: list[str] = []
            progress(0.4, desc="Indexing (only the new brief is embedded)")
            current = live.change_library(lambda folder: added.append(add_document(folder, upload.name, data, max_bytes)))
        except RagbotError as exc:
            return library_outputs(current, f"⚠️ {exc}")
        progress(1.0, desc="Done")
        d = current.index.documents.get(added[0], {})
        return library_outputs(current, f"Added **{added[0]}** ({d.get('n_passages', 0)} passages); it is searchable now.")

    def remove_brief(doc_id: str | None) -> tuple[Any, ...]:
        current = live.pipeline
        if not doc_id:
            return library_outputs(current, "Choose a brief to remove.")
        if len(current.index.documents) <= 1:
            return library_outputs(current, "⚠️ The library needs at least one brief.")
        try:
            current = live.change_library(lambda folder: remove_document(folder, doc_id))
        except RagbotError as exc:
            return library_outputs(current, f"⚠️ {exc}")
        return library_outputs(current, f"Removed **{doc_id}**.")

    def evaluate(path: str | None, progress: Any = gr.Progress(track_tqdm=True)) -> tuple[Any, ...]:  # noqa: B008 (Gradio injects it)
        from datetime import datetime

        current = live.pipeline
        dataset_path = Path(path) if path else current.settings.eval_dataset
        try:
            dataset = load_dataset(dataset_path, current.settings.corpus_dir)
        except RagbotError as exc:
            return f"⚠️ {exc}", None, None, None, None, None
        out = current.settings.data_dir / "eval" / f"{datetime.now():%Y%m%d-%H%M%S}-page"
        summary = evaluate_dataset(current, dataset, out, "page", progress=True, echo=lambda _m: None)
        headers, rows = metrics_table(summary)
        skipped = f"; {len(dataset.errors)} lines skipped: " + "; ".join(dataset.errors[:3]) if dataset.errors else ""
        status = f"Evaluated {summary['overall']['questions']} questions from {dataset_path.name}{skipped}"
        table = {"headers": headers, "data": rows}
        files = [str(out / name) for name in ("report.md", "metrics.json", "results.jsonl")]
        return status, table, str(out / "metrics_by_type.png"), str(out / "first_rank.png"), str(out / "latency.png"), files

    with gr.Blocks(title="ragbot") as app:
        last_answer = gr.State(None)
        turns = gr.State([])  # (standalone question, answer) pairs, for rewriting follow-ups
        gr.Markdown("## ragbot\nAsk about the briefs in the library. Every answer sentence cites the passage it comes from.")
        with gr.Tabs():
            with gr.Tab("Chat"), gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(label="Conversation", height=420, sanitize_html=True, placeholder="Ask a question to start.")
                    question = gr.Textbox(
                        label="Question",
                        placeholder="e.g. When did Korea become a dialogue partner of ASEAN?",
                        max_lines=4,
                        autofocus=True,
                    )
                    with gr.Row():
                        ask = gr.Button("Ask", variant="primary")
                        clear = gr.Button("Clear")
                    gr.Examples(example_questions(pipeline), inputs=question, label="Examples")
                    with gr.Accordion("Was this answer useful?", open=False):
                        comment = gr.Textbox(label="Comment (optional)", max_lines=3)
                        with gr.Row():
                            up = gr.Button("👍 Helpful", elem_id="rb-up")
                            down = gr.Button("👎 Not helpful", elem_id="rb-down")
                        feedback_status = gr.Markdown("")
                    with gr.Accordion("Settings", open=False):
                        top_k = gr.Slider(3, 20, value=pipeline.settings.top_k, step=1, label="Passages to retrieve")
                        briefs = gr.CheckboxGroup(brief_choices(pipeline), value=list(pipeline.index.documents), label="Briefs to search")
                        engine = gr.Dropdown(
                            [("extractive: instant quotes", "extractive"), ("llm: a written answer (slower)", "llm")],
                            value=pipeline.settings.engine,
                            label="Answer engine",
                            elem_id="rb-engine",
                        )
                with gr.Column(scale=2):
                    gr.Markdown("### Sources")
                    sources = gr.HTML(SOURCES_PLACEHOLDER)
                    source_pick = gr.Radio([], label="Read a source in its brief", elem_id="rb-source-pick")
                    viewer = gr.HTML(VIEWER_PLACEHOLDER, elem_id="rb-viewer")
            with gr.Tab("Documents"):
                table = gr.Dataframe(
                    document_rows(pipeline),
                    headers=["Title", "Date", "Authors", "Passages", "File"],
                    interactive=False,
                    elem_id="rb-documents",
                )
                with gr.Row():
                    with gr.Column():
                        upload = gr.File(
                            label="Add a brief (.txt, .md or .pdf)",
                            file_types=[".txt", ".md", ".pdf"],
                            type="filepath",
                            elem_id="rb-upload",
                        )
                        add = gr.Button("Add to library", variant="primary")
                    with gr.Column():
                        to_remove = gr.Dropdown(brief_choices(pipeline), value=None, label="Remove a brief")
                        remove = gr.Button("Remove from library", variant="stop")
                library_status = gr.Markdown("", elem_id="rb-library-status")
            with gr.Tab("Evaluation"):
                gr.Markdown(
                    "Run a QA set through the same pipeline as the chat: one JSON object a line with `id`, `question`, `type`, "
                    "`answer`, `key_facts` and `evidence` (see the README). Leave the file empty to run the shipped set."
                )
                with gr.Row():
                    dataset_file = gr.File(label="QA set (.jsonl)", file_types=[".jsonl"], type="filepath", elem_id="rb-eval-file")
                    run_eval = gr.Button("Run evaluation", variant="primary")
                eval_status = gr.Markdown("", elem_id="rb-eval-status")
                eval_table = gr.Dataframe(headers=["metric", "all"], interactive=False, elem_id="rb-eval-table")
                with gr.Row():
                    by_type_plot = gr.Image(label="Metrics by question type", type="filepath")
                    rank_plot = gr.Image(label="Rank of the first relevant passage", type="filepath")
                    latency_plot = gr.Image(label="Latency", type="filepath")
                eval_files = gr.File(label="Download the report", file_count="multiple", elem_id="rb-eval-files")
            with gr.Tab("Quiz") as quiz_tab:
                build_quiz_tab(quiz_tab, lambda: live.pipeline, store)

        pending = gr.State(None)  # the question whose written answer is on its way
        outputs = [chat, sources, question, last_answer, source_pick, feedback_status, turns, pending]
        inputs = [question, chat, turns, top_k, briefs, engine, pending]
        written = [chat, sources, last_answer, source_pick, turns, pending]
        # Quotes in ASK_GROUP (the Ask button and Enter share one limit); the written answer in LLM_GROUP, so a slow
        # generation never holds up other users' questions (ragbot/app/concurrency.py).
        # `success`: a refused question (still writing) or a failed one starts no generation.
        writes = [
            trigger(respond, inputs, outputs, api_name=api, concurrency_id=ASK_GROUP).success(
                write, [pending, top_k, briefs], written, api_name=False, concurrency_id=LLM_GROUP, concurrency_limit=LLM_LIMIT
            )
            for trigger, api in ((ask.click, "ask"), (question.submit, False))
        ]
        clear.click(
            lambda: ([], SOURCES_PLACEHOLDER, "", None, gr.Radio(choices=[], value=None), "", [], None, VIEWER_PLACEHOLDER),
            None,
            [*outputs, viewer],
            api_name=False,
            cancels=writes,
        )
        source_pick.change(open_source, source_pick, viewer, api_name=False).then(None, None, None, js=SCROLL_TO_HIT)
        up.click(lambda c, last: give_feedback(1, c, last), [comment, last_answer], [feedback_status, comment], api_name=False)
        down.click(lambda c, last: give_feedback(-1, c, last), [comment, last_answer], [feedback_status, comment], api_name=False)
        library = [library_status, table, to_remove, briefs]
        add.click(add_brief, upload, library, api_name=False, concurrency_limit=1)
        run_eval.click(
            evaluate,
            dataset_file,
            [eval_status, eval_table, by_type_plot, rank_plot, latency_plot, eval_files],
            api_name=False,
            concurrency_limit=1,
        )
        remove.click(remove_brief, to_remove, library, api_name=False, concurrency_limit=1)
    return app
