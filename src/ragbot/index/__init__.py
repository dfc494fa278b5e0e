"""Build, load and refresh the on-disk index: passages, their FAISS vectors, sentence vectors, BM25, and a manifest.

Layout of ``index/``: ``manifest.json`` names the artifact files of the current build
(``passages-<build>.jsonl`` and its row offsets, ``vectors-<build>.faiss``, ``sentences-<build>.npy``,
the term ids of every passage and sentence, ``bm25-<build>/``) with their sha256. Artifacts are
written under new names first; replacing ``manifest.json`` is the single atomic step that switches
builds, so a crash at any moment leaves the old or the new index whole. Nothing is unpickled on
load, and nothing large is read whole: FAISS and BM25 are memory-mapped, and passages, sentence
vectors and term ids are read a few rows at a time. Each artifact's sha256 is checked
before it is parsed; ``.verified.json`` remembers the size and modification time of files
already checked, so a start re-hashes only files written since.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
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
from ragbot.files import sha256_file as _sha256
from ragbot.index.dense import build_vectors, kind, read_vectors
from ragbot.index.keyword import FILES as KEYWORD_FILES
from ragbot.index.keyword import KeywordIndex
from ragbot.index.npy_file import NpyFile, write_npy
from ragbot.index.passages import PassageStore, append_passages, write_passages
from ragbot.index.term_sets import TermSets, passage_term_sets, write_term_sets
from ragbot.models import Embedder, count_tokens
from ragbot.settings import Settings

FORMAT_VERSION = 3
MANIFEST = "manifest.json"
VERIFIED = ".verified.json"
_ARTIFACT_PREFIXES = ("passages-", "vectors-", "sentences-", "bm25-")
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
    """An index in memory (large parts memory-mapped): passages, their vectors, per-sentence vectors and BM25."""

    manifest: dict[str, Any]
    passages: Sequence[Passage]
    vectors: faiss.Index  # flat, or HNSW for large libraries (index/dense.py)
    sentence_vectors: np.ndarray | NpyFile
    sentence_start: np.ndarray  # passage i's sentence vectors are rows sentence_start[i]:sentence_start[i+1]
    keyword: KeywordIndex
    passage_terms: TermSets  # each passage's term ids (as BM25 reads it: title and headers included)
    sentence_terms: TermSets  # each sentence's, in sentence-vector order

    @classmethod
    def from_arrays(
        cls,
        manifest: dict[str, Any],
        passages: Sequence[Passage],
        vectors: np.ndarray,
        sentence_vectors: np.ndarray,
        settings: Settings | None = None,
    ) -> Index:
        """An in-memory index over passages and their (normalised) vectors."""
        s = settings or Settings()
        keyword = KeywordIndex.build((p.embedding_text(True) for p in passages), s.bm25_k1, s.bm25_b)
        dense = build_vectors(vectors, s.ann_from, s.hnsw_m)
        return cls(manifest, passages, dense, sentence_vectors, _sentence_start(passages), keyword, *passage_term_sets(passages))

    @property
    def documents(self) -> dict[str, dict[str, Any]]:
        return self.manifest["documents"]

    @cached_property
    def document_rows(self) -> dict[str, range]:
        """Each document's rows: passages are laid out document by document (rows in a built index's manifest)."""
        docs = self.manifest.get("documents") or {}
        if docs and all("rows" in d for d in docs.values()):
            return {doc_id: range(*d["rows"]) for doc_id, d in docs.items()}
        found: dict[str, list[int]] = {}
        for i, p in enumerate(self.passages):
            found.setdefault(p.doc_id, []).append(i)
        return {doc_id: range(r[0], r[-1] + 1) for doc_id, r in found.items()}

    def rows_of(self, docs: set[str]) -> np.ndarray:
        """The rows of the passages of these documents."""
        rows = [np.arange(r.start, r.stop) for d, r in self.document_rows.items() if d in docs]
        return np.concatenate(rows).astype(np.int64) if rows else np.zeros(0, np.int64)

    def row_of(self, passage_id: str) -> int | None:
        """Position of a passage in passages (and in the vector arrays), or None."""
        for i in self.document_rows.get(passage_id.rsplit("#", 1)[0], range(0)):
            if self.passages[i].passage_id == passage_id:
                return i
        return None

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
    paths = _verified_artifacts(directory, manifest)
    try:
        passages = PassageStore(paths["passages"], paths["offsets"])
        vectors = read_vectors(paths["vectors"])
        sentence_vectors = NpyFile(paths["sentences"])
        sentence_start = np.load(paths["sentence_start"], allow_pickle=False)
        keyword = KeywordIndex.load(paths["bm25/" + KEYWORD_FILES[0]].parent)
        passage_terms = TermSets.read(paths["passage_terms"], paths["passage_terms_start"])
        sentence_terms = TermSets.read(paths["sentence_terms"], paths["sentence_terms_start"])
    except Exception as exc:  # a file that passed its checksum but does not parse: written by something else
        raise RagbotError(f"index in {directory}/ cannot be read ({type(exc).__name__}); run `ragbot index --rebuild`") from None
    passages_agree = vectors.ntotal == len(passages) == keyword.n == len(sentence_start) - 1 == len(passage_terms)
    if not passages_agree or not sentence_start[-1] == len(sentence_vectors) == len(sentence_terms):
        raise RagbotError(
            f"index in {directory}/ is inconsistent ({vectors.ntotal} vectors, {len(passages)} passages); run `ragbot index --rebuild`"
        )
    return Index(manifest, passages, vectors, sentence_vectors, sentence_start, keyword, passage_terms, sentence_terms)


def _verified_artifacts(directory: Path, manifest: dict[str, Any]) -> dict[str, Path]:
    """Each artifact's path, after checking its sha256 (skipped for a file checked before and not written since)."""
    verified = _read_verified(directory)
    paths, newly = {}, {}
    for name, art in manifest["artifacts"].items():
        path = directory / art["file"]
        if not path.is_file():
            raise RagbotError(f"index file {path} is missing; run `ragbot index --rebuild`")
        stamp = _stamp(path, art["sha256"])
        if verified.get(art["file"]) != stamp:
            if _sha256(path) != art["sha256"]:
                raise RagbotError(f"index file {path} is corrupted (checksum mismatch); run `ragbot index --rebuild`")
            newly[art["file"]] = stamp
        paths[name] = path
    if newly:
        current = {a["file"] for a in manifest["artifacts"].values()}
        _write_verified(directory, {**{k: v for k, v in verified.items() if k in current}, **newly})
    return paths


