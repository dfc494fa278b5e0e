"""Warming the prompt cache for the library (engines/cache_warmer.py): time, RSS and disk, then a cold vs a restored reading.

Starts the bundled model's server with slot saving into OUT/llm-cache, reads --readings passages
cold (a first question, nothing saved yet), warms every library passage (resumable: rerun to go on),
then reads the same passages again with another question after restoring their saved state. Prints
and writes OUT/warm_cache.json with llama.cpp's own prompt token counts and wall times.

    .venv/bin/python bench/warm_cache.py OUT [--model qwen2.5-1.5b] [--cache-mib 1024] [--readings 10]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

from ragbot.chain import Pipeline
from ragbot.engines.cache_warmer import SUFFIX, CacheWarmer, SlotFiles
from ragbot.engines.passage_reader import PassageReader, Reading
from ragbot.models.llm_file import resolve_llm_path
from ragbot.models.llm_server import LocalServer
from ragbot.settings import Settings

FIRST, SECOND = "Who wrote this brief, and when?", "What does this passage say South Korea should do?"


def rss_mib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() // (1024 * 1024)


def summary(readings: list[Reading]) -> dict[str, float]:
    evaluated = [r.prompt_tokens - (r.cached_tokens or 0) for r in readings if r.prompt_tokens]
    seconds = statistics.median(r.ms for r in readings) / 1000
    return {"n": len(readings), "evaluated_median": statistics.median(evaluated), "seconds_median": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", default=None, help="bundled model name or .gguf path (default: the llm_model setting)")
    parser.add_argument("--cache-mib", type=int, default=1024, help="llama.cpp's cache_ram_mib (the llm_cache_mib setting)")
    parser.add_argument("--readings", type=int, default=10, help="passages read cold, then restored")
    args = parser.parse_args()
    from langchain_openai import ChatOpenAI

    settings = Settings.load(engine="llm", llm_model=args.model)
    passages = Pipeline.load(settings).index.passages
    t0, rss0 = time.perf_counter(), rss_mib()
    server = LocalServer(resolve_llm_path(settings.llm_model, settings.model_cache_dir), settings.llm_threads,
                         slot_dir=args.out / "llm-cache", cache_mib=args.cache_mib)  # fmt: skip
    print(f"model {settings.llm_model} loaded in {time.perf_counter() - t0:.1f} s, RSS {rss0} -> {rss_mib()} MiB")
    slots = SlotFiles(server, disk_mib=1_000_000)
    model = ChatOpenAI(base_url=server.base_url, api_key=server.api_key, model="local", max_retries=0, timeout=600)
    sample = passages[:: max(1, len(passages) // args.readings)][: args.readings]
    cold = [PassageReader(model).run(p, FIRST) for p in sample if not slots.path(p).is_file()]
    before = sum(slots.path(p).is_file() for p in passages)
    rss1, t1 = rss_mib(), time.perf_counter()
    status = CacheWarmer(slots, report=print).run(passages)
    warm_s, rss2 = time.perf_counter() - t1, rss_mib()
    restoring = PassageReader(model, slots=slots)
    warm = [restoring.run(p, SECOND) for p in sample]
    result = {
        "model": settings.llm_model,
        "threads": settings.llm_threads,
        "cache_ram_mib": args.cache_mib,
        "passages": status.total,
        "warmed_this_run": status.done - before,
        "warm_seconds": round(warm_s, 1),
        "rss_mib": {"model_loaded": rss1, "after_warming": rss2, "growth": rss2 - rss1},
        "disk_mib": round(sum(p.stat().st_size for p in slots.folder.glob("*" + SUFFIX)) / (1024 * 1024), 1),
        "cold": summary(cold) if cold else None,
        "restored": summary(warm),
    }
    print(json.dumps(result, indent=1))
    (args.out / "warm_cache.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
