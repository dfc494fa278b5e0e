"""The write side of an index: what changed in the corpus, a build that writes only new segments, and clean-up.

Replacing ``manifest.json`` is the single atomic step that switches builds, so a crash at any
moment leaves the old or the new index whole.
"""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ragbot.chunking import Passage, chunk_document
from ragbot.console import Log, log_stderr
from ragbot.corpus.folder import NORMALISER_VERSION, Document, corpus_state, load_corpus
from ragbot.errors import RagbotError
from ragbot.files import atomic_write
from ragbot.files import sha256_file as _sha256
from ragbot.index.changes import CorpusChanges, diff_corpus
from ragbot.index.dense import kind
from ragbot.index.lock import build_lock
from ragbot.index.reader import (
    FORMAT_VERSION,
    MANIFEST,
    VERIFIED,
    Index,
    load_index,
    manifest_sha256,
    read_manifest,
    verified_stamp,
    write_verified,
)
from ragbot.index.segment import KINDS, Segment, merge_plan
from ragbot.library import check_origin
from ragbot.models.embedder import Embedder
from ragbot.models.tokens import count_tokens
from ragbot.readers.cache import ExtractCache
from ragbot.settings import Settings

_ARTIFACT_PREFIXES = ("passages-", "vectors-", "sentences-", "bm25-")


def build_index(
    settings: Settings,
    embedder: Embedder,
    rebuild: bool = False,
    progress: bool = True,
    log: Log = log_stderr,
    wait: float = 0.0,
) -> tuple[Index, CorpusChanges]:
    """Bring the index up to date with the corpus, re-embedding only added or modified documents.

    ``wait``: seconds to wait for another writer (a build, or a replica bringing Milvus up to date) before giving up.
    """
    directory = settings.index_dir
    state = corpus_state(settings.corpus_dir)
    with build_lock(directory, wait=wait):
        try:
            manifest = read_manifest(directory)
        except RagbotError as exc:
            if not rebuild:
                raise
            log(f"ignoring the old index: {exc}")
            manifest = None
        check_origin(manifest, settings, state, rebuild)  # never rebuilt from another folder's documents
        changes = diff_corpus(manifest, state, settings)
        if rebuild and not changes.full_rebuild:
            changes.full_rebuild = "--rebuild"
        # The old index is needed only to keep unchanged documents' vectors, or to return it as is.
        old = load_index(directory) if manifest is not None and not changes.full_rebuild else None
        if old is not None and not changes.stale:
            _remove_stale(directory, {a["file"] for a in old.manifest["artifacts"].values()})  # a build killed after its switch
            return old, changes
        keep = set() if changes.full_rebuild or old is None else set(changes.unchanged)
        cache = ExtractCache.beside(directory)
        docs, failed = _read(settings, sorted(set(state) - keep), bool(keep), cache, log)
        log(f"indexing {settings.corpus_dir}/: {changes.summary()}")
        for doc_id, why in failed.items():
            log(f"skipped {why}" if why.startswith(doc_id) else f"skipped {doc_id}: {why}")
        new_passages = [
            p for doc in docs.values() for p in chunk_document(doc, count_tokens, settings.chunk_tokens, settings.chunk_overlap)
        ]
        new_vectors, new_sentence_vectors = _embed(embedder, new_passages, settings, progress, log)
        info = _document_info(state, docs, failed, manifest)
        dropped = set(changes.modified) | set(changes.removed)
        index = update_index(settings, embedder, old if keep else None, dropped, new_passages, new_vectors, new_sentence_vectors, info)
        cache.prune({s["sha256"] for s in state.values()})
        log(f"index ready: {len(index.passages)} passages from {len(index.documents)} documents ({len(new_passages)} passages embedded)")
        return index, changes


def _read(settings: Settings, todo: list[str], keeping: bool, cache: ExtractCache, log: Log) -> tuple[dict[str, Document], dict[str, str]]:
    """The documents to embed, in order, read (or found in the extracted-text cache); a file that cannot be read is one line."""
    failed: dict[str, str] = {}
    docs = {d.doc_id: d for d in load_corpus(settings.corpus_dir, only=set(todo), cache=cache, failed=failed, log=log)}
    if failed and not docs and not keeping:
        raise RagbotError(f"no document in {settings.corpus_dir}/ could be read ({next(iter(failed.values()))})")
    return {doc_id: docs[doc_id] for doc_id in todo if doc_id in docs}, failed


