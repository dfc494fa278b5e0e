"""Any OpenAI-compatible chat endpoint as a system under evaluation: it answers the QA set, scored as ragbot is.

Each question goes alone (or after the evaluator's system prompt) to ``POST {url}/chat/completions``.
Whether it answered is read from ragbot's own state object when the reply carries one (``ragbot.status``,
as ragbot's ``/v1`` does), else by the tutorial baseline's "don't know" rule. Sources in a known shape (a
top-level ``citations`` list, and optionally ``retrieved``, of objects with ``doc_id`` and ``text``, as
ragbot's ``/v1`` returns) are located in the corpus files, so retrieval and citation metrics are computed
over them; without them those metrics are n/a. Latency is the request's wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ragbot.chunking import split_sentences
from ragbot.corpus.folder import corpus_files, decode
from ragbot.errors import RagbotError
from ragbot.evaluation.dataset import EvalItem
from ragbot.evaluation.metrics import Span, says_dont_know

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
# ragbot's /v1 content ends with its numbered references under one of these headings (ragbot/app/api.py); not part of the answer
_REFERENCES = re.compile(r"\n\n(?:Sources:|Closest evidence \(not an answer\):)\n")
TIMEOUT = 300.0  # seconds for one answer: a slow local model on 2 cores takes tens of seconds


@dataclass(frozen=True)
class System:
    """An OpenAI-compatible endpoint to evaluate: its name in the tables, its /v1 base URL and how to ask it."""

    name: str
    url: str
    model: str | None = None  # None: the first model the server lists
    api_key_env: str | None = None  # the environment variable holding its API key
    system_prompt: Path | None = None  # a file whose text goes before each question, as the system message

    @property
    def label(self) -> str:
        return f"system-{self.name}"

    @property
    def base_url(self) -> str:
        return self.url.rstrip("/").removesuffix("/chat/completions")


def parse_system(spec: str) -> System:
    """NAME=URL, the URL an http(s) base such as http://127.0.0.1:8080/v1; a bad one is a ValueError naming what is wrong."""
    name, equals, url = spec.partition("=")
    if not equals or not _NAME.fullmatch(name):
        raise ValueError(f"--system takes NAME=URL (a name of letters, digits, '.', '_' or '-'), got {spec!r}")
    if not re.match(r"https?://[^/\s]+", url):
        raise ValueError(f"--system {name}: the URL must start with http:// or https://, got {url!r}")
    return System(name, url)


class _SystemOption(argparse.Action):
    """--system starts a system; --model, --api-key-env and --system-prompt set the last one's."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: str | None = None) -> None:
        systems: list[System] = list(getattr(namespace, self.dest) or [])
        if option == "--system":
            try:
                systems.append(parse_system(values))
            except ValueError as exc:
                parser.error(str(exc))
        elif not systems:
            parser.error(f"{option} goes after the --system it belongs to")
        else:
            field = {"--model": "model", "--api-key-env": "api_key_env", "--system-prompt": "system_prompt"}[option or ""]
            systems[-1] = replace(systems[-1], **{field: Path(values) if field == "system_prompt" else values})
        setattr(namespace, self.dest, systems)


def add_options(parser: argparse.ArgumentParser) -> None:
    """The eval command's options for external systems (repeatable; each option after --system belongs to it)."""
    act: dict[str, Any] = {"action": _SystemOption, "dest": "systems"}
    parser.add_argument("--system", metavar="NAME=URL", help="also evaluate an OpenAI-compatible endpoint (…/v1); repeatable", **act)
    parser.add_argument("--model", metavar="M", help="the model to ask at the --system before it (default: the first it lists)", **act)
    parser.add_argument("--api-key-env", metavar="VAR", help="environment variable holding that system's API key", **act)
    parser.add_argument("--system-prompt", metavar="FILE", help="a system prompt sent before each question to that system", **act)


