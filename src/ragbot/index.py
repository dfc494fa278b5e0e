"""Build, load and refresh the on-disk index: FAISS vectors, passages as JSON, and a manifest.

Layout of ``index/``: ``manifest.json`` names the artifact files of the current build
(``passages-<build>.json``, ``vectors-<build>.faiss``, ``sentences-<build>.npy``) with their
sha256. Artifacts are written under new names first; replacing ``manifest.json`` is the
single atomic step that switches builds, so a crash at any moment leaves the old or the
new index whole. Nothing is unpickled on load.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from ragbot.chunking import Passage, chunk_document
from ragbot.corpus import NORMALISER_VERSION, corpus_state, load_corpus
from ragbot.errors import RagbotError
from ragbot.files import atomic_write
from ragbot.models import Embedder, count_tokens
from ragbot.settings import Settings

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
Log = Callable[[str], None]


def log_stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


@dataclass
class CorpusChanges:
    """How the corpus differs from what an index was built from."""

    added: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    full_rebuild: str | None = None  # why everything must be re-embedded, if it must

    @property
    def stale(self) -> bool:
        return bool(self.added or self.modified or self.removed or self.full_rebuild)

    def summary(self) -> str:
        if self.full_rebuild:
            return f"full rebuild: {self.full_rebuild}"
        parts = [
            f"{name}: {', '.join(docs)}"
            for name, docs in (("added", self.added), ("modified", self.modified), ("removed", self.removed))
            if docs
        ]
        return "; ".join(parts) if parts else "index is up to date"


@dataclass
class Index:
    """An index in memory: passages, their vectors in FAISS, and per-sentence vectors for answering."""

    manifest: dict[str, Any]
    passages: list[Passage]
    vectors: faiss.Index
    sentence_vectors: np.ndarray
    sentence_start: np.ndarray  # passage i's sentence vectors are rows sentence_start[i]:sentence_start[i+1]

    @classmethod
    def from_arrays(cls, manifest: dict[str, Any], passages: list[Passage], vectors: np.ndarray, sentence_vectors: np.ndarray) -> Index:
        """An in-memory index over passages and their (normalised) vectors."""
        flat = faiss.IndexFlatIP(vectors.shape[1])
        if len(vectors):
            flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(manifest, passages, flat, sentence_vectors, _sentence_start(passages))

    @property
    def documents(self) -> dict[str, dict[str, Any]]:
        return self.manifest["documents"]

    @cached_property
    def _rows(self) -> dict[str, int]:
        return {p.passage_id: i for i, p in enumerate(self.passages)}

    def row_of(self, passage_id: str) -> int | None:
        """Position of a passage in passages (and in the vector arrays), or None."""
        return self._rows.get(passage_id)

    def passage_vectors(self) -> np.ndarray:
        return self.vectors.reconstruct_n(0, self.vectors.ntotal) if self.vectors.ntotal else np.zeros((0, self.vectors.d), np.float32)

    def sentences_of(self, i: int) -> np.ndarray:
        return self.sentence_vectors[self.sentence_start[i] : self.sentence_start[i + 1]]


# --- load ------------------------------------------------------------------------------------------


def read_manifest(directory: Path) -> dict[str, Any] | None:
    path = directory / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or "artifacts" not in manifest:
            raise ValueError("no artifacts")
    except (ValueError, UnicodeDecodeError):
        raise RagbotError(f"index manifest {path} is corrupted; rebuild with `ragbot index --rebuild`") from None
    return manifest


def _manifest_sha256(manifest: dict[str, Any]) -> str:
    """The manifest's own checksum: sha256 of its canonical JSON without this field."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_index(directory: Path) -> Index:
    """Load and verify an index; every artifact must match its checksum in the manifest."""
    manifest = read_manifest(directory)
    if manifest is None:
        raise RagbotError(f"no index in {directory}/; build it with `ragbot index`")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise RagbotError(
            f"index in {directory}/ has format {manifest.get('format_version')}, this ragbot reads {FORMAT_VERSION}; "
            "run `ragbot index --rebuild`"
        )
    if manifest.get("manifest_sha256", _manifest_sha256(manifest)) != _manifest_sha256(manifest):  # older manifests have none
        raise RagbotError(f"index manifest {directory / MANIFEST} is corrupted (checksum mismatch); run `ragbot index --rebuild`")
    paths = {}
    for kind, art in manifest["artifacts"].items():
        path = directory / art["file"]
        if not path.is_file():
            raise RagbotError(f"index file {path} is missing; run `ragbot index --rebuild`")
        if _sha256(path) != art["sha256"]:
            raise RagbotError(f"index file {path} is corrupted (checksum mismatch); run `ragbot index --rebuild`")
        paths[kind] = path
    try:
        passages = [Passage.from_dict(d) for d in json.loads(paths["passages"].read_text(encoding="utf-8"))]
        vectors = faiss.read_index(str(paths["vectors"]))
        sentence_vectors = np.load(paths["sentences"], allow_pickle=False)
    except Exception as exc:  # a file that passed its checksum but does not parse: written by something else
        raise RagbotError(f"index in {directory}/ cannot be read ({type(exc).__name__}); run `ragbot index --rebuild`") from None
    if vectors.ntotal != len(passages):
        raise RagbotError(
            f"index in {directory}/ is inconsistent ({vectors.ntotal} vectors, {len(passages)} passages); run `ragbot index --rebuild`"
        )
    return Index(manifest, passages, vectors, sentence_vectors, _sentence_start(passages))


