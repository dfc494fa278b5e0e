"""The SearchStore the settings name: FAISS and local files (the default), or Milvus."""

from __future__ import annotations

from ragbot.index.reader import Index
from ragbot.index.search.base import SearchStore
from ragbot.index.search.faiss_store import FaissStore
from ragbot.settings import Settings


def open_search_store(index: Index, settings: Settings) -> SearchStore:
    """The store settings.vector_store names, over this index (Milvus brought up to date with it first)."""
    if settings.vector_store == "milvus":
        from ragbot.index.search.milvus_store import MilvusStore

        return MilvusStore.connect(index, settings)
    return FaissStore(index, settings)
