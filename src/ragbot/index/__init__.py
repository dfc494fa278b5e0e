"""The on-disk index: passages, their FAISS vectors, sentence vectors, BM25, and a manifest.

reader.py loads and checks it, writer.py builds it, lock.py lets one writer in at a time, and
search/ answers the retriever's questions of it (FAISS and local files, or Milvus).

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