def _sentence_start(passages: list[Passage]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum([len(p.sentences) for p in passages])]).astype(np.int64)


# --- build -----------------------------------------------------------------------------------------


def diff_corpus(manifest: dict[str, Any] | None, state: dict[str, dict[str, str]], settings: Settings) -> CorpusChanges:
    if manifest is None:
        return CorpusChanges(added=sorted(state), full_rebuild="no index yet")
    changes = CorpusChanges()
    if manifest.get("format_version") != FORMAT_VERSION or manifest.get("normaliser_version") != NORMALISER_VERSION:
        changes.full_rebuild = "index format changed"
    elif manifest.get("chunking") != settings.chunking():
        old, new = manifest.get("chunking", {}), settings.chunking()
        changed = ", ".join(f"{k} {old.get(k)} -> {v}" for k, v in new.items() if old.get(k) != v)
        changes.full_rebuild = f"settings changed ({changed})"
    built = manifest.get("documents", {})
    for doc_id, fp in state.items():
        if doc_id not in built:
            changes.added.append(doc_id)
        elif (built[doc_id]["sha256"], built[doc_id].get("meta_sha256")) != (fp["sha256"], fp["meta_sha256"]):
            changes.modified.append(doc_id)
        else:
            changes.unchanged.append(doc_id)
    changes.removed = sorted(set(built) - set(state))
    return changes


