"""Warming llama.cpp's prompt cache for the library, with SmolLM2-135M on loopback: files, resumption, budgets, restored readings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragbot.chain import Pipeline
from ragbot.chunking import Passage
from ragbot.engines.cache_warmer import PARTIAL, SUFFIX, CacheWarmer, SlotFiles
from ragbot.engines.passage_reader import PassageReader
from ragbot.index.reader import load_index
from ragbot.index.writer import build_index
from ragbot.models.llm_file import resolve_llm_path
from ragbot.models.llm_server import LocalServer
from ragbot.settings import Settings

from ..conftest import EDITOR, ROOT, copy_small_corpus, running_server

SMALL = "smollm2-135m"
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """SmolLM2 saving slot states, with the host-memory cache off: a warm reading can only come from a restored file."""
    folder = tmp_path_factory.mktemp("warm")
    model = resolve_llm_path(SMALL, folder / "models")
    server = LocalServer(model, threads=2, n_ctx=2048, slot_dir=folder / "llm-cache", cache_mib=0)
    yield server
    server.close()


@pytest.fixture
def slots(server: LocalServer) -> SlotFiles:
    """The server's slot files, emptied for each test."""
    for p in server.slot_dir.iterdir():
        p.unlink()
    return SlotFiles(server, disk_mib=1024)


class Counting(CacheWarmer):
    """A warmer that records the passages it read."""

    def __init__(self, slots: SlotFiles) -> None:
        super().__init__(slots, report=lambda _m: None)
        self.read: list[str] = []

    def warm_one(self, passage: Passage) -> Path:
        self.read.append(passage.passage_id)
        return super().warm_one(passage)


def test_warming_writes_one_file_per_passage_and_a_second_warming_skips_them_all(pipeline: Pipeline, slots: SlotFiles) -> None:
    passages = pipeline.index.passages[:5]
    first = Counting(slots)
    status = first.run(passages)
    assert (status.done, status.total, status.state) == (5, 5, "done")
    assert sorted(slots.files()) == sorted(slots.path(p) for p in passages), "one file a passage, named by its hash"
    assert len({slots.key(p) for p in passages}) == 5 and not list(slots.folder.glob("*" + PARTIAL))
    stamps = {p: p.stat().st_mtime_ns for p in slots.files()}
    again = Counting(slots)
    status = again.run(passages)
    assert again.read == [] and (status.done, status.state) == (5, "done"), "nothing read again"
    assert {p: p.stat().st_mtime_ns for p in slots.files()} == stamps


def test_a_reading_after_restore_evaluates_only_the_question(pipeline: Pipeline, slots: SlotFiles, server: LocalServer) -> None:
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(base_url=server.base_url, api_key=server.api_key, model="local", max_retries=0, timeout=120)
    warm, cold = pipeline.index.passages[7], pipeline.index.passages[8]
    Counting(slots).run([warm, pipeline.index.passages[9]])  # the slot now holds passage 9, not 7
    question = "Who wrote this brief?"
    plain, restoring = PassageReader(model), PassageReader(model, slots=slots)
    cold_reading = restoring.run(cold, question)  # no file: read as without the warmer
    warm_reading = restoring.run(warm, question)
    assert cold_reading.prompt_tokens and warm_reading.prompt_tokens and warm_reading.cached_tokens is not None
    cold_evaluated = cold_reading.prompt_tokens - (cold_reading.cached_tokens or 0)
    warm_evaluated = warm_reading.prompt_tokens - warm_reading.cached_tokens
    assert warm_evaluated < 60 < cold_evaluated, f"restored: {warm_evaluated} tokens evaluated; cold: {cold_evaluated}"
    assert plain.run(warm, question).p_yes == pytest.approx(warm_reading.p_yes, abs=0.02), "the same reading either way"


def test_the_disk_budget_deletes_the_least_recently_used_files(pipeline: Pipeline, slots: SlotFiles) -> None:
    a, b, c, d = pipeline.index.passages[10:14]
    Counting(slots).run([a, b, c])
    old = time.time() - 3600
    for age, p in enumerate((b, c)):  # b used longest ago, then c; a restored (used) just now
        os.utime(slots.path(p), (old + age, old + age))
    assert slots.restore(a)
    sizes = {p: slots.path(p).stat().st_size for p in (a, b, c)}
    slots.disk_bytes = sum(sizes.values()) + sizes[a] // 2  # three fit, not four
    status = Counting(slots).run([a, b, c, d])  # d is new: one must go
    assert status.state == "done"
    left = {p.passage_id for p in (a, b, c, d) if slots.path(p).is_file()}
    assert b.passage_id not in left and {a.passage_id, d.passage_id} <= left, f"kept {left}"
    assert slots.used_bytes() <= slots.disk_bytes
    slots.disk_bytes = 1  # nothing fits: this run's own file is not kept, and warming stops
    status = Counting(slots).run([pipeline.index.passages[14]])
    assert (status.done, status.state) == (0, "disk budget full") and not slots.path(pipeline.index.passages[14]).is_file()


WARM_SCRIPT = textwrap.dedent(
    """
    import resource, sys, time
    from pathlib import Path
    from ragbot.engines.cache_warmer import CacheWarmer, SlotFiles
    from ragbot.index.reader import load_index
    from ragbot.models.llm_file import resolve_llm_path
    from ragbot.models.llm_server import LocalServer

    index_dir, folder, n, cache_mib = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    passages = load_index(index_dir).passages[:n]
    server = LocalServer(resolve_llm_path("smollm2-135m", folder / "models"), threads=2, n_ctx=2048,
                         slot_dir=folder / "llm-cache", cache_mib=cache_mib)
    slots = SlotFiles(server, disk_mib=4096)
    def rss():
        return int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() // 1024 // 1024
    warmer = CacheWarmer(slots, report=lambda m: print(m, flush=True), log_every=1)
    warmer.warm_one(passages[-1])  # llama.cpp's buffers allocated before the first measure
    before = rss()
    status = warmer.run(passages)
    print(f"RSS {before} {rss()} {status.state}", flush=True)
    """
)


