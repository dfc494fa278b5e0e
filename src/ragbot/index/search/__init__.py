"""Search over an index: base.py the SearchStore interface, faiss_store.py and milvus_*.py its two kinds, factory.py the choice."""
