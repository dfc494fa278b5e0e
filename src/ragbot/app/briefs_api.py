"""``POST /api/briefs/upload``: editors add documents (PDF, Word, web pages, PowerPoint, text) over HTTP.

A multipart form with one or more ``files``; each is read as on the Documents tab (ragbot/app/uploads.py)
and the library is re-indexed once. The answer lists the documents added and one line per file refused.
The path ends in ``/upload``, so the body-size guard leaves it to this route, which reads each file up to
``max_upload_mb`` and at most ``MAX_FILES`` files.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ragbot.app.api_errors import ApiError
from ragbot.app.auth import ApiLogin
from ragbot.app.live import LivePipeline
from ragbot.app.roles import EDITORS_ONLY
from ragbot.app.uploads import MAX_FILES, add_files


class BriefUploads:
    """The upload route's handler: behind the API's login, for editors only."""

    def __init__(self, live: LivePipeline, login: ApiLogin) -> None:
        self.live, self.login = live, login

    async def upload(self, request: Request) -> dict[str, Any]:
        """Each file read and added (PDF, DOCX, HTML, PPTX, TXT, MD); the library re-indexed once; what was added and what was not."""
        live = self.live
        if not self.login.users.can_edit(self.login(request)):
            raise ApiError(403, EDITORS_ONLY, "forbidden")
        max_bytes = live.pipeline.settings.max_upload_mb * 1_000_000
        try:
            form = await request.form(max_files=MAX_FILES + 1, max_part_size=max_bytes + 1)
        except Exception as exc:  # a malformed multipart body, or more parts than allowed
            raise ApiError(400, f"send the documents as multipart/form-data field `files` ({type(exc).__name__})") from None
        uploads = [f for f in form.getlist("files") if hasattr(f, "filename")]
        if not uploads:
            raise ApiError(400, "no files: send one or more documents in the multipart field `files`")
        files = []
        for f in uploads:
            data = await f.read(max_bytes + 1)  # type: ignore[union-attr]
            files.append((str(f.filename or "document"), data))  # type: ignore[union-attr]
        result = await run_in_threadpool(add_files, live, files)
        if not result.added:
            raise ApiError(400, "; ".join(result.errors) or "nothing was added")
        docs = result.pipeline.index.documents
        return {
            "added": [
                {"doc_id": d, "title": docs.get(d, {}).get("title"), "n_passages": docs.get(d, {}).get("n_passages", 0)}
                for d in result.added
            ],
            "errors": result.errors,
            "briefs": len(docs),
        }
