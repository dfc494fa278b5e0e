"""Nothing ragbot reads from disk can run code: no pickles, no pickled weights, only checksummed FAISS files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ragbot.errors import RagbotError
from ragbot.models.embedder import resolve_embedder_path

SRC = Path(__file__).resolve().parents[1] / "src" / "ragbot"

# Calls that deserialise executable formats, or switch a safe loader into its unsafe mode.
FORBIDDEN = [
    r"\bimport\s+(c?pickle|dill|cloudpickle|joblib|shelve|marshal)\b",
    r"\bfrom\s+(c?pickle|dill|cloudpickle|joblib|shelve|marshal)\b",
    r"allow_pickle\s*=\s*True",
    r"\btorch\.load\s*\(",
    r"\byaml\.(unsafe_)?load\s*\(",
    r"\b(eval|exec)\s*\(",
    r"weights_only\s*=\s*False",
    r"trust_remote_code\s*=\s*True",
]


def _source() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in SRC.rglob("*.py")}


@pytest.mark.parametrize("pattern", FORBIDDEN)
def test_no_source_file_loads_an_executable_format(pattern: str):
    hits = [
        f"{p.relative_to(SRC)}:{text[: m.start()].count(chr(10)) + 1}" for p, text in _source().items() for m in re.finditer(pattern, text)
    ]
    assert hits == [], hits


def test_every_numpy_load_refuses_pickles_and_faiss_reads_only_verified_files():
    for path, text in _source().items():
        for m in re.finditer(r"\bnp\.load\s*\(([^)]*)\)", text):
            assert "allow_pickle=False" in m.group(1), f"{path.name}: np.load without allow_pickle=False"
        if "faiss.read_index" in text:
            assert path.name == "dense.py", f"{path.name} reads FAISS files; only read_vectors, after the sha256 check"
    reader = (SRC / "index" / "reader.py").read_text(encoding="utf-8")
    load = reader[reader.index("def load_index") : reader.index("def verified_stamp")]
    assert load.index("_verified_artifacts(") < load.index("Segment.read("), "checksums are verified before any file is parsed"
    assert "_sha256(path) != art" in load


@pytest.mark.parametrize("weights", ["pytorch_model.bin", "model.pt", "0_Dense/pytorch_model.bin", None])
def test_a_local_model_folder_with_pickled_or_no_safetensors_weights_is_refused(tmp_path: Path, weights: str | None):
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    (tmp_path / "modules.json").write_text("[]", encoding="utf-8")
    if weights:
        (tmp_path / weights).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / weights).write_bytes(b"\x80\x04pickle")
        (tmp_path / "model.safetensors").write_bytes(b"{}")
    with pytest.raises(RagbotError, match="safetensors and no pickle"):
        resolve_embedder_path(str(tmp_path))


def test_the_packaged_model_is_safetensors_only():
    folder = resolve_embedder_path("all-MiniLM-L6-v2")
    assert (folder / "model.safetensors").is_file()
