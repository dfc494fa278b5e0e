"""The read side of an index: the manifest, checksums checked before anything is parsed, and the Index in memory."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ragbot.chunking import Passage
from ragbot.errors import RagbotError
from ragbot.files import atomic_write
from ragbot.files import sha256_file as _sha256
from ragbot.index.dense import DenseVectors
from ragbot.index.keyword import KeywordIndex
from ragbot.index.npy_file import ConcatRows, NpyFile, concat_starts
from ragbot.index.passages import ConcatPassages
from ragbot.index.segment import KINDS, Segment
from ragbot.index.term_sets import TermSets
from ragbot.settings import Settings

FORMAT_VERSION = 4  # 4: segments
MANIFEST = "manifest.json"
VERIFIED = ".verified.json"


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


def manifest_sha256(manifest: dict[str, Any]) -> str:
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
    if manifest.get("manifest_sha256", manifest_sha256(manifest)) != manifest_sha256(manifest):  # older manifests have none
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
        stamp = verified_stamp(path, art["sha256"])
        if verified.get(art["file"]) != stamp:
            if _sha256(path) != art["sha256"]:
                raise RagbotError(f"index file {path} is corrupted (checksum mismatch); run `ragbot index --rebuild`")
            newly[art["file"]] = stamp
        paths[name] = path
    if newly:
        current = {a["file"] for a in manifest["artifacts"].values()}
        write_verified(directory, {**{k: v for k, v in verified.items() if k in current}, **newly})
    return paths


def verified_stamp(path: Path, sha256: str) -> str:
    st = path.stat()
    return f"{sha256} {st.st_size} {st.st_mtime_ns}"


def _read_verified(directory: Path) -> dict[str, str]:
    try:
        data = json.loads((directory / VERIFIED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def write_verified(directory: Path, stamps: dict[str, str]) -> None:
    with contextlib.suppress(OSError):  # best effort: a read-only index folder is verified in full at every start
        atomic_write(directory / VERIFIED, json.dumps(stamps, indent=1).encode("utf-8"))
