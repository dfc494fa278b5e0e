"""Milvus brought up to date with the local index, document by document; and ``ragbot index --to milvus``.

A start reads one documents record per brief, not every passage: a document whose record is missing
or differs from the index (rows, text or embedding changed) is deleted by doc_id and written again.

A document's record is what says its rows are whole, so it is written last: before its rows are
deleted the record is marked as being written (an empty signature), and only after every passage
and sentence is in does it get the document's signature; a removed document's rows go before its
record. Whenever a writer stops, each document is either current or has a record that differs,
and the next sync rewrites or removes it.

Writers take turns: a sync with something to write holds the index folder's build lock (index/.lock)
and looks at the records again once it has it, so replicas starting or reloading at the same moment
write a brief once, not twice; a sync that finds every record current takes no lock.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from pymilvus import DataType, Function, FunctionType, MilvusException

from ragbot.console import log_stderr
from ragbot.errors import RagbotError
from ragbot.index.lock import build_lock
from ragbot.index.reader import load_index, read_manifest
from ragbot.index.search.milvus_client import (
    BATCH,
    MAX_TERMS,
    SENTENCE_KEY,
    MilvusCollections,
    connect_client,
    doc_key,
    milvus_uri,
    quiet,
    reason,
    strings,
    terms_of,
)
from ragbot.settings import Settings
from ragbot.urls import hide_password

WRITING = ""  # a documents record's signature while the document's rows are being written or deleted
SYNC_WAIT = 600.0  # seconds a sync with something to write waits for the index folder's lock (a build, another replica's sync)


class MilvusSync(MilvusCollections):
    """Writes the index's documents into Milvus (those whose record is missing or differs) and removes those it no longer has."""

    def checked_sync(self, log: Any = log_stderr) -> tuple[list[str], list[str]]:
        """sync, with a failure Milvus reports (a missing database, a refused write) as one line."""
        try:
            with quiet():
                return self.sync(log)
        except MilvusException as exc:
            raise RagbotError(f"Milvus at {hide_password(milvus_uri(self.settings))} failed: {reason(exc)}") from None

    def sync(self, log: Any = log_stderr) -> tuple[list[str], list[str]]:
        """Rewrite the documents whose record is missing or differs, delete those that left the index: (written, deleted)."""
        if self._ready():
            missing, stale, _ = self._plan()
            if not missing and not stale:
                return [], []  # the common start: in step, read without taking the lock
        # Writers take turns under the index folder's lock: two replicas starting (or reloading) at once
        # would otherwise both delete a brief's rows, then both insert them, and Milvus keeps both copies.
        with build_lock(self.settings.index_dir, wait=SYNC_WAIT):
            self._create(log)
            missing, stale, expected = self._plan()  # again: the writer this one waited for may have done it all
            if (missing or stale) and self._superseded():
                log("milvus: the index folder holds a newer build than this one; writing is left to its loader")
                return [], []
            rows_of = self.index.document_rows
            # Every old row goes before any new one is written: rows move when documents come and go, and a
            # row written under a number another document still held would be deleted with that document.
            gone = sorted(set(stale) - set(missing))
            self._mark(missing, rows_of)
            self.remove(gone)
            self._delete_rows(missing)
            for doc_id in missing:
                self.add(rows_of[doc_id], expected[doc_id])
                self._record(doc_id, rows_of[doc_id], expected[doc_id])  # last: the document is whole
        if stale or missing:
            log(f"milvus: {len(missing)} documents written, {len(gone)} removed")
        return missing, stale

    def _plan(self) -> tuple[list[str], list[str], dict[str, str]]:
        """The documents to write (record missing or differing), those whose record is stale, and every signature expected."""
        expected = {doc_id: self._signature(doc_id, rows) for doc_id, rows in self.index.document_rows.items() if len(rows)}
        records = self.records()
        stale = sorted(d for d, sig in records.items() if sig != expected.get(d))
        missing = sorted(d for d in expected if records.get(d) != expected[d])
        return missing, stale, expected

    def _superseded(self) -> bool:
        """Whether the index folder switched to another build since this index was loaded (its loader syncs that one)."""
        build = self.index.manifest.get("build")
        on_disk = read_manifest(self.settings.index_dir) if build else None
        return on_disk is not None and on_disk.get("build") != build

    def records(self) -> dict[str, str]:
        """Each document's signature as its documents record holds it (empty: being written)."""
        return {r["doc_id"]: r["sig"] for batch in self._scan(self.documents, ["doc_id", "sig"], "key >= 0") for r in batch}

    def _mark(self, docs: list[str], rows_of: dict[str, range]) -> None:
        """Records saying these documents are being written, before any of their rows is touched."""
        for k in range(0, len(docs), BATCH):
            self.client.upsert(self.documents, [self._entry(d, rows_of[d], WRITING) for d in docs[k : k + BATCH]])

    def _record(self, doc_id: str, rows: range, signature: str) -> None:
        """The record saying this document's passages and sentences are all in Milvus."""
        self.client.upsert(self.documents, [self._entry(doc_id, rows, signature)])

    def _entry(self, doc_id: str, rows: range, signature: str) -> dict[str, Any]:
        """A documents record: the document's key, doc_id, signature and counts."""
        start = self.index.sentence_start
        sentences = int(start[rows.stop] - start[rows.start])
        return {
            "key": doc_key(doc_id),
            "doc_id": doc_id,
            "sig": signature,
            "passages": len(rows),
            "sentences": sentences,
            "unit": [1.0, 0.0],
        }

    def add(self, rows: range, signature: str) -> None:
        """Write a document's passages (rows of the local index) and their sentences."""
        index = self.index
        vectors = index.vectors.reconstruct_batch(np.arange(rows.start, rows.stop, dtype=np.int64))
        records, sentences = [], []
        for i, vector in zip(rows, vectors, strict=True):
            p = index.passages[i]
            records.append(
                {
                    "row": i,
                    "doc_id": p.doc_id,
                    "sig": signature,
                    "text": p.embedding_text(True),
                    "dense": vector.tolist(),
                    "terms": terms_of(index.passage_terms, i),
                }
            )
            first = int(index.sentence_start[i])
            for j, sv in enumerate(index.sentences_of(i)):
                sentences.append(
                    {
                        "key": i * SENTENCE_KEY + j,
                        "row": i,
                        "doc_id": p.doc_id,
                        "vector": np.asarray(sv).tolist(),
                        "terms": terms_of(index.sentence_terms, first + j),
                    }
                )
        for name, items in ((self.passages, records), (self.sentences_, sentences)):
            for k in range(0, len(items), BATCH):
                self.client.insert(name, items[k : k + BATCH])

    def remove(self, docs: list[str]) -> None:
        """Delete these documents' passages and sentences, then their records (a record outlives its rows, never the reverse)."""
        if docs:
            self._delete_rows(docs)
            self.client.delete(self.documents, filter=f"doc_id in {strings(docs)}")

    def _delete_rows(self, docs: list[str]) -> None:
        """Delete these documents' passages and sentences by doc_id."""
        for k in range(0, len(docs), BATCH):
            expr = f"doc_id in {strings(docs[k : k + BATCH])}"
            for name in (self.passages, self.sentences_):
                self.client.delete(name, filter=expr)

    def _signature(self, doc_id: str, rows: range) -> str:
        """What a document's records must carry to be current: its rows, its checksum and what made its vectors."""
        entry = (self.index.manifest.get("documents") or {}).get(doc_id, {})
        chunking = json.dumps(self.index.manifest.get("chunking", {}), sort_keys=True)
        made = hashlib.sha256(f"{entry.get('sha256')}|{entry.get('meta_sha256')}|{chunking}".encode()).hexdigest()[:32]
        return f"{rows.start}:{rows.stop}:{made}"

    def _ready(self) -> bool:
        """Whether the three collections are there with the index's dimension (then loaded): nothing to create or drop."""
        names = (self.passages, self.sentences_, self.documents)
        if not all(self.client.has_collection(name) for name in names):
            return False
        if any(self._dim_of(name) != self.dim for name in (self.passages, self.sentences_)):
            return False
        for name in names:
            self.client.load_collection(name)  # a reopened collection starts released
        return True

    def _create(self, log: Any = log_stderr) -> None:
        """Create the three collections if missing; all three again if they are not whole together or hold another dimension."""
        have = {name for name in (self.passages, self.sentences_, self.documents) if self.client.has_collection(name)}
        why = ""
        if have and self.documents not in have:
            why = "collections written by an earlier ragbot (no documents records)"
        elif have and have != {self.passages, self.sentences_, self.documents}:
            why = f"collection {', '.join(sorted({self.passages, self.sentences_} - have))} missing"
        elif have and any(self._dim_of(name) != self.dim for name in (self.passages, self.sentences_)):
            why = "vectors of another dimension"
        if why:
            log(f"milvus: {why}: every document is written again")
            for name in (self.documents, self.passages, self.sentences_):  # the records first: without them, nothing is current
                if name in have:
                    self.client.drop_collection(name)
        if not self.client.has_collection(self.passages):
            schema = self.client.create_schema(auto_id=False)
            schema.add_field("row", DataType.INT64, is_primary=True)
            schema.add_field("doc_id", DataType.VARCHAR, max_length=1024)
            schema.add_field("sig", DataType.VARCHAR, max_length=256)
            schema.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True)
            schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            schema.add_field("dense", DataType.FLOAT_VECTOR, dim=self.dim)
            schema.add_field("terms", DataType.ARRAY, element_type=DataType.INT64, max_capacity=MAX_TERMS)
            schema.add_function(
                Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"])
            )
            params = self.client.prepare_index_params()
            params.add_index(field_name="dense", index_type="FLAT", metric_type="IP")
            bm25 = {"bm25_k1": self.settings.bm25_k1, "bm25_b": self.settings.bm25_b}
            params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=bm25)
            self.client.create_collection(self.passages, schema=schema, index_params=params, consistency_level="Strong")
        if not self.client.has_collection(self.sentences_):
            schema = self.client.create_schema(auto_id=False)
            schema.add_field("key", DataType.INT64, is_primary=True)
            schema.add_field("row", DataType.INT64)
            schema.add_field("doc_id", DataType.VARCHAR, max_length=1024)
            schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
            schema.add_field("terms", DataType.ARRAY, element_type=DataType.INT64, max_capacity=MAX_TERMS)
            params = self.client.prepare_index_params()
            params.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
            self.client.create_collection(self.sentences_, schema=schema, index_params=params, consistency_level="Strong")
        if not self.client.has_collection(self.documents):  # last: a crash before this leaves collections the next start drops
            schema = self.client.create_schema(auto_id=False)
            schema.add_field("key", DataType.INT64, is_primary=True)  # an int key: pymilvus' iterator cannot page every string key
            schema.add_field("doc_id", DataType.VARCHAR, max_length=1024)
            schema.add_field("sig", DataType.VARCHAR, max_length=256)
            schema.add_field("passages", DataType.INT64)
            schema.add_field("sentences", DataType.INT64)
            schema.add_field("unit", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection; unused
            params = self.client.prepare_index_params()
            params.add_index(field_name="unit", index_type="FLAT", metric_type="IP")
            self.client.create_collection(self.documents, schema=schema, index_params=params, consistency_level="Strong")
        for name in (self.passages, self.sentences_, self.documents):
            self.client.load_collection(name)  # a reopened collection starts released

    def _dim_of(self, name: str) -> int | None:
        for f in self.client.describe_collection(name).get("fields", []):
            if f.get("type") == DataType.FLOAT_VECTOR:
                return int(f.get("params", {}).get("dim", 0))
        return None

    def _scan(self, name: str, fields: list[str], expr: str) -> Iterator[list[dict[str, Any]]]:
        with quiet():  # Milvus Lite has no MVCC timestamp to give the iterator: one warning per scan, harmless
            it = self.client.query_iterator(name, batch_size=1000, filter=expr, output_fields=fields)
            try:
                while batch := it.next():
                    yield batch
            finally:
                it.close()


@dataclass(frozen=True)
class Migration:
    """What ``ragbot index --to milvus`` did: the briefs it wrote and removed, and what Milvus holds after it."""

    uri: str  # password hidden
    written: list[str]
    removed: list[str]
    passages: int  # written
    sentences: int  # written
    briefs_held: int
    passages_held: int
    sentences_held: int
    seconds: float


def migrate(settings: Settings, prefix: str = "ragbot") -> Migration:
    """Write the local index as built into Milvus (nothing re-embedded, nothing in index_dir changed); fails if the copies differ."""
    directory = settings.index_dir
    if read_manifest(directory) is None:
        raise RagbotError(f"no index in {directory}/; build it with `ragbot index`, then move it with `ragbot index --to milvus`")
    start = time.perf_counter()
    with build_lock(directory):  # a build switching the index mid-copy, or writing Milvus too, waits for this one
        index = load_index(directory)
        store = MilvusSync(connect_client(settings), index, settings, prefix)
        written, stale = store.checked_sync(log=lambda _m: None)
        with quiet():
            briefs, passages, sentences = store.held()
    rows = index.document_rows
    want = (sum(1 for r in rows.values() if len(r)), len(index.passages), len(index.sentence_vectors))
    if (briefs, passages, sentences) != want:
        raise RagbotError(
            f"Milvus at {hide_password(milvus_uri(settings))} holds {briefs} briefs, {passages} passages and {sentences} sentences, "
            f"the index {want[0]}, {want[1]} and {want[2]}: another writer? run `ragbot index --to milvus` again"
        )
    start_of = index.sentence_start
    return Migration(
        hide_password(milvus_uri(settings)),
        written,
        sorted(set(stale) - set(written)),
        sum(len(rows[d]) for d in written),
        sum(int(start_of[rows[d].stop] - start_of[rows[d].start]) for d in written),
        briefs,
        passages,
        sentences,
        time.perf_counter() - start,
    )
