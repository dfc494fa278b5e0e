"""The Chat tab: a question, the closest passages at once, the model's check, then the written, cited answer.

Every answer ends in one of three states, shown the same way in the chat and the sources panel:
answered (cited), unsure (the closest evidence, labelled as not an answer) and "the briefs don't say"
(with the closest passages). With the LLM engine a question is condensed and retrieved once: the
Ask event (ASK_GROUP) shows the quotes and keeps what it retrieved for the write event (LLM_GROUP),
which has the model check and write from the same passages. A follow-up the model must make
standalone is left whole to the write event, so the model condenses it in its own lane.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr

from ragbot.answer import PENDING, Answer, Turn, Verdict
from ragbot.app import metrics
from ragbot.app.concurrency import ASK_GROUP, LANES, LLM_GROUP
from ragbot.app.live import LivePipeline, brief_choices
from ragbot.app.render import HIT_ID, SOURCES_PLACEHOLDER, VIEWER_PLACEHOLDER, answer_markdown, as_text, render_document, render_sources
from ragbot.chain import Pipeline, Prepared
from ragbot.errors import RagbotError
from ragbot.library import library_text
from ragbot.question import Question
from ragbot.userdata.base import UserDataStore
from ragbot.userdata.records import Feedback

WRITING_MESSAGE = "A written answer is still on its way: ask again when it is done, or press Clear."
UNDERSTANDING = "*Understanding the follow-up…*"
SCROLL_TO_HIT = f"() => {{ const el = document.getElementById('{HIT_ID}'); if (el) el.scrollIntoView({{block: 'center'}}); }}"
# `confidence` is always the calibrated probability that the passages state the answer, whatever the state.
VERDICT_MARKDOWN = {
    "answered": "*The passages state the answer (confidence {c:.2f}).*",
    "unsure": "*The passages may not state the answer (confidence that they do: {c:.2f}).*",
    "abstained": "*The passages do not state the answer (confidence that they do: {c:.2f}).*",
}


def status_markdown(answer: Answer) -> list[str]:
    """The lines that open an answer in the chat: what state it is in, before any quote or written text."""
    confidence = "" if answer.confidence is None else f" (confidence that they do: {answer.confidence:.2f})"
    if answer.status == PENDING:
        return ["**Closest passages** · *checking whether they state the answer…*"]
    if answer.status == "unsure":
        return [f"**Unsure: not an answer.** {as_text(answer.notice)}{confidence}", "", "*Closest evidence:*"]
    if answer.status == "abstained":
        return [f"**The briefs don't say.**{confidence} *The closest passages are under Sources.*"]
    return []


def chat_turn(answer: Answer, written: str = "", verdict: Verdict | None = None) -> list[dict[str, Any]]:
    """The user's message and the answer as chat messages; while the answer is pending, the quotes, the check and the text so far.

    Questions, answers and generated text are shown as text: no HTML or markdown from them is rendered.
    """
    lines = []
    if answer.standalone:
        lines.append(f"*Understood as:* {as_text(answer.standalone)}\n")
    lines += status_markdown(answer)
    if not answer.abstained:
        quoted = answer.status in (PENDING, "unsure")
        lines.append(("> " if quoted else "") + answer_markdown(answer.text if not quoted else " ".join(_quotes(answer))))
    if verdict is not None:
        lines.append("\n" + VERDICT_MARKDOWN[verdict.status].format(c=verdict.confidence))
        if verdict.status == "answered":
            lines.append(f"✍️ *Writing an answer…* {as_text(written)}")
    if answer.dropped:
        lines.append(f"\n*{len(answer.dropped)} written sentence(s) removed: the cited passage does not state them.*")
    if answer.answered and answer.confidence is not None:
        lines.append(f"\n*Checked by the model: the cited passages state this (confidence {answer.confidence:.2f}).*")
    if answer.notice and answer.answered:
        lines.append(f"\n⚠️ {as_text(answer.notice)}")
    return [{"role": "user", "content": as_text(answer.question)}, {"role": "assistant", "content": "\n".join(x for x in lines if x)}]


def _quotes(answer: Answer) -> list[str]:
    """The preview's or the unsure answer's quotes, each with its marker, as evidence rather than as an answer."""
    return [f"“{c.quote.strip()}” [{c.n}]" for c in answer.citations] or [answer.text]


def example_questions(pipeline: Pipeline) -> list[str]:
    if pipeline.settings.example_questions:
        return list(pipeline.settings.example_questions)
    return [f"What is “{d['title']}” about?" for d in list(pipeline.index.documents.values())[:3]]


def scope(briefs: list[str], documents: dict[str, Any]) -> set[str] | None:
    """The briefs to search: None when every brief is chosen."""
    return None if set(briefs) >= set(documents) else set(briefs)


def feedback_record(answer: Answer, top_k: int, briefs: list[str], retriever: str) -> dict[str, Any]:
    """What a thumbs up or down refers to: the question, the answer, its citations and the settings it was made with."""
    return {
        "question": answer.question,
        "answer": answer.text,
        "abstained": not answer.answered,
        "citations": [{k: v for k, v in c.to_dict().items() if k != "text"} for c in answer.citations],
        "settings": {
            "engine": answer.engine,
            "status": answer.status,
            "confidence": answer.confidence,
            "top_k": int(top_k),
            "briefs": sorted(briefs),
            "retriever": retriever,
        },
    }


@dataclass(frozen=True)
class PendingTurn:
    """A question whose model check and written answer are on their way (the page's per-session state between two events)."""

    pipeline: Pipeline  # the library the quotes came from, even if it changes meanwhile
    question: Question
    prepared: Prepared | None  # what the quotes were retrieved with; None: a follow-up the model condenses first
    history: list[dict[str, Any]]
    since: float

    def writing(self, timeout: float) -> bool:
        """Whether the written answer may still be streaming into the chat."""
        return time.monotonic() - self.since < timeout + 30


class ChatHandlers:
    """The tab's event handlers, over the pipeline being served and the user-data store (feedback)."""

    def __init__(self, live: LivePipeline, store: UserDataStore) -> None:
        self.live, self.store = live, store

    def settle(self, answer: Answer, history: list[dict[str, Any]], turns: list[tuple[str, str]], top_k: int, briefs: list[str]) -> tuple:
        """The finished turn: chat, source cards, the record feedback refers to, the source picker and the conversation."""
        pipeline = self.live.pipeline
        metrics.record_answer(answer.engine, answer.status, answer.timings_ms, "page")
        label = "" if answer.answered else "closest: "
        sources = [(f"[{c.n}] {label}{c.passage.title}", c.passage.passage_id) for c in answer.citations]
        if answer.abstained:
            sources = [(f"closest: {h.passage.title}", h.passage.passage_id) for h in answer.retrieved[:3]]
        turns = [*(turns or []), (answer.standalone or answer.question, answer.text)][-6:]
        last = feedback_record(answer, top_k, briefs, pipeline.settings.retriever)
        picker = gr.Radio(choices=sources, value=None)
        return [*history, *chat_turn(answer)], render_sources(answer, pipeline.index.documents), last, picker, turns

    def respond(
        self,
        question: str,
        history: list[dict[str, Any]],
        turns: list[tuple[str, str]],
        top_k: int,
        briefs: list[str],
        engine: str,
        pending: PendingTurn | None,
    ) -> tuple[Any, ...]:
        """The closest passages, at once (ASK_GROUP): retrieval and the extractive answer. With the LLM engine, `write` follows."""
        current = self.live.pipeline
        if pending and pending.writing(current.settings.llm_timeout):
            # The written answer redraws this chat as it streams: a second question now would be drawn over.
            raise gr.Error(WRITING_MESSAGE, title="Still writing", print_exception=False)
        history = list(history or [])
        no_sources = gr.Radio(choices=[], value=None)
        failed = (SOURCES_PLACEHOLDER, question, None, no_sources, "", turns, None)
        if not briefs:
            return [*history, {"role": "assistant", "content": "⚠️ Choose at least one brief to search in Settings."}], *failed
        try:
            asked = current.question(question, k=int(top_k), docs=scope(briefs, current.index.documents), history=turns)
            if engine == "llm" and current.needs_rewrite(asked):
                later = PendingTurn(current, asked, None, history, time.monotonic())
                chat = [*history, {"role": "user", "content": as_text(asked.text)}, {"role": "assistant", "content": UNDERSTANDING}]
                return chat, SOURCES_PLACEHOLDER, "", None, no_sources, "", turns, later
            with LANES.hold(ASK_GROUP):  # the API's asks share the group's slots
                prepared = current.prepare(asked, engine)
                answer = Turn.of(current.answer(prepared, "extractive")).answer
        except RagbotError as exc:
            return [*history, {"role": "assistant", "content": f"⚠️ {exc}"}], *failed
        if engine == "llm" and not answer.abstained:  # below the threshold the LLM engine abstains too: nothing to check
            answer.status, answer.notice = PENDING, ""
            later = PendingTurn(current, asked, prepared, history, time.monotonic())
            return [*history, *chat_turn(answer)], render_sources(answer, current.index.documents), "", None, no_sources, "", turns, later
        chat_out, sources_out, last, picker, turns = self.settle(answer, history, turns, top_k, briefs)
        return chat_out, sources_out, "", last, picker, "", turns, None

    def write(self, pending: PendingTurn | None, turns: list[tuple[str, str]], top_k: int, briefs: list[str]) -> Iterator[tuple[Any, ...]]:
        """The model's check and the written answer (LLM_GROUP), from the passages the quotes came from; then the final state."""
        if not pending:
            yield tuple(gr.skip() for _ in range(6))
            return
        pipeline, history = pending.pipeline, pending.history
        skip = (gr.skip(),) * 5
        turn = Turn()
        try:
            # At most llm_concurrency generations across the page and the API; closing this generator (Clear, a closed page)
            # gives the slot back.
            with LANES.hold(LLM_GROUP):
                events = pipeline.answer(pending.prepared, "llm") if pending.prepared else pipeline.stream(pending.question, "llm")
                for event in events:
                    turn.add(event)
                    if turn.final is not None:
                        yield (*self.settle(turn.final, history, turns, top_k, briefs), None)
                        return
                    if turn.preview is not None:
                        yield [*history, *chat_turn(turn.preview, turn.written, turn.verdict)], *skip
        except RagbotError as exc:
            yield [*history, {"role": "assistant", "content": f"⚠️ {exc}"}], gr.skip(), None, gr.skip(), turns, None

    def open_source(self, passage_id: str | None) -> str:
        """The cited passage's whole brief, the passage marked (scrolled to by SCROLL_TO_HIT)."""
        current = self.live.pipeline
        row = current.index.row_of(passage_id) if passage_id else None
        if row is None:
            return VIEWER_PLACEHOLDER
        p = current.index.passages[row]
        try:
            raw = library_text(current.settings, p.doc_id)  # any format: the text the passage's offsets point into
        except (OSError, RagbotError):
            return f"<p class='rb-empty'>{p.doc_id} is no longer in the corpus folder.</p>"
        return render_document(raw, current.index.documents.get(p.doc_id, {}), p)

    def give_feedback(self, rating: int, comment: str, last: dict[str, Any] | None) -> tuple[str, str]:
        """Store a thumbs up (1) or down (-1) with its comment and the answer it refers to."""
        if not last:
            return "Ask a question first.", comment
        try:
            self.store.add_feedback(Feedback(rating=rating, comment=comment or "", **last))
        except RagbotError as exc:
            return f"⚠️ {exc}", comment
        return "Thank you: your feedback is saved.", ""

    def helpful(self, comment: str, last: dict[str, Any] | None) -> tuple[str, str]:
        return self.give_feedback(1, comment, last)

    def not_helpful(self, comment: str, last: dict[str, Any] | None) -> tuple[str, str]:
        return self.give_feedback(-1, comment, last)


@dataclass(frozen=True)
class ChatTab:
    """The tab's components: the brief picker is kept in step by the Documents tab and the page's load event."""

    chat: Any
    question: Any
    ask: Any
    clear: Any
    comment: Any
    up: Any
    down: Any
    feedback_status: Any
    top_k: Any
    briefs: Any
    engine: Any
    sources: Any
    source_pick: Any
    viewer: Any


def layout(pipeline: Pipeline) -> ChatTab:
    """The tab's components, inside an open gr.Tab."""
    with gr.Row():
        with gr.Column(scale=3):
            chat = gr.Chatbot(label="Conversation", height=420, sanitize_html=True, placeholder="Ask a question to start.")
            question = gr.Textbox(
                label="Question", placeholder="e.g. When did Korea become a dialogue partner of ASEAN?", max_lines=4, autofocus=True
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
                    [("extractive: instant quotes", "extractive"), ("llm: checked by the model, then a written answer", "llm")],
                    value=pipeline.settings.engine,
                    label="Answer engine",
                    elem_id="rb-engine",
                )
        with gr.Column(scale=2):
            gr.Markdown("### Sources")
            sources = gr.HTML(SOURCES_PLACEHOLDER, elem_id="rb-sources")
            source_pick = gr.Radio([], label="Read a source in its brief", elem_id="rb-source-pick")
            viewer = gr.HTML(VIEWER_PLACEHOLDER, elem_id="rb-viewer")
    return ChatTab(chat, question, ask, clear, comment, up, down, feedback_status, top_k, briefs, engine, sources, source_pick, viewer)


def build_chat_tab(live: LivePipeline, store: UserDataStore) -> ChatTab:
    """The tab's components and events, inside an open gr.Tab: the handlers wired to the layout."""
    handlers, tab = ChatHandlers(live, store), layout(live.pipeline)
    last_answer = gr.State(None)
    turns = gr.State([])  # (standalone question, answer) pairs, for rewriting follow-ups
    pending = gr.State(None)  # the PendingTurn whose check and written answer are on their way
    outputs = [tab.chat, tab.sources, tab.question, last_answer, tab.source_pick, tab.feedback_status, turns, pending]
    inputs = [tab.question, tab.chat, turns, tab.top_k, tab.briefs, tab.engine, pending]
    written = [tab.chat, tab.sources, last_answer, tab.source_pick, turns, pending]
    # Quotes in ASK_GROUP (the Ask button and Enter share one limit); the check and the written answer in LLM_GROUP, so a
    # slow generation never holds up other users' questions (ragbot/app/concurrency.py).
    # `success`: a refused question (still writing) or a failed one starts no generation.
    writes = [
        trigger(handlers.respond, inputs, outputs, api_name=api, concurrency_id=ASK_GROUP).success(
            handlers.write,
            [pending, turns, tab.top_k, tab.briefs],
            written,
            api_name=False,
            concurrency_id=LLM_GROUP,
            concurrency_limit=live.pipeline.settings.llm_concurrency,  # the API's calls share LANES' same limit
        )
        for trigger, api in ((tab.ask.click, "ask"), (tab.question.submit, False))
    ]
    cleared = ([], SOURCES_PLACEHOLDER, "", None, gr.Radio(choices=[], value=None), "", [], None, VIEWER_PLACEHOLDER)
    tab.clear.click(lambda: cleared, None, [*outputs, tab.viewer], api_name=False, cancels=writes)
    tab.source_pick.change(handlers.open_source, tab.source_pick, tab.viewer, api_name=False).then(None, None, None, js=SCROLL_TO_HIT)
    tab.up.click(handlers.helpful, [tab.comment, last_answer], [tab.feedback_status, tab.comment], api_name=False)
    tab.down.click(handlers.not_helpful, [tab.comment, last_answer], [tab.feedback_status, tab.comment], api_name=False)
    return tab