def _stamp(path: Path, sha256: str) -> str:
    st = path.stat()
    return f"{sha256} {st.st_size} {st.st_mtime_ns}"


def _read_verified(directory: Path) -> dict[str, str]:
    try:
        data = json.loads((directory / VERIFIED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_verified(directory: Path, stamps: dict[str, str]) -> None:
    with contextlib.suppress(OSError):  # best effort: a read-only index folder is verified in full at every start
        atomic_write(directory / VERIFIED, json.dumps(stamps, indent=1).encode("utf-8"))


def _sentence_start(passages: Sequence[Passage]) -> np.ndarray:
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


_held = threading.local()  # the index folders whose build lock this thread holds


@contextmanager
def build_lock(directory: Path, wait: float = 0.0) -> Iterator[None]:
    """The index folder's writer lock (flock on index/.lock), waiting up to wait seconds; this thread's second take is free."""
    key = str(directory.resolve())
    held: set[str] = _held.__dict__.setdefault("folders", set())
    if key in held:  # e.g. `ragbot index --to milvus` syncing Milvus under the lock it took: flock would wait for itself
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    with (directory / ".lock").open("w") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    busy = f"another ragbot is writing the index in {directory}/ (a build, or Milvus brought up to date)"
                    raise RagbotError(f"{busy}; wait for it to finish") from None
                time.sleep(0.05)
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)


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
    with build_lock(directory):
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

        info = {}
        meta_docs = {**(manifest or {}).get("documents", {})}
        for doc_id in sorted(state):
            meta = docs[doc_id].metadata() if doc_id in docs else meta_docs[doc_id]
            info[doc_id] = {k: v for k, v in meta.items() if k not in ("sha256", "meta_sha256", "n_passages", "rows")} | state[doc_id]

        if old is not None and keep and not changes.modified and not changes.removed:
            # Only additions: the new documents' rows follow the old ones, so the old files are extended, not rebuilt.
            index = append_index(directory, settings, embedder, old, new_passages, new_vectors, new_sentence_vectors, info)
        else:
            # Unchanged documents keep their passages and vectors; everything is laid out in corpus order.
            parts = _by_document(new_passages, new_vectors, new_sentence_vectors)
            if old is not None and keep:
                kept = _by_document(old.passages, old.passage_vectors(), old.sentence_vectors)
                parts.update({doc_id: kept[doc_id] for doc_id in keep if doc_id in kept})
            ordered = [(doc_id, parts[doc_id]) for doc_id in sorted(state) if doc_id in parts]
            passages = [p for _, (ps, _, _) in ordered for p in ps]
            matrix = np.vstack([v for _, (_, v, _) in ordered] or [np.zeros((0, embedder.dim), np.float32)])
            sentence_matrix = np.vstack([sv for _, (_, _, sv) in ordered] or [np.zeros((0, embedder.dim), np.float32)])
            index = write_index(directory, settings, embedder, passages, matrix, sentence_matrix, _with_rows(info, passages))
        log(f"index ready: {len(index.passages)} passages from {len(index.documents)} documents ({len(new_passages)} passages embedded)")
        return index, changes


def _with_rows(info: dict[str, dict[str, Any]], passages: Sequence[Passage], first_row: int = 0) -> dict[str, dict[str, Any]]:
    """Each document's entry with its rows [start, end) and passage count, for passages laid out document by document."""
    rows: dict[str, list[int]] = {}
    for i, p in enumerate(passages, first_row):
        rows.setdefault(p.doc_id, [i, i])[1] = i + 1
    out = {}
    for doc_id, entry in info.items():
        start, end = rows.get(doc_id, (first_row, first_row))
        out[doc_id] = {**entry, "rows": [start, end], "n_passages": end - start}
    return out


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


def write_index(
    directory: Path,
    settings: Settings,
    embedder: Embedder,
    passages: list[Passage],
    vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    documents: dict[str, dict[str, Any]],
) -> Index:
    """Write passages laid out document by document as a new build, and switch to it."""
    build = _new_build(directory)
    index = Index.from_arrays({}, passages, vectors, sentence_vectors, settings)
    names = _names(build)
    write_passages(passages, directory / names["passages"], directory / names["offsets"])
    _write_faiss(index.vectors, directory / names["vectors"])
    write_npy(directory / names["sentences"], sentence_vectors)
    write_npy(directory / names["sentence_start"], index.sentence_start)
    write_term_sets(directory / names["passage_terms"], directory / names["passage_terms_start"], index.passage_terms)
    write_term_sets(directory / names["sentence_terms"], directory / names["sentence_terms_start"], index.sentence_terms)
    return _commit(directory, settings, embedder, build, names, index, documents)


def append_index(
    directory: Path,
    settings: Settings,
    embedder: Embedder,
    old: Index,
    passages: list[Passage],
    vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    info: dict[str, dict[str, Any]],
) -> Index:
    """A new build that is the old one plus new documents' rows at the end.

    Nothing already embedded is recomputed: the passage and sentence files are copied and
    extended, and the FAISS index (exact or HNSW graph) is read whole and extended with the new
    vectors, not rebuilt. BM25 is rebuilt over every passage, since its IDF changes with each one.
    """
    build = _new_build(directory)
    names = _names(build)
    old_files = {kind_: directory / art["file"] for kind_, art in old.manifest["artifacts"].items()}
    first_row = len(old.passages)
    append_passages(passages, old_files["passages"], old_files["offsets"], directory / names["passages"], directory / names["offsets"])
    dense = read_vectors(old_files["vectors"], extend=True)  # verified by load_index when `old` was loaded
    if len(vectors):
        dense.add(np.ascontiguousarray(vectors, dtype=np.float32))
    _write_faiss(dense, directory / names["vectors"])
    write_npy(directory / names["sentences"], old.sentence_vectors, sentence_vectors)
    write_npy(directory / names["sentence_start"], old.sentence_start, _sentence_start(passages)[1:] + int(old.sentence_start[-1]))
    passage_terms, sentence_terms = passage_term_sets(passages)
    for what, new in (("passage_terms", passage_terms), ("sentence_terms", sentence_terms)):
        write_term_sets(directory / names[what], directory / names[f"{what}_start"], getattr(old, what), new)
    store = PassageStore(directory / names["passages"], directory / names["offsets"])
    keyword = KeywordIndex.build((p.embedding_text(True) for p in store), settings.bm25_k1, settings.bm25_b)
    index = Index(
        {},
        store,
        dense,
        NpyFile(directory / names["sentences"]),
        np.load(directory / names["sentence_start"], allow_pickle=False),
        keyword,
        TermSets.read(directory / names["passage_terms"], directory / names["passage_terms_start"]),
        TermSets.read(directory / names["sentence_terms"], directory / names["sentence_terms_start"]),
    )
    rows = {
        doc_id: {**info[doc_id], "rows": [r.start, r.stop], "n_passages": len(r)}
        for doc_id, r in old.document_rows.items()
        if doc_id in info
    }
    documents = {**rows, **_with_rows({d: info[d] for d in info if d not in rows}, passages, first_row)}
    return _commit(directory, settings, embedder, build, names, index, dict(sorted(documents.items())))


def _new_build(directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def _names(build: str) -> dict[str, str]:
    return {
        "passages": f"passages-{build}.jsonl",
        "offsets": f"passages-{build}.offsets.npy",
        "vectors": f"vectors-{build}.faiss",
        "sentences": f"sentences-{build}.npy",
        "sentence_start": f"sentences-{build}.start.npy",
        "passage_terms": f"passages-{build}.terms.npy",
        "passage_terms_start": f"passages-{build}.terms.start.npy",
        "sentence_terms": f"sentences-{build}.terms.npy",
        "sentence_terms_start": f"sentences-{build}.terms.start.npy",
    }


def _write_faiss(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))  # faiss' own writer; flushed to disk here
    with path.open("rb") as f:
        os.fsync(f.fileno())


def _commit(
    directory: Path, settings: Settings, embedder: Embedder, build: str, names: dict[str, str], index: Index, documents: dict[str, Any]
) -> Index:
    """Save BM25, checksum every artifact, and switch to the build by replacing the manifest (the one atomic step)."""
    for path in index.keyword.save(directory / f"bm25-{build}"):
        with path.open("rb") as f:
            os.fsync(f.fileno())
        names[f"bm25/{path.name}"] = f"bm25-{build}/{path.name}"
    artifacts = {kind_: {"file": name, "sha256": _sha256(directory / name)} for kind_, name in names.items()}
    manifest = {
        "format_version": FORMAT_VERSION,
        "normaliser_version": NORMALISER_VERSION,
        "build": build,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "embedding": {"model": settings.embed_model, "dim": embedder.dim, "max_tokens": embedder.max_length},
        "chunking": settings.chunking(),
        "token_encoding": "cl100k_base",
        "corpus_dir": str(settings.corpus_dir),
        "counts": {"documents": len(documents), "passages": len(index.passages), "sentences": len(index.sentence_vectors)},
        "dense": {"kind": kind(index.vectors)},
        "keyword": {"k1": settings.bm25_k1, "b": settings.bm25_b},
        "documents": documents,
        "artifacts": artifacts,
    }
    manifest["manifest_sha256"] = _manifest_sha256(manifest)  # a flipped bit in the manifest itself is caught too
    _write_verified(directory, {a["file"]: _stamp(directory / a["file"], a["sha256"]) for a in artifacts.values()})
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
