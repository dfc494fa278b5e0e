"""kill -9 in the middle of index builds: what is left must load, and be the old build or the whole new one.

bench/crash_index.py kills `ragbot index` subprocesses on the real corpus at random moments, 20 times; here a forked
build of a tiny two-document corpus stops itself at 6 seeded file switches (os.replace) and is killed there, so where it
dies does not depend on the machine's speed (tests/test_kill_index.py does this to `ragbot index` itself).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import signal
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


def _build_stopping_at(settings: Settings, embedder, nth: int, when: str) -> None:
    """A forked child's build that stops itself (SIGSTOP) just before or after its nth file switch (os.replace) in the index folder.

    The manifest's switch is the last a build needs: a build making fewer switches stops at that one.
    """
    real, calls = os.replace, [0]

    def replace(src, dst, *args, **kwargs) -> None:
        if Path(dst).parent == settings.index_dir:
            calls[0] += 1
            hit = calls[0] == nth or (calls[0] < nth and Path(dst).name == MANIFEST)
        else:
            hit = False
        if hit and when == "before":
            os.kill(os.getpid(), signal.SIGSTOP)
        real(src, dst, *args, **kwargs)
        if hit and when == "after":
            os.kill(os.getpid(), signal.SIGSTOP)

    os.replace = replace  # in the forked child only
    _build(settings, embedder)


def _switches(settings: Settings, embedder) -> int:
    """How many files an uninterrupted build switches into the index folder (os.replace), up to and including the manifest."""
    real, seen = os.replace, []

    def replace(src, dst, *args, **kwargs) -> None:
        if Path(dst).parent == settings.index_dir and MANIFEST not in seen:
            seen.append(Path(dst).name)
        real(src, dst, *args, **kwargs)

    os.replace = replace
    try:
        _build(settings, embedder)
    finally:
        os.replace = real
    assert seen and seen[-1] == MANIFEST, seen
    return len(seen)


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


def _kill_when_stopped(proc: multiprocessing.process.BaseProcess) -> None:
    """SIGKILL the child once it has stopped itself; fails if it ended instead."""
    _, status = os.waitpid(proc.pid, os.WUNTRACED)  # no timeout needed: the child stops or ends
    assert os.WIFSTOPPED(status), f"the build ended ({os.waitstatus_to_exitcode(status)}) without reaching its stop point"
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(60)


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
    with briefs[0].open("a", encoding="utf-8") as f:
        f.write("\nA counting paragraph about port calls in Busan.\n")
    switches = _switches(settings, embedder)  # an incremental build's switches: the kill points are drawn from them
    points = [(1, "before"), (switches, "before"), (switches, "after")]
    points += [(rng.randint(1, switches), rng.choice(("before", "after"))) for _ in range(3)]
    results = []
    for run, (nth, when) in enumerate(points):
        old_build = json.loads((settings.index_dir / MANIFEST).read_text())["build"]
        with rng.choice(briefs).open("a", encoding="utf-8") as f:
            f.write(f"\nRun {run}: exercise {rng.randrange(10**6)} was held off Busan.\n")
        proc = ctx.Process(target=_build_stopping_at, args=(settings, embedder, nth, when))
        proc.start()
        _kill_when_stopped(proc)
        results.append(_outcome(settings, old_build))
    assert set(results) <= {"old", "new"}, (points, results)
    assert results[:3] == ["old", "old", "new"], (points, results)  # before any switch and around the manifest's
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
