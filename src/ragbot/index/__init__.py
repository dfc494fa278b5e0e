"""Build, load and refresh the on-disk index: passages, their FAISS vectors, sentence vectors, BM25, and a manifest.

The index is a list of segments (index/segment.py), each a set of briefs' passages with every
artifact made from them under its own name (``passages-<segment>.jsonl`` and its row offsets,
``vectors-<segment>.faiss``, ``sentences-<segment>.npy``, term ids, BM25 postings). ``manifest.json``
lists the segments in order and each artifact file with its sha256. A build writes new segments
only, so adding a brief writes a small one and leaves the rest of a large library as it is;
replacing ``manifest.json`` is the single atomic step that switches builds, so a crash at any
moment leaves the old or the new index whole. Nothing is unpickled on load, and nothing large is
read whole: FAISS and BM25 are memory-mapped, and passages, sentence vectors and term ids are read a
few rows at a time. Each artifact's sha256 is checked before it is parsed; ``.verified.json``
remembers the size and modification time of files already checked, so a start re-hashes only files
written since.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
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

import numpy as np

from ragbot.chunking import Passage, chunk_document
from ragbot.corpus import NORMALISER_VERSION, corpus_state, load_corpus
from ragbot.errors import RagbotError
from ragbot.files import atomic_write
from ragbot.files import sha256_file as _sha256
from ragbot.index.dense import DenseVectors, kind
from ragbot.index.keyword import KeywordIndex
from ragbot.index.npy_file import ConcatRows, NpyFile, concat_starts
from ragbot.index.passages import ConcatPassages
from ragbot.index.segment import KINDS, Segment, merge_plan
from ragbot.index.term_sets import TermSets
from ragbot.library import check_origin
from ragbot.models import Embedder, count_tokens
from ragbot.readers.cache import ExtractCache
from ragbot.settings import Settings

FORMAT_VERSION = 4  # 4: segments
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
    """An index in memory (large parts memory-mapped): its segments' passages, vectors, sentence vectors and BM25, read as one."""

    manifest: dict[str, Any]
    passages: Sequence[Passage]
    vectors: DenseVectors  # one FAISS index per segment: flat, or HNSW for large segments (index/dense.py)
    sentence_vectors: np.ndarray | NpyFile | ConcatRows
    sentence_start: np.ndarray  # passage i's sentence vectors are rows sentence_start[i]:sentence_start[i+1]
    keyword: KeywordIndex
    passage_terms: TermSets  # each passage's term ids (as BM25 reads it: title and headers included)
    sentence_terms: TermSets  # each sentence's, in sentence-vector order
    segments: list[Segment] = field(default_factory=list)

    @classmethod
    def from_segments(cls, manifest: dict[str, Any], segments: list[Segment]) -> Index:
        """The segments read as one library, rows numbered across them in order."""
        one = len(segments) == 1
        return cls(
            manifest,
            segments[0].passages if one else ConcatPassages([s.passages for s in segments]),
            DenseVectors([s.vectors for s in segments], segments[0].vectors.d),
            segments[0].sentence_vectors if one else ConcatRows([s.sentence_vectors for s in segments]),
            concat_starts([s.sentence_start for s in segments]),
            KeywordIndex([s.keyword for s in segments]),
            TermSets.concat([s.passage_terms for s in segments]),
            TermSets.concat([s.sentence_terms for s in segments]),
            segments,
        )

    @classmethod
    def from_arrays(
        cls,
        manifest: dict[str, Any],
        passages: Sequence[Passage],
        vectors: np.ndarray,
        sentence_vectors: np.ndarray,
        settings: Settings | None = None,
    ) -> Index:
        """An in-memory index (one segment) over passages and their (normalised) vectors."""
        s = settings or Settings()
        index = cls.from_segments(manifest, [Segment.from_arrays(passages, vectors, sentence_vectors, s.ann_from, s.hnsw_m)])
        index.keyword = index.keyword.with_params(s.bm25_k1, s.bm25_b)
        return index

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
        segments = [Segment.read({k: paths[f"{seg['id']}/{k}"] for k in KINDS}) for seg in manifest["segments"]]
    except Exception as exc:  # a file that passed its checksum but does not parse or match the others: written by something else
        raise RagbotError(f"index in {directory}/ cannot be read ({type(exc).__name__}: {exc}); run `ragbot index --rebuild`") from None
    return Index.from_segments(manifest, segments)


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
        todo = sorted(set(state) - keep)
        failed: dict[str, str] = {}  # a file that cannot be read: one line each; the rest of the folder is indexed
        cache = ExtractCache.beside(directory)
        docs = {d.doc_id: d for d in load_corpus(settings.corpus_dir, only=set(todo), cache=cache, failed=failed, log=log)}
        if failed and not docs and not keep:
            raise RagbotError(f"no document in {settings.corpus_dir}/ could be read ({next(iter(failed.values()))})")
        log(f"indexing {settings.corpus_dir}/: {changes.summary()}")
        for doc_id, why in failed.items():
            log(f"skipped {why}" if why.startswith(doc_id) else f"skipped {doc_id}: {why}")

        new_passages = [
            p for doc_id in todo if doc_id in docs
            for p in chunk_document(docs[doc_id], count_tokens, settings.chunk_tokens, settings.chunk_overlap)
        ]  # fmt: skip
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
            if doc_id in failed:  # listed with its error and no passages, so it is not read again until it changes
                meta = {"doc_id": doc_id, "title": doc_id, "authors": [], "error": failed[doc_id]}
            else:
                meta = docs[doc_id].metadata() if doc_id in docs else meta_docs[doc_id]
            info[doc_id] = {k: v for k, v in meta.items() if k not in ("sha256", "meta_sha256", "n_passages", "rows")} | state[doc_id]

        dropped = set(changes.modified) | set(changes.removed)
        index = update_index(settings, embedder, old if keep else None, dropped, new_passages, new_vectors, new_sentence_vectors, info)
        cache.prune({s["sha256"] for s in state.values()})
        log(f"index ready: {len(index.passages)} passages from {len(index.documents)} documents ({len(new_passages)} passages embedded)")
        return index, changes


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
    manifest["manifest_sha256"] = _manifest_sha256(manifest)  # a flipped bit in the manifest itself is caught too
    _write_verified(directory, {a["file"]: _stamp(directory / a["file"], a["sha256"]) for a in artifacts.values()})
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
