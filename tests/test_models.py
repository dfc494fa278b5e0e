from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from ragbot.errors import RagbotError
from ragbot.models.embedder import load_embedder, load_query_encoder, onnx_supported, resolve_embedder_path
from ragbot.models.llm_file import BUNDLED_LLMS, assemble_parts, resolve_llm_path
from ragbot.models.onnx_encoder import OnnxEncoder, exported_model, weights_file
from ragbot.models.tokens import count_tokens

TEXTS = [
    "When did South Korea become a dialogue partner of ASEAN?",
    "Ünïcode — “quotes”, 日本語 and emoji 🙂",
    "x",
    "a long passage about ASEAN and Korea defence cooperation " * 60,  # past the 256-token limit: truncated alike
]


@pytest.mark.parametrize("who", ["questions", "indexing"])
def test_onnx_encoder_matches_sentence_transformers(who, embedder, torch_embedder):
    encoder = load_query_encoder("all-MiniLM-L6-v2") if who == "questions" else embedder
    assert isinstance(encoder, OnnxEncoder)
    fast, reference = encoder.encode(TEXTS), torch_embedder.encode(TEXTS)
    assert fast.shape == reference.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    assert float((fast * reference).sum(1).min()) > 0.999
    assert encoder.wordpiece_lengths(TEXTS) == torch_embedder.wordpiece_lengths(TEXTS)


def test_the_int8_encoder_stays_close_to_sentence_transformers(torch_embedder):
    encoder = load_embedder("all-MiniLM-L6-v2", 1, 8, runtime="onnx", int8=True)
    assert isinstance(encoder, OnnxEncoder) and "int8" in encoder.model_file.name
    cosines = (encoder.encode(TEXTS) * torch_embedder.encode(TEXTS)).sum(1)
    assert 0.97 < float(cosines.min()) < 0.9999, "quantised: close, not identical"


def test_the_onnx_export_is_made_once_and_reused(tmp_path):
    path = resolve_embedder_path("all-MiniLM-L6-v2")
    first = exported_model("all-MiniLM-L6-v2", path, tmp_path)
    stamp = first.stat().st_mtime_ns
    assert exported_model("all-MiniLM-L6-v2", path, tmp_path) == first and first.stat().st_mtime_ns == stamp
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([first.name, weights_file(first).name, ".all-MiniLM-L6-v2.weights"]), "no temporary files left"
    weights_file(first).unlink()  # a model without its weights is exported again
    assert exported_model("all-MiniLM-L6-v2", path, tmp_path) == first and weights_file(first).is_file()


def test_unsupported_model_folders_are_refused(tmp_path):
    assert not onnx_supported(tmp_path)
    with pytest.raises(RagbotError, match="neither a packaged model"):
        resolve_embedder_path(str(tmp_path / "nothing-here"))


def test_tiktoken_counts_offline():
    assert count_tokens("hello world") == 2
    assert count_tokens("<|endoftext|> is plain text here") > 1


def _parts(folder: Path, blobs: list[bytes]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, blob in enumerate(blobs, 1):
        path = folder / f"part{i:02d}.bin"
        path.write_bytes(blob)
        paths.append(path)
    return paths


def test_model_parts_are_joined_in_order_and_checked(tmp_path: Path) -> None:
    blobs = [os.urandom(1000), os.urandom(2000), os.urandom(10)]
    whole = b"".join(blobs)
    dest = assemble_parts(_parts(tmp_path / "parts", blobs), tmp_path / "cache" / "m.gguf", len(whole), hashlib.sha256(whole).hexdigest())
    assert dest.read_bytes() == whole
    assert [p.name for p in dest.parent.iterdir()] == ["m.gguf"], "no temporary file is left behind"


@pytest.mark.parametrize("damage", ["flipped", "truncated"])
def test_a_damaged_part_is_detected_and_no_model_file_is_written(tmp_path: Path, damage: str) -> None:
    blobs = [os.urandom(1000), os.urandom(2000)]
    whole = b"".join(blobs)
    parts = _parts(tmp_path / "parts", blobs)
    data = bytearray(parts[1].read_bytes())
    if damage == "flipped":
        data[500] ^= 0xFF
    else:
        data = data[:-1]
    parts[1].write_bytes(bytes(data))
    cache = tmp_path / "cache"
    with pytest.raises(RagbotError, match="reinstall the model packages"):
        assemble_parts(parts, cache / "m.gguf", len(whole), hashlib.sha256(whole).hexdigest())
    assert not cache.exists() or not any(cache.iterdir()), "neither the model file nor a temporary file exists"


def test_the_bundled_llm_file_is_found_offline(tmp_path: Path) -> None:
    path = resolve_llm_path("smollm2-135m", tmp_path)
    assert path.suffix == ".gguf" and path.stat().st_size == BUNDLED_LLMS["smollm2-135m"].size
    with pytest.raises(RagbotError, match="neither a bundled model"):
        resolve_llm_path("gpt-5", tmp_path)
