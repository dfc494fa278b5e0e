"""The SearchStore in Milvus: dense and BM25 full-text search by Milvus itself, vectors and term ids fetched by primary key."""

from __future__ import annotations

from typing import Any

import numpy as np

from ragbot.console import log_stderr
from ragbot.errors import RagbotError
from ragbot.index.reader import Index
from ragbot.index.search.base import Candidates, Lexical, Sentences
from ragbot.index.search.milvus_client import GET_KEYS, MilvusCollections, connect_client, covers, sentence_keys, strings
from ragbot.index.search.milvus_sync import MilvusSync
from ragbot.index.term_sets import QueryTerms
from ragbot.settings import Settings


class MilvusStore(MilvusCollections):
    """Candidates from Milvus' dense and BM25 searches (with doc_id filters); vectors and term ids fetched by primary key."""

    @classmethod
    def connect(cls, index: Index, settings: Settings, prefix: str = "ragbot", log: Any = log_stderr) -> MilvusStore:
        """Connect (one clear line if the server cannot be reached) and bring the collections up to date with the index."""
        client = connect_client(settings)
        MilvusSync(client, index, settings, prefix).checked_sync(log)
        return cls(client, index, settings, prefix)

    def dense(self, query: np.ndarray, c: int, docs: set[str] | None) -> tuple[np.ndarray, np.ndarray]:
        """Milvus' inner-product search (FLAT: exact), filtered by doc_id."""
        if c < 1:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        found = self._search("dense", np.asarray(query, np.float32).tolist(), c, docs, "IP")
        return np.array([r for r, _ in found], np.int64), np.array([s for _, s in found], np.float32)

    def keyword(self, question: str, c: int, docs: set[str] | None) -> Lexical:
        """Milvus' BM25 full-text search over the passages' text (title and headers included)."""
        found = self._search("sparse", question, c, docs, "BM25") if c >= 1 else []
        scores = {r: s for r, s in found if s > 0}
        return Lexical(np.array(sorted(scores), np.int64), scores)

    def _search(self, field: str, data: Any, c: int, docs: set[str] | None, metric: str) -> list[tuple[int, float]]:
        expr = f"doc_id in {strings(sorted(docs))}" if docs else ""
        result = self.client.search(
            self.passages, data=[data], anns_field=field, limit=c, filter=expr, search_params={"metric_type": metric}, output_fields=["row"]
        )
        # BM25 distances come back negated from Milvus Lite (lower is better) and positive from a Milvus server
        return [
            (int(hit["entity"]["row"]), abs(float(hit["distance"])) if metric == "BM25" else float(hit["distance"])) for hit in result[0]
        ]

    def passage_vectors(self, rows: np.ndarray) -> np.ndarray:
        """The passages' vectors as stored in Milvus."""
        found = self._get(self.passages, rows, ["dense"])
        return np.array([r["dense"] for r in found], np.float32).reshape(len(rows), self.dim)

    def sentences(self, rows: np.ndarray, terms: QueryTerms) -> Sentences:
        """Sentence vectors and term ids fetched by key (the index knows each passage's count); coverage as for the local index."""
        return self._sentences(rows, terms, self._get(self.passages, rows, ["terms"]))

    def candidates(self, rows: np.ndarray, terms: QueryTerms) -> Candidates:
        """Each passage fetched once for its vector and its term ids, then its sentences."""
        passages = self._get(self.passages, rows, ["dense", "terms"])
        vectors = np.array([r["dense"] for r in passages], np.float32).reshape(len(rows), self.dim)
        return Candidates(vectors, self._sentences(rows, terms, passages))

    def _sentences(self, rows: np.ndarray, terms: QueryTerms, passages: list[dict[str, Any]]) -> Sentences:
        """The rows' sentences fetched by key, with coverage of their terms and of the passages' (records in row order)."""
        start = self.index.sentence_start
        counts = (start[rows + 1] - start[rows]).astype(np.int64)
        found = self._get(self.sentences_, sentence_keys(rows, counts), ["vector", "terms"])
        return Sentences(
            np.array([r["vector"] for r in found], np.float32).reshape(len(found), self.dim),
            counts,
            covers([r["terms"] for r in found], terms),
            covers([r["terms"] for r in passages], terms),
        )

    def _get(self, name: str, keys: np.ndarray, fields: list[str]) -> list[dict[str, Any]]:
        """Records by primary key, in the order of keys; a key Milvus does not hold is an error (Milvus not in step with the index)."""
        pk = "row" if name == self.passages else "key"
        by_key: dict[int, dict[str, Any]] = {}
        for k in range(0, len(keys), GET_KEYS):
            chunk = [int(x) for x in keys[k : k + GET_KEYS]]
            # strict_float32: pymilvus' query handler (pinned 3.0.2) hands a float vector over as a float32 array, not a list of floats
            found = self.client.get(name, ids=chunk, output_fields=fields, strict_float32=True)
            by_key.update((int(r[pk]), r) for r in found)
        missing = [int(x) for x in keys if int(x) not in by_key]
        if missing:
            raise RagbotError(f"Milvus' {name} lacks {len(missing)} of {len(keys)} records the index has (key {missing[0]}): not in step")
        return [by_key[int(x)] for x in keys]

    def term_weight(self, term: str) -> float:
        """The local index's BM25 IDF (Milvus does not expose its term statistics), so question terms weigh as with FAISS."""
        return self.index.keyword.idf(term) or self.index.keyword.rarest
