"""The Gradio page: chat with cited sources, a document viewer, session settings and feedback."""

from __future__ import annotations

from typing import Any

from ragbot.app.render import HIT_ID, SOURCES_PLACEHOLDER, VIEWER_PLACEHOLDER, render_document, render_sources
from ragbot.chain import Pipeline
from ragbot.corpus import decode
from ragbot.errors import RagbotError
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
SCROLL_TO_HIT = f"() => {{ const el = document.getElementById('{HIT_ID}'); if (el) el.scrollIntoView({{block: 'center'}}); }}"


def example_questions(pipeline: Pipeline) -> list[str]:
    if pipeline.settings.example_questions:
        return list(pipeline.settings.example_questions)
    return [f"What is “{d['title']}” about?" for d in list(pipeline.index.documents.values())[:3]]


def build_app(pipeline: Pipeline, store: Store) -> Any:
    import gradio as gr

    documents = pipeline.index.documents
    doc_choices = [(f"{d.get('title') or doc_id} ({d.get('date') or '?'})", doc_id) for doc_id, d in documents.items()]
    passages = {p.passage_id: p for p in pipeline.index.passages}

    def respond(question: str, history: list[dict[str, Any]], top_k: int, briefs: list[str]) -> tuple[Any, ...]:
        history = list(history or [])
        if not briefs:
            return (
                [*history, {"role": "assistant", "content": "⚠️ Choose at least one brief to search in Settings."}],
                SOURCES_PLACEHOLDER,
                question,
                None,
                gr.Radio(choices=[], value=None),
                "",
            )
        try:
            answer = pipeline.ask(question, k=int(top_k), docs=None if len(briefs) == len(documents) else set(briefs))
        except RagbotError as exc:
            return (
                [*history, {"role": "assistant", "content": f"⚠️ {exc}"}],
                SOURCES_PLACEHOLDER,
                question,
                None,
                gr.Radio(choices=[], value=None),
                "",
            )
        history += [{"role": "user", "content": answer.question}, {"role": "assistant", "content": answer.text}]
        last = {
            "question": answer.question,
            "answer": answer.text,
            "abstained": answer.abstained,
            "citations": [{k: v for k, v in c.to_dict().items() if k != "text"} for c in answer.citations],
            "settings": {
                "engine": pipeline.settings.engine,
                "top_k": int(top_k),
                "briefs": sorted(briefs),
                "retriever": pipeline.settings.retriever,
            },
        }
        sources = [(f"[{c.n}] {c.passage.title}", c.passage.passage_id) for c in answer.citations]
        if answer.abstained:
            sources = [(f"closest: {h.passage.title}", h.passage.passage_id) for h in answer.retrieved[:3]]
        return history, render_sources(answer, documents), "", last, gr.Radio(choices=sources, value=None), ""

    def open_source(passage_id: str | None) -> str:
        if not passage_id or passage_id not in passages:
            return VIEWER_PLACEHOLDER
        p = passages[passage_id]
        path = pipeline.settings.corpus_dir / p.doc_id
        try:
            raw = decode(path.read_bytes(), path)
        except (OSError, RagbotError):
            return f"<p class='rb-empty'>{p.doc_id} is no longer in the corpus folder.</p>"
        return render_document(raw, documents.get(p.doc_id, {}), p)

    def give_feedback(rating: int, comment: str, last: dict[str, Any] | None) -> tuple[str, str]:
        if not last:
            return "Ask a question first.", comment
        try:
            store.add_feedback(Feedback(rating=rating, comment=comment or "", **last))
        except RagbotError as exc:
            return f"⚠️ {exc}", comment
        return "Thank you: your feedback is saved.", ""

    with gr.Blocks(title="ragbot") as app:
        last_answer = gr.State(None)
        gr.Markdown(
            f"## ragbot\nAsk about the {len(documents)} briefs in the library. Every answer sentence cites the passage it comes from."
        )
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
                    briefs = gr.CheckboxGroup(doc_choices, value=list(documents), label="Briefs to search")
                    gr.Dropdown([pipeline.settings.engine], value=pipeline.settings.engine, label="Answer engine", interactive=False)
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(SOURCES_PLACEHOLDER)
                source_pick = gr.Radio([], label="Read a source in its brief", elem_id="rb-source-pick")
                viewer = gr.HTML(VIEWER_PLACEHOLDER, elem_id="rb-viewer")

        outputs = [chat, sources, question, last_answer, source_pick, feedback_status]
        ask.click(respond, [question, chat, top_k, briefs], outputs, api_name="ask")
        question.submit(respond, [question, chat, top_k, briefs], outputs, api_name=False)
        clear.click(
            lambda: ([], SOURCES_PLACEHOLDER, "", None, gr.Radio(choices=[], value=None), "", VIEWER_PLACEHOLDER),
            None,
            [*outputs, viewer],
            api_name=False,
        )
        source_pick.change(open_source, source_pick, viewer, api_name=False).then(None, None, None, js=SCROLL_TO_HIT)
        up.click(lambda c, last: give_feedback(1, c, last), [comment, last_answer], [feedback_status, comment], api_name=False)
        down.click(lambda c, last: give_feedback(-1, c, last), [comment, last_answer], [feedback_status, comment], api_name=False)
    return app