def _embed(embedder: Embedder, passages: list[Passage], settings: Settings, progress: bool, log: Log) -> tuple[np.ndarray, np.ndarray]:
    """The passages' vectors and their sentences' (each distinct sentence embedded once)."""
    texts = [p.embedding_text(settings.embed_title) for p in passages]
    _check_lengths(embedder, texts, log)
    vectors = _encode(embedder, texts, progress, "passages")
    sentences = [s for p in passages for s in p.sentence_texts()]
    unique = sorted(set(sentences))
    unique_vectors = _encode(embedder, unique, progress, "sentences")
    row = {s: i for i, s in enumerate(unique)}
    return vectors, unique_vectors[[row[s] for s in sentences]] if sentences else np.zeros((0, embedder.dim), np.float32)


def _document_info(
    state: dict[str, dict[str, str]], docs: dict[str, Document], failed: dict[str, str], manifest: dict[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """Each document's manifest entry: its metadata (a new read, or as built before) and its checksums."""
    info, built = {}, (manifest or {}).get("documents", {})
    for doc_id in sorted(state):
        if doc_id in failed:  # listed with its error and no passages, so it is not read again until it changes
            meta = {"doc_id": doc_id, "title": doc_id, "authors": [], "error": failed[doc_id]}
        else:
            meta = docs[doc_id].metadata() if doc_id in docs else built[doc_id]
        info[doc_id] = {k: v for k, v in meta.items() if k not in ("sha256", "meta_sha256", "n_passages", "rows")} | state[doc_id]
    return info


def update_index(
    settings: Settings,
    embedder: Embedder,
    old: Index | None,
    dropped: set[str],
    passages: Sequence[Passage],
    vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    info: dict[str, dict[str, Any]],
) -> Index:
    """A new build: the old index without the dropped briefs, plus these embedded passages (laid out brief by brief).

    Old segments holding no dropped brief are kept as they are; one that does is rewritten without
    it (nothing embedded again); the new passages form one more segment, merged with small ones.
    """
    parts = _kept_parts(old, dropped, settings) if old is not None else []
    if len(passages) or not parts:
        new = Segment.from_arrays(passages, vectors, sentence_vectors, settings.ann_from, settings.hnsw_m)
        parts.append(_Part(new, _document_rows(passages)))
    return write_segments(settings.index_dir, settings, embedder, parts, info, old.manifest["artifacts"] if old is not None else {})


@dataclass
class _Part:
    """A segment of the build being made, with its briefs' rows within it; ``name`` is set for an old segment kept as it is."""

    segment: Segment
    documents: dict[str, range]
    name: str | None = None


def _document_rows(passages: Sequence[Passage]) -> dict[str, range]:
    """Each document's rows, for passages laid out document by document."""
    rows: dict[str, list[int]] = {}
    for i, p in enumerate(passages):
        rows.setdefault(p.doc_id, [i, i])[1] = i + 1
    return {doc_id: range(start, end) for doc_id, (start, end) in rows.items()}


def _kept_parts(old: Index, dropped: set[str], settings: Settings) -> list[_Part]:
    """The old segments, each kept as it is, or rewritten without the dropped briefs' rows (left out when none remain)."""
    parts = []
    for meta, segment in zip(old.manifest["segments"], old.segments, strict=True):
        first, end = meta["rows"]
        held = sorted(
            ((d, range(r.start - first, r.stop - first)) for d, r in old.document_rows.items() if len(r) and first <= r.start < end),
            key=lambda item: item[1].start,
        )
        if not any(d in dropped for d, _ in held):
            parts.append(_Part(segment, dict(held), meta["id"]))
            continue
        kept = [(d, r) for d, r in held if d not in dropped]
        if kept:
            rows = np.concatenate([np.arange(r.start, r.stop) for _, r in kept]).astype(np.int64)
            starts = np.cumsum([0] + [len(r) for _, r in kept]).tolist()
            documents = {d: range(a, a + len(r)) for (d, r), a in zip(kept, starts, strict=False)}
            parts.append(_Part(segment.select(rows, settings.ann_from, settings.hnsw_m), documents))
    return parts


def write_segments(
    directory: Path,
    settings: Settings,
    embedder: Embedder,
    parts: list[_Part],
    info: dict[str, dict[str, Any]],
    old_artifacts: dict[str, dict[str, str]],
) -> Index:
    """Write the parts that are new (merging small ones as ``merge_plan`` says), then switch to the build they make."""
    build = _new_build(directory)
    segments, documents, artifacts, row = [], {}, {}, 0
    for k, group in enumerate(merge_plan([len(p.segment) for p in parts])):
        members = [parts[i] for i in group]
        kept = members[0].name if len(members) == 1 else None
        if kept is not None:
            name, segment = kept, members[0].segment
            artifacts.update({f"{name}/{kind_}": old_artifacts[f"{name}/{kind_}"] for kind_ in KINDS})
        else:
            name = f"{build}-{k}"
            segment = (
                members[0].segment if len(members) == 1 else Segment.merge([m.segment for m in members], settings.ann_from, settings.hnsw_m)
            )
            for kind_, file in segment.write(directory, name).items():
                artifacts[f"{name}/{kind_}"] = {"file": file, "sha256": _sha256(directory / file)}
        first = row
        for member in members:
            for doc_id, r in member.documents.items():
                documents[doc_id] = {**_entry(info[doc_id]), "rows": [row + r.start, row + r.stop], "n_passages": len(r)}
            row += len(member.segment)
        segments.append({"id": name, "rows": [first, row], "sentences": int(segment.sentence_start[-1]), "dense": kind(segment.vectors)})
    for doc_id in info.keys() - documents.keys():  # a brief that yields no passage
        documents[doc_id] = {**_entry(info[doc_id]), "rows": [row, row], "n_passages": 0}
    manifest = {
        "format_version": FORMAT_VERSION,
        "normaliser_version": NORMALISER_VERSION,
        "build": build,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "embedding": {"model": settings.embed_model, "dim": embedder.dim, "max_tokens": embedder.max_length},
        "chunking": settings.chunking(),
        "token_encoding": "cl100k_base",
        "corpus_dir": str(settings.corpus_dir.resolve()),  # the folder this index belongs to (ragbot/library.py)
        "counts": {
            "documents": len(documents),
            "passages": row,
            "sentences": sum(s["sentences"] for s in segments),
            "segments": len(segments),
        },
        "segments": segments,
        "documents": dict(sorted(documents.items())),
        "artifacts": artifacts,
    }
    manifest["manifest_sha256"] = manifest_sha256(manifest)  # a flipped bit in the manifest itself is caught too
    write_verified(directory, {a["file"]: verified_stamp(directory / a["file"], a["sha256"]) for a in artifacts.values()})
    atomic_write(directory / MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8"))  # the commit point
    _remove_stale(directory, {a["file"] for a in artifacts.values()})
    return load_index(directory)


def _entry(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if k not in ("rows", "n_passages")}


def _check_lengths(embedder: Embedder, texts: list[str], log: Log) -> None:
    over = sum(n > embedder.max_length for n in embedder.wordpiece_lengths(texts))
    if over:
        log(f"warning: {over} passages exceed the embedder's {embedder.max_length}-token input and will be cut; lower chunk_tokens")


def _encode(embedder: Embedder, texts: list[str], progress: bool, what: str) -> np.ndarray:
    from tqdm import tqdm

    batch = max(embedder.batch_size, 1)
    out = []
    with tqdm(
        total=len(texts),
        desc=f"embedding {what}",
        unit=what[:-1] if what.endswith("s") else what,
        disable=not progress or not texts,
        file=sys.stderr,
    ) as bar:
        for i in range(0, len(texts), batch):
            out.append(embedder.encode(texts[i : i + batch]))
            bar.update(len(texts[i : i + batch]))
    return np.vstack(out) if out else np.zeros((0, embedder.dim), np.float32)


def _new_build(directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def remove_leftovers(directory: Path) -> None:
    """Delete what killed builds left in an index folder, unless a build is running (it cleans up when it ends)."""
    manifest = read_manifest(directory)
    if manifest is None:
        return
    try:
        with build_lock(directory):
            _remove_stale(directory, {a["file"] for a in manifest["artifacts"].values()})
    except RagbotError:
        pass


def _remove_stale(directory: Path, keep: set[str]) -> None:
    """Delete artifacts of earlier or crashed builds (never the manifest, the lock or the checksum stamps)."""
    kept_dirs = {name.split("/", 1)[0] for name in keep if "/" in name}
    for path in directory.iterdir():
        if path.name in keep or path.name in kept_dirs or path.name in (MANIFEST, ".lock", VERIFIED) or path.name.startswith("README"):
            continue
        # a leading ".": temp files of a killed write
        if path.name.lstrip(".").startswith((*_ARTIFACT_PREFIXES, f"{MANIFEST}.", f"{VERIFIED.lstrip('.')}.")):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
