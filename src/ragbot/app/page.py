"""The Gradio page: one tab a module (chat, documents, evaluation, quiz) over the pipeline being served."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ragbot.app.chat_tab import build_chat_tab
from ragbot.app.documents_tab import build_documents_tab
from ragbot.app.evaluation_tab import build_evaluation_tab
from ragbot.app.live import LivePipeline, brief_choices
from ragbot.app.quiz_tab import build_quiz_tab
from ragbot.app.roles import Users, username
from ragbot.userdata.base import UserDataStore

CSS = """
.rb-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; margin-bottom: 10px;}
.rb-card h4 {margin: 0 0 4px 0; font-size: 0.95em;}
.rb-meta {color: var(--body-text-color-subdued); font-size: 0.85em; margin-bottom: 6px;}
.rb-score {font-size: 0.8em; color: var(--body-text-color-subdued);}
.rb-text, .rb-doc-text {font-size: 0.9em; line-height: 1.45; white-space: pre-wrap;}
.rb-doc-text {max-height: 420px; overflow-y: auto; border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 12px;}
.rb-text mark, .rb-doc-text mark {background: #fde68a; color: inherit; padding: 0 1px;}
.rb-empty {color: var(--body-text-color-subdued);}
.rb-status {border-radius: 8px; padding: 6px 10px; margin-bottom: 10px; font-size: 0.9em;}
.rb-status[data-status='unsure'] {background: #fef3c7;}
.rb-status[data-status='abstained'] {background: #fee2e2;}
.rb-status[data-status='pending'] {background: #e0f2fe;}
"""


class PageHandlers:
    """What the page does when it loads: the brief picker as the library is now, and the editors' controls for editors."""

    def __init__(self, live: LivePipeline, users: Users) -> None:
        self.live, self.users = live, users

    def current_briefs(self) -> Any:
        """The brief picker as the library is now: another replica or `ragbot index` may have changed it since start-up."""
        pipeline = self.live.pipeline
        return gr.update(choices=brief_choices(pipeline), value=list(pipeline.index.documents))

    def show_for_editors(self, request: gr.Request) -> tuple[Any, Any]:
        editor = self.users.can_edit(username(request))
        return gr.update(visible=editor), gr.update(visible=editor)


def build_app(live: LivePipeline, store: UserDataStore, users: Users | None = None) -> Any:
    """The page; with a login, a reader sees no add/remove controls and no Evaluation tab (and the handlers refuse them)."""
    users = users or Users()
    handlers = PageHandlers(live, users)
    hidden = users.login_required  # shown to editors once the page knows who is logged in
    with gr.Blocks(title="ragbot") as app:
        gr.Markdown("## ragbot\nAsk about the briefs in the library. Every answer sentence cites the passage it comes from.")
        with gr.Tabs():
            with gr.Tab("Chat"):
                chat = build_chat_tab(live, store)
            with gr.Tab("Documents"):
                editing = build_documents_tab(live, chat.briefs, users, visible=not hidden)
            with gr.Tab("Evaluation", visible=not hidden, elem_id="rb-evaluation-tab") as evaluation:
                build_evaluation_tab(live, users)
            with gr.Tab("Quiz") as quiz:
                build_quiz_tab(quiz, lambda: live.pipeline, store)
        app.load(handlers.current_briefs, None, chat.briefs, api_name=False)
        if hidden:
            app.load(handlers.show_for_editors, None, [editing, evaluation], api_name=False)
    return app