@contextmanager
def _build_lock(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RagbotError(f"another ragbot is building the index in {directory}/; wait for it to finish") from None
        yield


def build_index(
    settings: Settings,
    embedder: Embedder,
    rebuild: bool = False,
    progress: bool = True,
    log: Log = log_stderr,
) -> tuple[Index, CorpusChanges]:
    """Bring the index up to date with the corpus, re-embedding only added or modified documents."""
    directory = settings.index_dir
    state = corpus_state(settings.corpus_dir)
    with _build_lock(directory):
        try:
            manifest = read_manifest(directory)
        except RagbotError as exc:
            if not rebuild:
                raise
            log(f"ignoring the old index: {exc}")
            manifest = None
        changes = diff_corpus(manifest, state, settings)
        if rebuild and not changes.full_rebuild:
            changes.full_rebuild = "--rebuild"
        # The old index is needed only to keep unchanged documents' vectors, or to return it as is.
        old = load_index(directory) if manifest is not None and not changes.full_rebuild else None
        if old is not None and not changes.stale:
            _remove_stale(directory, {a["file"] for a in old.manifest["artifacts"].values()})  # a build killed after its switch
            return old, changes
        keep = set() if changes.full_rebuild or old is None else set(changes.unchanged)
        todo = sorted(set(state) - keep)
        docs = {d.doc_id: d for d in load_corpus(settings.corpus_dir, only=set(todo))}  # a bad file fails here, before any work
        log(f"indexing {settings.corpus_dir}/: {changes.summary()}")

        new_passages = [
            p for doc_id in todo for p in chunk_document(docs[doc_id], count_tokens, settings.chunk_tokens, settings.chunk_overlap)
        ]
        texts = [p.embedding_text(settings.embed_title) for p in new_passages]
        _check_lengths(embedder, texts, log)
        new_vectors = _encode(embedder, texts, progress, "passages")
        sentences = [s for p in new_passages for s in p.sentence_texts()]
        unique = sorted(set(sentences))
        unique_vectors = _encode(embedder, unique, progress, "sentences")
        row = {s: i for i, s in enumerate(unique)}
        new_sentence_vectors = unique_vectors[[row[s] for s in sentences]] if sentences else np.zeros((0, embedder.dim), np.float32)

        # Unchanged documents keep their passages and vectors; everything is laid out in corpus order.
        parts = _by_document(new_passages, new_vectors, new_sentence_vectors)
        if old is not None and keep:
            kept = _by_document(old.passages, old.passage_vectors(), old.sentence_vectors)
            parts.update({doc_id: kept[doc_id] for doc_id in keep if doc_id in kept})
        ordered = [parts[doc_id] for doc_id in sorted(state) if doc_id in parts]
        passages = [p for ps, _, _ in ordered for p in ps]
        matrix = np.vstack([v for _, v, _ in ordered] or [np.zeros((0, embedder.dim), np.float32)])
        sentence_matrix = np.vstack([sv for _, _, sv in ordered] or [np.zeros((0, embedder.dim), np.float32)])

        documents = {}
        meta_docs = {**(manifest or {}).get("documents", {})}
        for doc_id in sorted(state):
            if doc_id in docs:
                info = docs[doc_id].metadata()
            else:
                info = {k: v for k, v in meta_docs[doc_id].items() if k not in ("sha256", "meta_sha256", "n_passages")}
            documents[doc_id] = {**info, **state[doc_id], "n_passages": sum(1 for p in passages if p.doc_id == doc_id)}

        index = _write(directory, settings, embedder, passages, matrix, sentence_matrix, documents)
        log(f"index ready: {len(passages)} passages from {len(documents)} documents ({len(new_passages)} passages embedded)")
        return index, changes


def _by_document(
    passages: list[Passage], vectors: np.ndarray, sentence_vectors: np.ndarray
) -> dict[str, tuple[list[Passage], np.ndarray, np.ndarray]]:
    """Split parallel passage / vector / sentence-vector arrays by document."""
    start = _sentence_start(passages)
    rows: dict[str, list[int]] = {}
    for i, p in enumerate(passages):
        rows.setdefault(p.doc_id, []).append(i)
    return {
        doc_id: (
            [passages[i] for i in idx],
            vectors[idx],
            np.vstack([sentence_vectors[start[i] : start[i + 1]] for i in idx]),
        )
        for doc_id, idx in rows.items()
    }


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


def _write(
    directory: Path,
    settings: Settings,
    embedder: Embedder,
    passages: list[Passage],
    vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    documents: dict[str, dict[str, Any]],
) -> Index:
    build = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    index = Index.from_arrays({}, passages, vectors, sentence_vectors)
    names = {"passages": f"passages-{build}.json", "vectors": f"vectors-{build}.faiss", "sentences": f"sentences-{build}.npy"}
    atomic_write(directory / names["passages"], json.dumps([p.to_dict() for p in passages], ensure_ascii=False).encode("utf-8"))
    faiss.write_index(index.vectors, str(directory / names["vectors"]))  # faiss' own writer; flushed to disk below
    with (directory / names["vectors"]).open("rb") as f:
        os.fsync(f.fileno())
    npy = io.BytesIO()
    np.save(npy, sentence_vectors, allow_pickle=False)
    atomic_write(directory / names["sentences"], npy.getvalue())
    manifest = {
        "format_version": FORMAT_VERSION,
        "normaliser_version": NORMALISER_VERSION,
        "build": build,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "embedding": {"model": settings.embed_model, "dim": embedder.dim, "max_tokens": embedder.max_length},
        "chunking": settings.chunking(),
        "token_encoding": "cl100k_base",
        "corpus_dir": str(settings.corpus_dir),
        "counts": {"documents": len(documents), "passages": len(passages), "sentences": len(sentence_vectors)},
        "documents": documents,
        "artifacts": {kind: {"file": name, "sha256": _sha256(directory / name)} for kind, name in names.items()},
    }
    manifest["manifest_sha256"] = _manifest_sha256(manifest)  # a flipped bit in the manifest itself is caught too
    atomic_write(directory / MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8"))  # the commit point
    _remove_stale(directory, set(names.values()))
    index.manifest = manifest
    return index


def remove_leftovers(directory: Path) -> None:
    """Delete what killed builds left in an index folder, unless a build is running (it cleans up when it ends)."""
    manifest = read_manifest(directory)
    if manifest is None:
        return
    try:
        with _build_lock(directory):
            _remove_stale(directory, {a["file"] for a in manifest["artifacts"].values()})
    except RagbotError:
        pass


def _remove_stale(directory: Path, keep: set[str]) -> None:
    """Delete artifacts of earlier or crashed builds (never the manifest or the lock)."""
    for path in directory.iterdir():
        if path.name in keep or path.name in (MANIFEST, ".lock") or path.name.startswith("README"):
            continue
        if path.name.lstrip(".").startswith(("passages-", "vectors-", "sentences-", f"{MANIFEST}.")):  # "." : temp files of a killed write
            path.unlink(missing_ok=True)
