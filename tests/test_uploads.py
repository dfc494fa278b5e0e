"""Several documents at once, from the Documents tab (ragbot/app/uploads.py) and POST /api/briefs/upload (ragbot/app/briefs_api.py)."""

from __future__ import annotations

from pathlib import Path

import httpx

from ragbot.app.live import LivePipeline
from ragbot.app.roles import EDITORS_ONLY
from ragbot.app.uploads import add_files
from ragbot.chain import Pipeline
from ragbot.settings import Settings

from .conftest import EDITOR, READER
from .readers.conftest import own_brief, shipped_brief
from .readers.render import render_docx, render_html, render_pdf

FULCRUM = "2025-07_fulcrum_asean-rok-security-dual-contingency.txt"


def test_several_files_are_read_with_progress_then_indexed_once(small_corpus: Path, tmp_path: Path):
    settings = Settings(corpus_dir=small_corpus, index_dir=tmp_path / "index")
    live = LivePipeline(Pipeline.build(settings, log=lambda _m: None))
    before = live.pipeline.index.manifest["build"]
    seen: list[tuple[float, str]] = []
    files = [("Harbour pilots.pdf", render_pdf(own_brief(), pad_pages=1)), ("pilots.html", render_html(own_brief())),
             ("locked.pdf", b"%PDF-1.4 broken"), ("notes.exe", b"MZ")]  # fmt: skip
    result = add_files(live, files, lambda done, what: seen.append((done, what)))
    assert result.added == ["Harbour-pilots.pdf", "pilots.html"]
    assert len(result.errors) == 2 and "locked.pdf is a damaged PDF" in result.errors[0] and "notes.exe: only" in result.errors[1]
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and seen[-1] == (1.0, "Done")
    assert any("page 1 of" in what for _, what in seen) and any(what.startswith("Indexing 2 new") for _, what in seen)
    index = live.pipeline.index
    assert index.manifest["build"] != before and index.documents["Harbour-pilots.pdf"]["n_passages"] > 0
    assert {p.name for p in small_corpus.iterdir()} >= {"Harbour-pilots.pdf", "pilots.html"}
    assert "Added Harbour-pilots.pdf (" in result.summary() and "not added: locked.pdf" in result.summary()
    again = add_files(live, [("pilots.html", render_html(own_brief()))])
    assert not again.added and "already in the library" in again.errors[0]


def test_the_upload_route_is_for_editors_and_answers_what_was_added(deployment):
    url, root = deployment
    files = [("files", ("fulcrum.docx", render_docx(shipped_brief(FULCRUM)))), ("files", ("pilots.pdf", render_pdf(own_brief()))),
             ("files", ("empty.pdf", b""))]  # fmt: skip
    with httpx.Client(base_url=url, timeout=300) as client:
        assert client.post("/api/briefs/upload", files=files).status_code == 401
        r = client.post("/api/briefs/upload", files=files, auth=READER)
        assert r.status_code == 403 and not (root / "corpus" / "pilots.pdf").exists()
        r = client.post("/api/briefs/upload", files=files, auth=EDITOR)
        assert r.status_code == 200, r.text
        body = r.json()
        assert [a["doc_id"] for a in body["added"]] == ["fulcrum.docx", "pilots.pdf"] and body["errors"] == ["empty.pdf is empty"]
        assert body["added"][1]["title"] == "Harbour Pilots and the Quiet Work of Maritime Safety" and body["added"][1]["n_passages"] > 0
        assert {b["doc_id"] for b in client.get("/api/briefs", auth=READER).json()} >= {"fulcrum.docx", "pilots.pdf"}
        answer = client.post("/api/ask", json={"question": "How many pilotage-related incidents were recorded between 2015 and 2024?",
                                               "docs": ["pilots.pdf"]}, auth=READER).json()  # fmt: skip
        assert "212" in answer["answer"] and answer["citations"][0]["doc_id"] == "pilots.pdf"
        r = client.post("/api/briefs/upload", files=[("files", ("x.pdf", b""))], auth=EDITOR)
        assert r.status_code == 400 and r.json() == {"error": "x.pdf is empty"}
        assert client.post("/api/briefs/upload", auth=EDITOR).status_code == 400
        assert "/api/briefs/upload" in client.get("/api/openapi.json", auth=READER).json()["paths"]


def test_the_server_refuses_a_readers_upload_and_one_over_the_size_limit_writing_nothing(deployment):
    url, root = deployment
    before = sorted(p.name for p in (root / "corpus").iterdir())
    big = b"A sentence about harbour pilots.\n" * (10_000_000 // 33 + 1)  # just over the default max_upload_mb = 10
    assert len(big) > 10_000_000
    with httpx.Client(base_url=url, timeout=300) as client:
        r = client.post("/api/briefs/upload", files=[("files", ("note.txt", b"A note about harbour pilots.\n"))], auth=READER)
        assert r.status_code == 403 and r.json()["error"] == EDITORS_ONLY, r.text
        r = client.post("/api/briefs/upload", files=[("files", ("big.txt", big))], auth=EDITOR)
        assert r.status_code in (400, 413) and "big.txt" in r.json()["error"] and "limit is 10 MB" in r.json()["error"], r.text
    assert sorted(p.name for p in (root / "corpus").iterdir()) == before, "nothing written"
