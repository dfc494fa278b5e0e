"""The Documents tab: the library's documents, adding several at once (only they are embedded) and removing one (editors only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from ragbot.app.live import LivePipeline, brief_choices
from ragbot.app.roles import EDITORS_ONLY, Users, username
from ragbot.app.uploads import add_files
from ragbot.chain import Pipeline
from ragbot.corpus.edit import remove_document
from ragbot.corpus.folder import UPLOAD_SUFFIXES
from ragbot.engines.cache_warmer import status_line
from ragbot.errors import RagbotError


def document_rows(pipeline: Pipeline) -> list[list[Any]]:
    """One row a document; one that could not be read says why instead of a title."""
    return [
        [
            f"⚠️ not indexed: {d['error']}" if d.get("error") else d.get("title") or doc_id,
            d.get("date") or "",
            ", ".join(d.get("authors") or []),
            d.get("n_passages", 0),
            doc_id,
        ]
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

    def add_briefs(
        self,
        paths: list[str] | str | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio injects it)
    ) -> tuple[Any, ...]:
        current = self.live.pipeline
        if not self.users.can_edit(username(request)):
            return library_outputs(current, f"⚠️ {EDITORS_ONLY}")
        chosen = [paths] if isinstance(paths, str) else list(paths or [])
        if not chosen:
            return library_outputs(current, f"Choose one or more files first ({', '.join(UPLOAD_SUFFIXES)}).")
        max_bytes = current.settings.max_upload_mb * 1_000_000
        files, refused = [], []
        for path in chosen:
            upload = Path(path)
            if upload.stat().st_size > max_bytes:
                refused.append(f"{upload.name} is larger than {current.settings.max_upload_mb} MB")
                continue
            files.append((upload.name, upload.read_bytes()))
        result = add_files(self.live, files, lambda done, what: progress(done, desc=what))
        result.errors[:0] = refused
        message = ("⚠️ " if result.errors else "") + result.summary() + ("; searchable now." if result.added else "")
        return library_outputs(result.pipeline, message)

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
                label="Add documents (PDF, Word, web page, PowerPoint, text; several at once)",
                file_types=list(UPLOAD_SUFFIXES),
                file_count="multiple",
                type="filepath",
                elem_id="rb-upload",
            )
            add = gr.Button("Add to library", variant="primary")
        with gr.Column():
            to_remove = gr.Dropdown(brief_choices(live.pipeline), value=None, label="Remove a brief")
            remove = gr.Button("Remove from library", variant="stop")
    library_status = gr.Markdown("", elem_id="rb-library-status")
    if live.pipeline.settings.warm_cache and live.pipeline.settings.engine == "llm":  # the background warming's progress
        gr.Markdown(status_line, every=10, elem_id="rb-cache-status")
    library = [library_status, table, to_remove, briefs]
    add.click(handlers.add_briefs, upload, library, api_name=False, concurrency_limit=1)
    remove.click(handlers.remove_brief, to_remove, library, api_name=False, concurrency_limit=1)
    return editing
