"""kill -9 in the middle of index builds: what is left must load, and be the old build or the whole new one.

bench/crash_index.py does the same to `ragbot index` subprocesses on the real corpus 20 times; here a
forked build of a tiny two-document corpus is killed 6 times, so the test stays within seconds.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import signal
import time
from pathlib import Path

import pytest

from ragbot.corpus.folder import corpus_state
from ragbot.errors import RagbotError
from ragbot.index.changes import diff_corpus
from ragbot.index.reader import MANIFEST, VERIFIED, load_index, read_manifest
from ragbot.index.writer import build_index, remove_leftovers
from ragbot.settings import Settings


def _build(settings: Settings, embedder) -> None:
    build_index(settings, embedder, progress=False, log=lambda _m: None)


def _outcome(settings: Settings, old_build: str) -> str:
    """'old', 'new', or why the index left behind is neither."""
    try:
        index = load_index(settings.index_dir)
    except RagbotError as exc:
        return f"unloadable: {exc}"
    if index.manifest["build"] == old_build:
        return "old"
    changes = diff_corpus(index.manifest, corpus_state(settings.corpus_dir), settings)
    return f"a new build of another corpus: {changes.summary()}" if changes.stale else "new"


def _kill(proc: multiprocessing.process.BaseProcess, index_dir: Path, mode: str, typical: float, rng: random.Random) -> bool:
    """SIGKILL a running build at a random moment ('any') or just after its first new file ('write'); False if it had finished."""
    start, before = time.monotonic(), {p.name for p in index_dir.iterdir()}
    if mode == "any":
        at = rng.uniform(0, typical)
        while time.monotonic() - start < at and proc.is_alive():
            time.sleep(0.002)
    else:
        while proc.is_alive() and not ({p.name for p in index_dir.iterdir()} - before) and time.monotonic() - start < 60:
            time.sleep(0.0005)
        time.sleep(rng.uniform(0, 0.02))
    if not proc.is_alive():
        return False
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)
    return True


def _tiny_corpus(folder: Path) -> Path:
    folder.mkdir()
    for name, topic in (("2024-01_ports.txt", "port calls"), ("2024-02_drills.txt", "coast guard drills")):
        paragraphs = [f"Paragraph {i} on {topic}: officials met in {2000 + i} and agreed on {i + 2} measures." for i in range(12)]
        (folder / name).write_text(f"# Brief on {topic}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return folder


def test_kill_9_mid_build_leaves_the_old_index_or_the_complete_new_one(tmp_path: Path, embedder):
    corpus = _tiny_corpus(tmp_path / "corpus")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings, embedder, progress=False, log=lambda _m: None)
    ctx = multiprocessing.get_context("fork")  # the child reuses the loaded embedder: no model load per run
    rng = random.Random(11)
    briefs = sorted(corpus.glob("*.txt"))
    results, killed = [], 0
    with briefs[0].open("a", encoding="utf-8") as f:
        f.write("\nA timing paragraph about port calls in Busan.\n")
    start = time.monotonic()
    _build(settings, embedder)
    typical = time.monotonic() - start
    for run in range(6):
        old_build = json.loads((settings.index_dir / MANIFEST).read_text())["build"]
        with rng.choice(briefs).open("a", encoding="utf-8") as f:
            f.write(f"\nRun {run}: exercise {rng.randrange(10**6)} was held off Busan.\n")
        proc = ctx.Process(target=_build, args=(settings, embedder))
        proc.start()
        killed += _kill(proc, settings.index_dir, "write" if run % 2 else "any", typical, rng)
        results.append(_outcome(settings, old_build))
    assert set(results) <= {"old", "new"}, results
    assert killed >= 3, f"only {killed} of 6 builds were killed before finishing: {results}"
    _build(settings, embedder)  # an uninterrupted build clears what the killed ones left
    manifest = read_manifest(settings.index_dir)
    left = {p.name for p in settings.index_dir.iterdir()} - {MANIFEST, ".lock", VERIFIED}
    assert left == {a["file"].split("/")[0] for a in manifest["artifacts"].values()}


def test_every_damaged_index_file_is_caught_on_load_with_the_way_out(tmp_path: Path, embedder):
    """Truncated or one-bit-flipped: each artifact and the manifest (test_index.py covers the vectors file alone)."""
    settings = Settings(corpus_dir=_tiny_corpus(tmp_path / "corpus"), index_dir=tmp_path / "index")
    build_index(settings, embedder, progress=False, log=lambda _m: None)
    manifest = json.loads((settings.index_dir / MANIFEST).read_text())
    files = [MANIFEST, *(a["file"] for a in manifest["artifacts"].values())]
    for name in files:
        for damage in ("truncate", "flip"):
            case = tmp_path / f"{name}-{damage}"
            shutil.copytree(settings.index_dir, case)
            data = bytearray((case / name).read_bytes())
            if damage == "truncate":
                data = data[: len(data) // 2]
            else:
                data[len(data) // 3] ^= 0x10
            (case / name).write_bytes(bytes(data))
            with pytest.raises(RagbotError, match=r"corrupted.*ragbot index --rebuild|manifest") as caught:
                load_index(case)
            assert "\n" not in str(caught.value)


def test_an_up_to_date_index_sheds_what_a_killed_build_left(tmp_path: Path, embedder):
    """A build killed after its manifest switch leaves the old files; the next build or `ragbot index` clears them."""
    settings = Settings(corpus_dir=_tiny_corpus(tmp_path / "corpus"), index_dir=tmp_path / "index")
    build_index(settings, embedder, progress=False, log=lambda _m: None)
    strays = ["passages-20200101T000000-aaaaaa.json", "vectors-20200101T000000-aaaaaa.faiss", ".sentences-x.npy.1234abcd.tmp"]
    for name in strays:
        (settings.index_dir / name).write_bytes(b"left by a killed build")
    _, changes = build_index(settings, embedder, progress=False, log=lambda _m: None)
    assert not changes.stale
    assert not any((settings.index_dir / name).exists() for name in strays)
    (settings.index_dir / strays[0]).write_bytes(b"again")
    remove_leftovers(settings.index_dir)  # what `ragbot index` does when nothing changed
    assert not (settings.index_dir / strays[0]).exists()
    assert load_index(settings.index_dir).passages
