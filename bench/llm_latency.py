"""Prompt size, prompt-cache reuse and speed of the bundled LLM, question by question.

Asks the local llama.cpp server directly (not streamed) for the LLM engine's real prompts, and prints
llama.cpp's own timings: prompt tokens, tokens reused from the cache, prompt and generation speed.

    .venv/bin/python bench/llm_latency.py [--model qwen2.5-1.5b] [--n 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.request

from ragbot.chain import Pipeline
from ragbot.engines.llm import LLMEngine
from ragbot.models.llm_file import resolve_llm_path
from ragbot.models.llm_server import local_server
from ragbot.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="bundled model name or .gguf path (default: the llm_model setting)")
    parser.add_argument("--n", type=int, default=10, help="questions from the eval set, answerable ones spread over it")
    args = parser.parse_args()
    settings = Settings.load(engine="llm", llm_model=args.model)
    pipeline = Pipeline.load(settings)
    engine = pipeline.engine
    assert isinstance(engine, LLMEngine)
    start = time.perf_counter()
    server = local_server(resolve_llm_path(settings.llm_model, settings.model_cache_dir), settings.llm_threads)
    print(f"model {settings.llm_model}: loaded in {time.perf_counter() - start:.1f} s")
    items = [json.loads(line) for line in settings.eval_dataset.read_text(encoding="utf-8").splitlines() if line.strip()]
    answerable = [x for x in items if x["type"] != "unanswerable"]
    picked = answerable[:: max(1, len(answerable) // args.n)][: args.n]
    rows = []
    for item in picked:
        retrieval = pipeline.retriever.run(item["question"])
        messages = engine.messages(item["question"], engine.evidence(retrieval))
        body = {
            "model": "local",
            "messages": [{"role": "system" if r == "system" else "user", "content": c} for r, c in messages],
            "max_tokens": settings.llm_max_tokens,
            "temperature": 0,
        }
        request = urllib.request.Request(
            f"{server.base_url}/chat/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {server.api_key}"},
        )
        t0 = time.perf_counter()
        with urllib.request.urlopen(request, timeout=600) as response:
            reply = json.load(response)
        wall = time.perf_counter() - t0
        t = reply.get("timings", {})
        rows.append((t.get("prompt_n", 0), t.get("cache_n", 0), t.get("prompt_per_second", 0.0), t.get("predicted_per_second", 0.0), wall))
        print(
            f"{item['id']}: prompt {rows[-1][0] + rows[-1][1]} tokens ({rows[-1][1]} from cache), "
            f"{rows[-1][2]:.1f} prompt tok/s, {t.get('predicted_n', 0)} generated at {rows[-1][3]:.1f} tok/s, {wall:.1f} s"
        )
    med = statistics.median
    print(
        f"median of {len(rows)}: prompt {med(r[0] + r[1] for r in rows):.0f} tokens, {med(r[1] for r in rows):.0f} from cache; "
        f"{med(r[2] for r in rows):.1f} prompt tok/s; {med(r[3] for r in rows):.1f} generated tok/s; "
        f"{med(r[4] for r in rows):.1f} s a question"
    )


if __name__ == "__main__":
    main()