# What may sit between two words in a file but not in its text as indexed: line breaks and spacing, markdown marks, list
# dashes, footnote marks (<sup>1</sup>, [^1])
_BETWEEN = r"(?:[\s*_#>|\-]|<sup>[^<]{0,9}</sup>|\[\^?\d{1,3}\])+"


def loose(text: str) -> re.Pattern[str]:
    """A pattern for text as a file may hold it: its words in order, with spacing, markup or footnote marks between them."""
    return re.compile(_BETWEEN.join(map(re.escape, text.split())))


class SourceLocator:
    """Finds a returned source's text in the corpus files, so it can be scored by character offsets like ragbot's passages."""

    def __init__(self, corpus_dir: Path) -> None:
        self.texts = {p.name: decode(p.read_bytes(), p) for p in corpus_files(corpus_dir)}

    def locate(self, text: str, doc: str | None = None) -> Span | None:
        """Its span in its document (any document when doc is None): exact, else sentence by sentence ignoring line breaks."""
        docs = [doc] if doc in self.texts else list(self.texts) if doc is None else []
        for d in docs:
            raw = self.texts[d]
            i = raw.find(text)
            if i >= 0:
                return Span(d, i, i + len(text))
            start = end = None
            for s, e in split_sentences(text):
                found = loose(text[s:e]).search(raw, end or 0) if text[s:e].strip() else None
                if found:
                    start, end = found.start() if start is None else start, found.end()
            if start is not None and end is not None:
                return Span(d, start, end)
        return None


@dataclass(frozen=True)
class Reply:
    """What a system returned for one question, read into ragbot's terms."""

    status: str  # answered, unsure or abstained
    text: str  # the answer, without a reference list
    content: str  # the message as the user saw it
    confidence: float | None
    sources: list[dict[str, Any]] | None  # the ranked sources (citations, or retrieved), None when not in a known shape
    citations: list[dict[str, Any]] | None
    latency_ms: float


def _known_sources(value: Any) -> list[dict[str, Any]] | None:
    if isinstance(value, list) and all(isinstance(s, dict) and isinstance(s.get("text"), str) for s in value):
        return value
    return None


