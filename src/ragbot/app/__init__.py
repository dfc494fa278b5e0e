"""The Gradio chat page: a thin shell that calls Pipeline.ask and renders the answer with its sources."""

from __future__ import annotations

import html
import os
import sys
from typing import Any

from ragbot.chain import Pipeline
from ragbot.citations import Answer
from ragbot.errors import RagbotError
from ragbot.settings import Settings

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home: the machine is offline

SOURCES_PLACEHOLDER = "<p class='rb-empty'>Cited passages appear here.</p>"
CSS = """
.rb-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; margin-bottom: 10px;}
.rb-card h4 {margin: 0 0 4px 0; font-size: 0.95em;}
.rb-meta {color: var(--body-text-color-subdued); font-size: 0.85em; margin-bottom: 6px;}
.rb-text {font-size: 0.9em; line-height: 1.45; white-space: pre-wrap;}
.rb-text mark {background: #fde68a; color: inherit; padding: 0 1px;}
.rb-empty {color: var(--body-text-color-subdued);}
"""


def _highlight(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    """The passage as escaped HTML with the supporting spans marked."""
    out, last = [], 0
    for s, e in sorted(spans):
        out.append(html.escape(text[last:s]))
        out.append(f"<mark>{html.escape(text[s:e])}</mark>")
        last = e
    out.append(html.escape(text[last:]))
    return "".join(out)


def render_sources(answer: Answer, documents: dict[str, dict[str, Any]]) -> str:
    """Source cards for an answer (or its closest passages when it abstains); all document text escaped."""
    cards = []
    if answer.abstained:
        cards.append("<p><b>The briefs don't say.</b> Closest passages:</p>")
        items = [(None, h.passage, (), h.score) for h in answer.retrieved[:3]]
    else:
        score = {h.passage.passage_id: h.score for h in answer.retrieved}
        items = [(c.n, c.passage, c.spans, score.get(c.passage.passage_id)) for c in answer.citations]
    for n, p, spans, s in items:
        meta = documents.get(p.doc_id, {})
        label = f"[{n}] " if n is not None else ""
        details = " · ".join(x for x in (meta.get("date"), p.section, f"score {s:.3f}" if s is not None else None) if x)
        cards.append(
            f"<div class='rb-card'><h4>{html.escape(label + p.title)}</h4>"
            f"<div class='rb-meta'>{html.escape(details)}</div>"
            f"<div class='rb-text'>{_highlight(p.text, spans)}</div></div>"
        )
    return "".join(cards)


def example_questions(settings: Settings, pipeline: Pipeline) -> list[str]:
    if settings.example_questions:
        return list(settings.example_questions)
    return [f"What is “{d['title']}” about?" for d in list(pipeline.index.documents.values())[:3]]


def build_app(pipeline: Pipeline) -> Any:
    import gradio as gr

    documents = pipeline.index.documents

    def respond(question: str, history: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str, str]:
        history = list(history or [])
        try:
            answer = pipeline.ask(question)
        except RagbotError as exc:
            return [*history, {"role": "assistant", "content": f"⚠️ {exc}"}], SOURCES_PLACEHOLDER, question
        history += [{"role": "user", "content": answer.question}, {"role": "assistant", "content": answer.text}]
        return history, render_sources(answer, documents), ""

    with gr.Blocks(title="ragbot") as app:
        gr.Markdown(
            f"## ragbot\nAsk about the {len(documents)} briefs in the library. Every answer sentence cites the passage it comes from."
        )
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Conversation", height=460, sanitize_html=True, placeholder="Ask a question to start.")
                question = gr.Textbox(
                    label="Question", placeholder="e.g. When did Korea become a dialogue partner of ASEAN?", max_lines=4, autofocus=True
                )
                with gr.Row():
                    ask = gr.Button("Ask", variant="primary")
                    clear = gr.Button("Clear")
                gr.Examples(example_questions(pipeline.settings, pipeline), inputs=question, label="Examples")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(SOURCES_PLACEHOLDER)
        ask.click(respond, [question, chat], [chat, sources, question], api_name="ask")
        question.submit(respond, [question, chat], [chat, sources, question], api_name=False)
        clear.click(lambda: ([], SOURCES_PLACEHOLDER, ""), None, [chat, sources, question], api_name=False)
    return app


def serve(settings: Settings) -> None:
    """Load the pipeline (refreshing the index if needed) and serve the page until interrupted."""
    pipeline = Pipeline.load(settings)
    app = build_app(pipeline)
    print(f"ragbot: serving on http://{settings.host}:{settings.port}", file=sys.stderr)
    try:
        app.queue(default_concurrency_limit=4).launch(
            server_name=settings.host, server_port=settings.port, show_error=False, quiet=True, css=CSS
        )
    except OSError as exc:
        raise RagbotError(f"cannot serve on {settings.host}:{settings.port}: {exc}") from None
