"""The Documents tab: the library's briefs, adding one (only it is embedded) and removing one (editors only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from ragbot.app.live import LivePipeline, brief_choices
from ragbot.app.roles import EDITORS_ONLY, Users, username
from ragbot.chain import Pipeline
from ragbot.corpus import add_document, remove_document
from ragbot.errors import RagbotError


def document_rows(pipeline: Pipeline) -> list[list[Any]]:
    return [
        [d.get("title") or doc_id, d.get("date") or "", ", ".join(d.get("authors") or []), d.get("n_passages", 0), doc_id]
        for doc_id, d in pipeline.index.documents.items()
    ]


def library_outputs(current: Pipeline, message: str) -> tuple[Any, ...]:
    """The status line, the table, the remove picker and the chat's brief picker, as the library is now."""
    choices = brief_choices(current)
    ids = [doc_id for _, doc_id in choices]
    return message, document_rows(current), gr.Dropdown(choices=choices, value=None), gr.CheckboxGroup(choices=choices, value=ids)


class DocumentHandlers:
    """Adding and removing briefs; the handlers refuse a reader's request whatever the page shows."""

    def __init__(self, live: LivePipeline, users: Users) -> None:
        self.live, self.users = live, users

    def add_brief(self, path: str | None, request: gr.Request, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
        current = self.live.pipeline
        if not self.users.can_edit(username(request)):
            return library_outputs(current, f"⚠️ {EDITORS_ONLY}")
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
            current = self.live.change_library(lambda folder: added.append(add_document(folder, upload.name, data, max_bytes)))
        except RagbotError as exc:
            return library_outputs(current, f"⚠️ {exc}")
        progress(1.0, desc="Done")
        d = current.index.documents.get(added[0], {})
        return library_outputs(current, f"Added **{added[0]}** ({d.get('n_passages', 0)} passages); it is searchable now.")

    def remove_brief(self, doc_id: str | None, request: gr.Request) -> tuple[Any, ...]:
        current = self.live.pipeline
        if not self.users.can_edit(username(request)):
            return library_outputs(current, f"⚠️ {EDITORS_ONLY}")
        if not doc_id:
            return library_outputs(current, "Choose a brief to remove.")
        if len(current.index.documents) <= 1:
            return library_outputs(current, "⚠️ The library needs at least one brief.")
        try:
            current = self.live.change_library(lambda folder: remove_document(folder, doc_id))
        except RagbotError as exc:
            return library_outputs(current, f"⚠️ {exc}")
        return library_outputs(current, f"Removed **{doc_id}**.")


def build_documents_tab(live: LivePipeline, briefs: Any, users: Users, visible: bool = True) -> Any:
    """The tab's components and events, inside an open gr.Tab; ``briefs`` is the chat's brief picker, kept in step.

    Returns the add/remove controls (shown when ``visible``), for the page to show to editors only.
    """
    handlers = DocumentHandlers(live, users)
    table = gr.Dataframe(
        document_rows(live.pipeline), headers=["Title", "Date", "Authors", "Passages", "File"], interactive=False, elem_id="rb-documents"
    )
    with gr.Row(visible=visible, elem_id="rb-library-edit") as editing:
        with gr.Column():
            upload = gr.File(
                label="Add a brief (.txt, .md or .pdf)", file_types=[".txt", ".md", ".pdf"], type="filepath", elem_id="rb-upload"
            )
            add = gr.Button("Add to library", variant="primary")
        with gr.Column():
            to_remove = gr.Dropdown(brief_choices(live.pipeline), value=None, label="Remove a brief")
            remove = gr.Button("Remove from library", variant="stop")
    library_status = gr.Markdown("", elem_id="rb-library-status")
    library = [library_status, table, to_remove, briefs]
    add.click(handlers.add_brief, upload, library, api_name=False, concurrency_limit=1)
    remove.click(handlers.remove_brief, to_remove, library, api_name=False, concurrency_limit=1)
    return editing
