"""bench/scale.py end to end at a small size: a synthetic library is built by ragbot's writer, loaded and searched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_scale_bench_builds_loads_and_searches_a_small_library(tmp_path: Path):
    env_settings = {"RAGBOT_ANN_FROM": "250"}  # 300 passages: past ann_from, so the HNSW path is the one measured
    proc = subprocess.run(
        [sys.executable, "bench/scale.py", "200", "300", "--embed", "100", "--queries", "5", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **env_settings},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [r["passages"] for r in rows] == [200, 300]
    assert [r["kind"] for r in rows] == ["flat", "hnsw"]
    for r in rows:
        assert r["embedded_passages"] == 100 and r["recall_at_10"] >= 0.95 and r["disk_mb"] > 0
        assert 0 < r["search_p50_ms"] <= r["search_p95_ms"] and r["ask_p50_ms"] > 0 and r["rss_loaded_mb"] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["library-200", "library-300"], "--out keeps the libraries, nothing else"
