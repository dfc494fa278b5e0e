"""Talking to Milvus: where it is, a client that fails in one clear line, and what the sync and the search share.

Three collections: ``<prefix>_passages`` (primary key the passage's row; its document, the text
BM25 reads with a Milvus BM25 function filling a sparse field, its vector and term ids),
``<prefix>_sentences`` (each sentence's vector and term ids, keyed row * 4096 + position) and
``<prefix>_documents`` (one record per document: its signature and row counts). The local index
stays the record of passages and documents; milvus_sync.py brings Milvus up to date with it, and
milvus_store.py searches it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from pymilvus import MilvusClient

from ragbot.errors import RagbotError
from ragbot.index.reader import Index
from ragbot.index.term_sets import QueryTerms
from ragbot.settings import Settings
from ragbot.urls import hide_password

TOKEN_ENV = "RAGBOT_MILVUS_TOKEN"
SENTENCE_KEY = 4096  # a sentence's key: its passage's row * SENTENCE_KEY + its position in the passage
MAX_TERMS = 4096
BATCH = 256
GET_KEYS = 1000  # records per fetch by primary key (Milvus returns at most 16384 entities a query)
# pymilvus pings every connection each 10 s, idle ones too; gRPC servers (Milvus Lite's among them) allow a ping
# without data once per 5 minutes and answer more with GOAWAY "too_many_pings", which fails the call then in flight
# (seen in CI as "Too many pings"). So: no pings on an idle connection, and at most one a minute during a call.
GRPC_OPTIONS = {"grpc.keepalive_time_ms": 60_000, "grpc.keepalive_permit_without_calls": 0}


class MilvusCollections:
    """An index's three collections in one Milvus, under a name prefix."""

    def __init__(self, client: MilvusClient, index: Index, settings: Settings, prefix: str = "ragbot") -> None:
        self.client, self.index, self.settings, self.prefix = client, index, settings, prefix
        self.passages, self.sentences_, self.documents = f"{prefix}_passages", f"{prefix}_sentences", f"{prefix}_documents"
        self.dim = int(index.vectors.d)

    def held(self) -> tuple[int, int, int]:
        """How many documents records, passages and sentences the collections hold (Milvus' own count)."""
        counts = []
        for name in (self.documents, self.passages, self.sentences_):
            found = self.client.query(name, filter="", output_fields=["count(*)"])
            counts.append(int(found[0]["count(*)"]) if found else 0)
        return counts[0], counts[1], counts[2]


def milvus_uri(settings: Settings) -> str:
    """The URI to connect to: a server's http(s)://, or a Milvus Lite path ending in .db (empty: index_dir/milvus.db)."""
    uri = settings.milvus_uri or str(settings.index_dir / "milvus.db")
    if not uri.startswith(("http://", "https://", "tcp://")) and not uri.endswith(".db"):
        raise RagbotError(f"milvus_uri {uri!r} must be http://host:port or a Milvus Lite path ending in .db")
    return uri


@contextmanager
def quiet() -> Iterator[None]:
    """pymilvus logs every failed call with a traceback on stderr; ragbot says what failed in one line of its own."""
    logger = logging.getLogger("pymilvus")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def reason(exc: BaseException) -> str:
    """An exception's message on one line, any password in it hidden."""
    text = str(getattr(exc, "message", "")) or str(exc) or type(exc).__name__
    return hide_password(" ".join(text.split()))[:300]


_REFUSED = re.compile(r"(?i)auth|password|credential|token|unauthenticated|permission|privilege")


def connect_client(settings: Settings) -> MilvusClient:
    """A client for milvus_uri (token from RAGBOT_MILVUS_TOKEN); a server that is down or refuses the token is one clear line."""
    uri = milvus_uri(settings)
    try:
        with quiet():
            return MilvusClient(uri=uri, token=os.environ.get(TOKEN_ENV, ""), timeout=10, grpc_options=GRPC_OPTIONS)
    except Exception as exc:
        why = reason(exc)
        if _REFUSED.search(why) or getattr(exc, "code", None) == 1800:
            raise RagbotError(f"Milvus at {hide_password(uri)} refused the credentials (milvus_uri, {TOKEN_ENV}): {why}") from None
        raise RagbotError(f"cannot reach Milvus at {hide_password(uri)}: {why}") from None


def doc_key(doc_id: str) -> int:
    """A document's key in the documents collection: 63 bits of the sha256 of its doc_id."""
    return int.from_bytes(hashlib.sha256(doc_id.encode("utf-8")).digest()[:8], "big") >> 1


def sentence_keys(rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The keys of these passages' sentences (counts per passage), passage by passage in position order."""
    if not len(rows):
        return np.zeros(0, np.int64)
    return np.concatenate([int(r) * SENTENCE_KEY + np.arange(int(n), dtype=np.int64) for r, n in zip(rows, counts, strict=True)])


def terms_of(sets: Any, i: int) -> list[int]:
    return [int(t) for t in sets.ids[int(sets.start[i]) : int(sets.start[i + 1])]]


def covers(sets: list[list[int]], terms: QueryTerms) -> np.ndarray:
    """Each set's summed question-term weight, added in the order TermSets.cover adds the local index's (the same floats)."""
    lengths = [len(ids) for ids in sets]
    ids = np.fromiter(itertools.chain.from_iterable(sets), np.uint32, sum(lengths))
    return np.bincount(np.repeat(np.arange(len(sets)), lengths), weights=terms.weigh(ids), minlength=len(sets))


def strings(values: list[str] | set[str]) -> str:
    """A Milvus list literal of strings (JSON's escapes are Milvus' too)."""
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"