def read_reply(body: dict[str, Any], latency_ms: float) -> Reply:
    """A chat.completion body as a Reply: ragbot's state and sources when present, else the "don't know" rule and n/a."""
    try:
        message = body["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        raise ValueError("the reply has no choices[0].message") from None
    content = message.get("content") or ""
    if isinstance(content, list):  # content parts
        content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    text = _REFERENCES.split(content, maxsplit=1)[0].strip()
    state = body.get("ragbot") if isinstance(body.get("ragbot"), dict) else {}
    status = state.get("status")
    if status not in ("answered", "unsure", "abstained"):  # ragbot's states (ragbot.citations.STATUSES)
        status = "abstained" if says_dont_know(text) else "answered"
    confidence = state.get("confidence") if isinstance(state.get("confidence"), int | float) else None
    citations = _known_sources(body.get("citations"))
    retrieved = _known_sources(body.get("retrieved"))
    return Reply(status, text, content, confidence, retrieved if retrieved is not None else citations, citations, latency_ms)


class Client:
    """Asks one system the questions, one request each, temperature 0."""

    def __init__(self, system: System, timeout: float = TIMEOUT) -> None:
        import httpx

        self.system = system
        headers = {"Content-Type": "application/json"}
        if system.api_key_env:
            key = os.environ.get(system.api_key_env)
            if not key:
                raise RagbotError(f"--system {system.name}: the environment variable {system.api_key_env} (its API key) is not set")
            headers["Authorization"] = f"Bearer {key}"
        self.prompt = None
        if system.system_prompt is not None:
            try:
                self.prompt = system.system_prompt.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise RagbotError(f"--system {system.name}: cannot read the system prompt {system.system_prompt}: {exc}") from None
        self.http = httpx.Client(base_url=system.base_url, headers=headers, timeout=timeout)
        self.model = system.model or self._first_model()

    def _first_model(self) -> str:
        """The server's first listed model; also proves the server is there and takes the key, before any question."""
        import httpx

        where = f"--system {self.system.name} at {self.system.base_url}"
        try:
            response = self.http.get("/models")
        except httpx.HTTPError as exc:
            raise RagbotError(f"{where}: cannot connect ({exc})") from None
        if response.status_code in (401, 403):
            raise RagbotError(f"{where}: the server refused the API key (HTTP {response.status_code}); see --api-key-env")
        try:
            return str(response.json()["data"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise RagbotError(f"{where}: GET /models lists no model (HTTP {response.status_code}); name one with --model") from None

    def ask(self, question: str) -> Reply:
        """One answer; an HTTP or protocol failure is a RagbotError whose message is recorded for the question."""
        import httpx

        messages = ([{"role": "system", "content": self.prompt}] if self.prompt else []) + [{"role": "user", "content": question}]
        start = time.perf_counter()
        try:
            response = self.http.post("/chat/completions", json={"model": self.model, "messages": messages, "temperature": 0.0})
        except httpx.HTTPError as exc:
            raise RagbotError(f"{self.system.name}: {type(exc).__name__}: {exc}") from None
        latency = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise RagbotError(f"{self.system.name}: HTTP {response.status_code}: {response.text[:200]}")
        try:
            return read_reply(response.json(), latency)
        except ValueError as exc:
            raise RagbotError(f"{self.system.name}: {exc}") from None

    def close(self) -> None:
        self.http.close()


def score_reply(item: EvalItem, reply: Reply, locator: SourceLocator) -> dict[str, Any]:
    """The runner's scores for a system's reply: its sources located in the corpus, or n/a without them."""
    from ragbot.evaluation.runner import score_parts

    def spans(sources: list[dict[str, Any]]) -> list[Span]:
        # a source that cannot be found in the corpus cannot hold gold evidence: it stays in the ranking, as an empty span
        located = (locator.locate(s["text"], s.get("doc_id") if isinstance(s.get("doc_id"), str) else None) for s in sources)
        return [span or Span("", 0, 0) for span in located]

    ranked = None if reply.sources is None else spans(reply.sources)
    cited = None if reply.citations is None else spans(reply.citations) if reply.status == "answered" else []
    return score_parts(item, reply.status, reply.text, reply.confidence, {"total": reply.latency_ms}, ranked, cited)


def run_system(
    system: System, items: list[EvalItem], out_dir: Path, corpus_dir: Path, progress: bool = False, timeout: float = TIMEOUT
) -> list[dict[str, Any]]:
    """Ask the system every question; each result line is written (and flushed) as soon as it is scored."""
    from tqdm import tqdm

    from ragbot.evaluation.runner import RESULTS, labels

    client = Client(system, timeout)
    locator = SourceLocator(corpus_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = []
    try:
        with (out_dir / RESULTS).open("w", encoding="utf-8") as f:
            for item in tqdm(items, desc=system.name, unit="question", disable=not progress, file=sys.stderr):
                head = {"id": item.id, **labels(item), "question": item.question, "system": system.name, "model": client.model}
                try:
                    reply = client.ask(item.question)
                except RagbotError as exc:  # a failed request is recorded; the run goes on
                    record = {**head, "error": str(exc), "scores": {}}
                else:
                    record = {**head, "status": reply.status, "answer": reply.text, "content": reply.content,
                              "confidence": reply.confidence, "citations": reply.citations,
                              **({"retrieved": reply.sources} if reply.sources is not reply.citations else {}),
                              "checks": {}, "timings_ms": {"total": round(reply.latency_ms, 2)},
                              "scores": score_reply(item, reply, locator)}  # fmt: skip
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
                f.flush()
                records.append(record)
    finally:
        client.close()
    return records
