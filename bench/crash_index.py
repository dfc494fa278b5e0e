"""kill -9 `ragbot index` at random moments; the index left behind must load and be the old build or the whole new one.

    .venv/bin/python bench/crash_index.py [--runs 20] [--seed 0] [--corpus corpus]

Works on a copy of the corpus in a temporary folder: builds an index, then per run changes one
brief, starts `ragbot index` in a subprocess and kills it with SIGKILL, alternately at a random
moment of a whole build ("any": from process start to the end of a typical build) and at a random
moment after its first new index file appears ("write": 0-50 ms into the write phase, where the
artifacts and the manifest are written). Then `load_index` must succeed and give either the
previous build (same manifest build id) or a build of the changed corpus (nothing stale). A last
uninterrupted build must leave no leftovers of the killed ones. Prints the counts; exits 1 on any bad outcome.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from ragbot.corpus.folder import corpus_state
from ragbot.errors import RagbotError
from ragbot.index.changes import diff_corpus
from ragbot.index.reader import MANIFEST, load_index, read_manifest
from ragbot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]

BUILD_TIMEOUT = 300


def ragbot_index(corpus: Path, index: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")}
    return subprocess.Popen(
        [sys.executable, "-m", "ragbot.cli", "index", "--corpus", str(corpus), "--index", str(index)],
        cwd=index.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def change_a_brief(corpus: Path, run: int, rng: random.Random) -> None:
    """Append a new closing paragraph (a different one each run) to one brief."""
    brief = rng.choice(sorted(corpus.glob("*.txt")))
    with brief.open("a", encoding="utf-8") as f:
        f.write(f"\nRun {run}: the joint maritime exercise number {rng.randrange(10**6)} was held off Busan.\n")


def kill_at(proc: subprocess.Popen[bytes], index: Path, mode: str, typical: float, rng: random.Random) -> float:
    """SIGKILL the build at a random moment of the chosen kind; returns seconds after start (or -1 if it had finished)."""
    start = time.monotonic()
    before = {p.name for p in index.iterdir()}
    if mode == "any":
        deadline = start + rng.uniform(0, typical)
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)
    else:  # "write": wait for the first new file in the index folder, then a little more
        while proc.poll() is None and not ({p.name for p in index.iterdir()} - before):
            if time.monotonic() - start > BUILD_TIMEOUT:
                break
            time.sleep(0.001)
        time.sleep(rng.uniform(0, 0.05))
    if proc.poll() is not None:
        return -1.0
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return time.monotonic() - start


def outcome(settings: Settings, old_build: str) -> tuple[str, str]:
    """("old" | "new" | "bad", detail) for the index left behind."""
    try:
        index = load_index(settings.index_dir)
    except RagbotError as exc:
        return "bad", str(exc)
    build = index.manifest["build"]
    if build == old_build:
        return "old", build
    changes = diff_corpus(index.manifest, corpus_state(settings.corpus_dir), settings)
    if changes.stale:
        return "bad", f"a new build that is not of the current corpus: {changes.summary()}"
    return "new", build


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20, help="killed builds (default 20, at most 200)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="corpus to copy (default corpus/)")
    args = ap.parse_args()
    if not 1 <= args.runs <= 200:
        raise SystemExit("--runs must be between 1 and 200")
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="ragbot-crash-") as tmp:
        root = Path(tmp)
        corpus, index = root / "corpus", root / "index"
        shutil.copytree(args.corpus, corpus)
        settings = Settings(corpus_dir=corpus, index_dir=index)
        if ragbot_index(corpus, index).wait(BUILD_TIMEOUT) != 0:
            raise SystemExit("the first build failed")
        change_a_brief(corpus, 0, rng)  # one uninterrupted incremental build, to time a typical one
        start = time.monotonic()
        if ragbot_index(corpus, index).wait(BUILD_TIMEOUT) != 0:
            raise SystemExit("the timing build failed")
        typical = time.monotonic() - start
        print(f"typical incremental build (one brief changed): {typical:.1f} s", file=sys.stderr)

        counts: Counter[str] = Counter()
        for run in range(1, args.runs + 1):
            old_build = json.loads((index / MANIFEST).read_text(encoding="utf-8"))["build"]
            change_a_brief(corpus, run, rng)
            mode = "any" if run % 2 else "write"
            proc = ragbot_index(corpus, index)
            at = kill_at(proc, index, mode, typical, rng)
            result, detail = outcome(settings, old_build)
            counts[result] += 1
            counts[f"{mode}:{result}"] += 1
            if at < 0:
                counts["finished before the kill"] += 1
            when = "finished before the kill" if at < 0 else f"killed at {at:.2f} s"
            print(f"run {run:2d} [{mode:5s}] {when}: {result} ({detail})", file=sys.stderr)

        if ragbot_index(corpus, index).wait(BUILD_TIMEOUT) != 0:
            counts["bad"] += 1
            print("the last, uninterrupted build failed", file=sys.stderr)
        manifest = read_manifest(index) or {}
        leftovers = {p.name for p in index.iterdir()} - {MANIFEST, ".lock"} - {a["file"] for a in manifest.get("artifacts", {}).values()}
        if leftovers:
            counts["bad"] += 1
            print(f"leftovers after a clean build: {sorted(leftovers)}", file=sys.stderr)
    summary = {"runs": args.runs, "old": counts["old"], "new": counts["new"], "bad": counts["bad"], "by_mode": dict(sorted(counts.items()))}
    print(json.dumps(summary))
    return 1 if counts["bad"] else 0


if __name__ == "__main__":
    sys.exit(main())