def warm_in_a_child(pipeline: Pipeline, folder: Path, n: int, cache_mib: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    args = [sys.executable, "-c", WARM_SCRIPT, str(pipeline.settings.index_dir), str(folder), str(n), str(cache_mib)]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def test_warming_resumes_after_kill_9_and_keeps_to_its_ram_budget(pipeline: Pipeline, tmp_path: Path) -> None:
    n, budget = 24, 8
    child = warm_in_a_child(pipeline, tmp_path, n, budget)
    saved = tmp_path / "llm-cache"
    deadline = time.time() + 300
    while len(list(saved.glob("*" + SUFFIX))) < 3:
        assert child.poll() is None and time.time() < deadline, "the first warming did not get going"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    before = len(list(saved.glob("*" + SUFFIX)))
    assert before < n, "killed mid-way"
    child = warm_in_a_child(pipeline, tmp_path, n, budget)
    out, _ = child.communicate(timeout=600)
    assert child.returncode == 0, out
    lines = out.splitlines()
    resumed = int(lines[0].split(": ")[1].split("/")[0])
    assert resumed == before, f"the files present were skipped: {lines[0]}"
    assert len(list(saved.glob("*" + SUFFIX))) == n and not list(saved.glob("*" + PARTIAL)), "all there, no half files"
    _, start, end, state = lines[-1].split()
    assert state == "done"
    grew = int(end) - int(start)
    # measured here: +12 MiB with an 8 MiB cap, +44 MiB without one (cache_ram_mib -1) for 23 passages
    assert grew < budget + 12, f"RSS grew {grew} MiB warming {n - resumed} passages with cache_ram_mib {budget}"


def test_the_page_answers_while_the_library_is_being_warmed(index, settings, tmp_path: Path) -> None:
    import httpx

    data = tmp_path / "data"
    env = {"RAGBOT_INDEX_DIR": str(settings.index_dir), "RAGBOT_CORPUS_DIR": str(settings.corpus_dir), "RAGBOT_DATA_DIR": str(data),
           "RAGBOT_ENGINE": "llm", "RAGBOT_LLM_MODEL": SMALL, "RAGBOT_LLM_MAX_TOKENS": "40", "RAGBOT_JUDGE_ABSTAIN_BELOW": "0",
           "RAGBOT_JUDGE_ANSWER_FROM": "0", "RAGBOT_CLAIM_THRESHOLD": "0", "RAGBOT_RERANK": "passage_p_yes",
           "RAGBOT_WARM_CACHE": "true", "RAGBOT_LLM_CACHE_MIB": "64"}  # fmt: skip
    saved = data / "llm-cache"
    with running_server(env) as url, httpx.Client(base_url=url, timeout=300) as client:
        deadline = time.time() + 180
        while len(list(saved.glob("*" + SUFFIX))) < 2:
            assert time.time() < deadline, "warming did not start"
            time.sleep(0.2)
        reply = client.post("/api/ask", json={"question": "What share of South Korea's energy passes through the Malacca Strait?"})
        assert reply.status_code == 200, reply.text
        answer = reply.json()
        assert answer["engine"] == "llm" and answer["retrieved"] and "passage_p_yes" in answer["checks"], "read, with restores"
        assert "rb-cache-status" in client.get("/config").text, "the Documents tab shows the warming's progress"
        during = len(list(saved.glob("*" + SUFFIX)))
        total = len(list(saved.glob("*" + SUFFIX)))
        while total <= during:
            assert time.time() < deadline + 120, "warming did not go on after the question"
            time.sleep(0.2)
            total = len(list(saved.glob("*" + SUFFIX)))


def test_a_brief_added_while_serving_is_warmed_too(embedder, slots: SlotFiles, tmp_path: Path) -> None:
    """The server warms the library, then watches it: a brief uploaded later has its passages warmed without a restart."""
    import httpx

    corpus, data = copy_small_corpus(tmp_path / "corpus"), tmp_path / "data"
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", data_dir=data)
    build_index(settings, embedder, progress=False, log=lambda _m: None)
    env = {"RAGBOT_INDEX_DIR": str(settings.index_dir), "RAGBOT_CORPUS_DIR": str(corpus), "RAGBOT_DATA_DIR": str(data),
           "RAGBOT_ENGINE": "llm", "RAGBOT_LLM_MODEL": SMALL, "RAGBOT_WARM_CACHE": "true", "RAGBOT_LLM_CACHE_MIB": "64",
           "RAGBOT_USER": EDITOR[0], "RAGBOT_PASSWORD": EDITOR[1]}  # fmt: skip
    saved = data / "llm-cache"

    def warmed_all(what: str) -> None:
        passages = {slots.key(p) for p in load_index(settings.index_dir).passages}
        deadline = time.time() + 600  # a hang guard: SmolLM2 warms a passage in well under a second
        while not passages <= {p.stem for p in saved.glob("*" + SUFFIX)}:
            assert time.time() < deadline, f"{what}: not every passage warmed in 600 s"
            time.sleep(0.5)

    with running_server(env) as url, httpx.Client(base_url=url, timeout=300) as client:
        warmed_all("the library at start")
        brief = "# Reef survey\n\nThe 2026 reef survey counted 412 coral species around Palawan.\n"
        reply = client.post("/api/briefs/upload", files=[("files", ("Reef survey 2026.md", brief.encode()))], auth=EDITOR)
        assert reply.status_code == 200, reply.text
        warmed_all("the library with the uploaded brief")
