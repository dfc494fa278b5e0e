"""A sentence-transformers BERT encoder run by ONNX Runtime: exported once from the packaged safetensors.

The export (torch, ~10 s) happens on first use and is cached beside the joined LLM file, named by
the weights' sha256, so a changed model is exported again. In float32 the vectors equal
sentence-transformers' at the same speed (both are compute-bound on the CPU); with int8 weights
(``embed_int8``) indexing is ~2.2x faster and retrieval on eval/ moves by a question (docs/scaling.md).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ragbot.errors import RagbotError
from ragbot.files import sha256_file

if TYPE_CHECKING:
    from tokenizers import Tokenizer

EXPORT_VERSION = 3  # bump when the exported graph changes (3: weights in a file of their own)


def export_onnx(model_dir: Path, dest: Path, int8: bool = False) -> Path:
    """Export the BERT of a sentence-transformers folder to ONNX (``int8``: weights quantised); dest is whole or absent."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()

    class _Hidden(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            types = torch.zeros_like(input_ids)
            return self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=types).last_hidden_state

    bert = AutoModel.from_pretrained(str(model_dir), use_safetensors=True, trust_remote_code=False)
    bert.train(False)  # inference mode: no dropout
    dest.parent.mkdir(parents=True, exist_ok=True)
    raw = dest.with_name(f".{dest.stem}.{uuid.uuid4().hex[:8]}.raw.onnx")
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.tmp")
    ids = torch.ones((2, 8), dtype=torch.int64)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}, "hidden": {0: "batch", 1: "tokens"}}
    try:
        import warnings

        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Hidden(bert),
                (ids, torch.ones_like(ids)),
                str(raw),
                input_names=["input_ids", "attention_mask"],
                output_names=["hidden"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        if int8:  # weights as int8, per output channel; activations quantised on the fly (VNNI on current CPUs)
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(raw), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
        else:
            os.replace(raw, tmp)
        _save_weights_apart(tmp, dest)
    finally:
        raw.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    return dest


def weights_file(model_file: Path) -> Path:
    """Where an exported model keeps its weights: beside it, named after it."""
    return model_file.with_name(model_file.name + ".data")


def _save_weights_apart(model_file: Path, dest: Path) -> None:
    """The model written to dest with its weights in weights_file(dest): the weights first, so dest is there only when both are whole.

    ONNX Runtime reads weights kept apart without parsing them out of the graph's protobuf: a session
    starts about twice as fast, with the same outputs.
    """
    import onnx

    work = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.d")
    work.mkdir()
    weights = weights_file(dest).name
    try:
        onnx.save_model(
            onnx.load(str(model_file)),
            str(work / dest.name),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=weights,
            size_threshold=1024,
        )
        os.chmod(work / weights, (work / dest.name).stat().st_mode & 0o777)  # onnx writes it owner-only
        for name in (weights, dest.name):
            with (work / name).open("rb") as f:
                os.fsync(f.fileno())
            os.replace(work / name, dest.parent / name)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def exported_model(name: str, model_dir: Path, cache_dir: Path, int8: bool = False) -> Path:
    """The cached ONNX export of this model folder, exported now if missing."""
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(name).name)
    cache_dir = cache_dir.expanduser()
    try:
        digest = _weights_digest(model_dir, cache_dir / f".{stem}.weights")[:16]
        dest = cache_dir / f"{stem}-{digest}-{'int8' if int8 else 'fp32'}-v{EXPORT_VERSION}.onnx"
        return dest if dest.is_file() and weights_file(dest).is_file() else export_onnx(model_dir, dest, int8)
    except OSError as exc:
        raise RagbotError(f"cannot write the ONNX export of the embedding model to {cache_dir}: {exc.strerror}") from None


def _weights_digest(model_dir: Path, stamp: Path) -> str:
    """The weights' sha256, remembered with their size and modification time so a start does not hash 90 MB."""
    st = (model_dir / "model.safetensors").stat()
    key = f"{model_dir.resolve()} {st.st_size} {st.st_mtime_ns}"
    if stamp.is_file():
        remembered_key, _, digest = stamp.read_text(encoding="utf-8").rpartition(" ")
        if remembered_key == key and len(digest) == 64:
            return digest
    digest = sha256_file(model_dir / "model.safetensors")
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(f"{key} {digest}", encoding="utf-8")
    return digest


class OnnxEncoder:
    """Turns texts into L2-normalised float32 vectors: BERT in ONNX Runtime, mean pooling over real tokens."""

    def __init__(self, model_dir: Path, onnx_path: Path, threads: int = 1, batch_size: int = 32) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        options.log_severity_level = 3
        self.model_file = onnx_path
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.max_length = int(json.loads((model_dir / "sentence_bert_config.json").read_text()).get("max_seq_length", 256))
        self.dim = int(json.loads((model_dir / "config.json").read_text())["hidden_size"])
        self.batch_size = batch_size
        self._tokenizer_file = model_dir / "tokenizer.json"
        self.tokenizer = Tokenizer.from_file(str(self._tokenizer_file))
        self.tokenizer.enable_truncation(max_length=self.max_length)
        self.tokenizer.enable_padding()
        self.texts_encoded = 0

    @cached_property
    def _lengths(self) -> Tokenizer:
        """A second tokenizer, neither truncating nor padding, read only when indexing asks (a question need not wait for it)."""
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self._tokenizer_file))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    def encode(self, texts: list[str]) -> np.ndarray:
        self.texts_encoded += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths together: less padding
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            batch = self.tokenizer.encode_batch([texts[i] for i in rows])
            ids = np.array([e.ids for e in batch], dtype=np.int64)
            mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            pooled = (hidden * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1)
            out[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out

    def wordpiece_lengths(self, texts: list[str]) -> list[int]:
        """Model-tokenizer lengths including special tokens, to check nothing gets truncated."""
        return [len(e.ids) for e in self._lengths.encode_batch(texts)] if texts else []
