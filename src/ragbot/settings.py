"""One typed Settings object: defaults < ragbot.toml < RAGBOT_* environment variables."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, model_validator

from ragbot.errors import RagbotError
from ragbot.urls import hide_password

ENV_PREFIX = "RAGBOT_"
CONFIG_FILE = "ragbot.toml"

# all-MiniLM-L6-v2 truncates at 256 word pieces; cl100k tokens run fewer than word pieces on
# English prose, and the title/section header takes some more: 190 leaves room for both.
MAX_CHUNK_TOKENS = 190


class Settings(BaseModel):
    """Every knob of ragbot in one place; invalid values raise at construction."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=True)

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    data_dir: Path = Path("data")  # feedback and quiz attempts in data/ragbot.sqlite3; the Quiz tab's files in data/quizzes/
    # empty: data_dir/ragbot.sqlite3; postgresql://user:password@host:port/database: that PostgreSQL database (ragbot.userdata)
    store_url: str = Field("", repr=False, description="where feedback and quiz attempts are stored; empty is SQLite in data_dir")
    eval_dataset: Path = Path("eval/briefs_qa.jsonl")  # the default QA set of `ragbot eval` and the Evaluation tab

    embed_model: str = "all-MiniLM-L6-v2"
    embed_runtime: Literal["onnx", "torch"] = Field("onnx", description="onnx: ONNX Runtime (exported once); torch: sentence-transformers")
    # docs/scaling.md: int8 indexes 2.2x faster; on eval/ retrieval moves by a question either way (hit@1 -0.011, hit@10 +0.024)
    embed_int8: bool = Field(False, description="onnx: the embedder's weights quantised to int8, for large libraries")
    embed_batch_size: int = Field(8, ge=1, le=512, description="texts per encoder call when indexing (8 was fastest here, docs/scaling.md)")
    threads: int = Field(1, ge=1, le=64, description="encoder threads for questions; 1 is fastest for single queries on 2 cores")
    index_threads: int = Field(0, ge=0, le=64, description="encoder threads for indexing; 0 uses every core")

    chunk_tokens: int = Field(160, ge=32, le=MAX_CHUNK_TOKENS)
    chunk_overlap: int = Field(32, ge=0)
    embed_title: bool = True

    retriever: Literal["dense", "bm25", "hybrid"] = "hybrid"
    top_k: int = Field(10, ge=1, le=100, description="passages in the ranked list returned with an answer")
    lexical_weight: float = Field(1.0, ge=0.0, description="hybrid: weight of question-term coverage against cosine similarity")
    context_weight: float = Field(1.0, ge=0.0, description="hybrid: weight of the whole passage's term coverage in each sentence's")
    passage_weight: float = Field(1.0, ge=0.0, description="hybrid: weight of the passage's own cosine similarity")
    second_sentence_weight: float = Field(0.3, ge=0.0, le=1.0, description="hybrid: weight of a passage's second-best sentence")
    brief_match_weight: float = Field(
        10.0, ge=0.0, description="hybrid: added to the passages of briefs the question names ('the 2019 Asan brief'); 0 turns it off"
    )
    candidates: int = Field(100, ge=1, le=10_000, description="hybrid: passages taken from each of dense and BM25 for sentence scoring")
    bm25_k1: float = Field(1.2, gt=0.0)
    bm25_b: float = Field(0.75, ge=0.0, le=1.0)
    # Library size: exact search against HNSW, docs/scaling.md.
    ann_from: int = Field(100_000, ge=1, description="passages from which the dense index is an HNSW graph instead of exact search")
    hnsw_m: int = Field(32, ge=4, le=128, description="HNSW: links per vector (set at index time)")
    hnsw_ef_search: int = Field(768, ge=1, le=4096, description="HNSW: candidates explored per search (recall against speed)")
    vector_store: Literal["faiss", "milvus"] = Field("faiss", description="where retrieval searches: local FAISS + BM25 files, or Milvus")
    # a path: Milvus Lite keeping its data there (empty: index_dir/milvus.db); http://host:19530: a Milvus server, its token
    # (if any) in RAGBOT_MILVUS_TOKEN
    milvus_uri: str = Field("", description="vector_store milvus: a Milvus Lite path or a server's http://host:port")

    engine: Literal["extractive", "llm"] = "extractive"
    answer_passages: int = Field(5, ge=1, le=20, description="top passages the answer may cite")
    max_answer_sentences: int = Field(3, ge=1, le=10)
    # chosen by bench/calibrate_abstention.py (docs/measurements/)
    abstain_threshold: float = Field(0.91, ge=-1.0, le=5.0, description="best sentence score below this abstains")
    # the best sentence score barely predicts answerability (docs/trust.md), so the fitted slope is 0 and an instant
    # answer's confidence is the base rate of answerable questions
    extractive_calibration: tuple[float, float] = Field((0.0, 0.429), description="(a, b): confidence = sigmoid(a best_score + b)")

    # The LLM engine: a bundled GGUF model served on loopback by llama.cpp, or any OpenAI-compatible server.
    llm_model: str = Field("qwen2.5-1.5b", description="bundled model name or .gguf path; with llm_base_url, the server's model name")
    llm_base_url: str = Field("", description="an OpenAI-compatible server (…/v1); empty serves llm_model locally")
    llm_api_key_env: str = Field("RAGBOT_LLM_API_KEY", description="the environment variable holding the server's API key")
    llm_context_tokens: int = Field(320, ge=50, le=3000, description="evidence sentences put in the prompt, in tiktoken tokens")
    llm_max_tokens: int = Field(160, ge=16, le=2000, description="longest written answer, in tokens")
    llm_threads: int = Field(2, ge=1, le=64)
    # docs/deploy.md "Sizing": 1 for the bundled model (one llama.cpp slot); for llm_base_url, the backend's parallel slots
    # divided among the replicas that share it
    llm_concurrency: int = Field(1, ge=1, le=256, description="written answers generated at once per replica, page and API together")
    llm_timeout: float = Field(180.0, gt=0, description="seconds to wait for the LLM before falling back to the extractive answer")
    # chosen by bench/calibrate_support.py on recorded answers (docs/measurements/)
    support_threshold: float = Field(0.55, gt=0.0, le=1.0, description="a generated sentence needs this support from a passage it cites")
    # The answerability judge (LLM engine): the model's P("Yes") to "do the passages state the answer?". Chosen on the odd
    # half of the shipped QA sets with budgets fixed in advance (docs/trust.md); `ragbot eval --calibrate` re-chooses them
    # on your own questions.
    judge_abstain_below: float = Field(0.41, ge=0.0, le=1.0, description="P(Yes) below this abstains: the briefs don't say")
    judge_answer_from: float = Field(0.5, ge=0.0, le=1.0, description="P(Yes) from this answers; between the two is unsure")
    judge_calibration: tuple[float, float] = Field((2.629, -0.427), description="(a, b): confidence = sigmoid(a logit(P) + b)")
    claim_threshold: float = Field(0.4, ge=0.0, le=1.0, description="a written sentence needs this P(Yes) that its passage states it")
    claim_checks: bool = Field(True, description="drop written sentences that restate the question, move a figure, or miss what it asks")
    # Per-passage reading (engines/passage_reader.py, docs/trust-reading.md): the model's P(Yes) that each of the top
    # passages, read alone on a cached prefix, states the answer. An answer needs one passage at `passage_answer_from`
    # (0.46 chosen on the odd half, docs/trust-reading.md); rerank orders by it.
    read_passages: int = Field(3, ge=1, le=20, description="LLM engine: the top passages read one at a time, one model call each")
    passage_answer_from: float = Field(0.46, ge=0.0, le=1.0, description="an answer needs a passage read alone at this P(Yes); 0: off")
    passage_read_all: bool = Field(False, description="read all read_passages even after one reaches passage_answer_from (recordings)")
    rerank: Literal["none", "passage_p_yes"] = Field("none", description="LLM engine: reorder the top passages by what the model reads")
    rerank_retrieval_weight: float = Field(0.0, ge=0.0, description="rerank: score = logit P(Yes) + this times the retrieval score")
    # Warming llama.cpp's prompt cache for the library (engines/cache_warmer.py, docs/trust-reading.md): each passage's
    # prefix read once in the background and its slot state saved to data_dir/llm-cache, restored before a later reading.
    warm_cache: bool = Field(False, description="LLM engine, bundled model: warm the per-passage prompt cache in the background")
    llm_cache_mib: int = Field(1024, ge=0, le=1_048_576, description="warm_cache: llama.cpp's host-memory prompt cache (cache_ram_mib)")
    llm_cache_disk_mib: int = Field(2048, ge=1, le=1_048_576, description="warm_cache: saved slot states on disk, LRU deleted")
    rewrite_followups: bool = True
    model_cache_dir: Path = Path("~/.cache/ragbot/models")  # where bundled LLM parts are joined, once

    max_question_chars: int = Field(1000, ge=10)
    max_upload_mb: int = Field(10, ge=1, le=500, description="largest brief that can be added through the page")

    example_questions: tuple[str, ...] = ()

    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)
    users_file: str = Field("", description="TOML or JSON file of logins and roles (reader, editor) for the page and the API")

    @model_validator(mode="after")
    def _check_overlap(self) -> Settings:
        if self.chunk_overlap >= self.chunk_tokens // 2:
            raise ValueError(f"chunk_overlap ({self.chunk_overlap}) must be under half of chunk_tokens ({self.chunk_tokens})")
        return self

    @model_validator(mode="after")
    def _check_judge(self) -> Settings:
        if self.judge_abstain_below > self.judge_answer_from:
            raise ValueError(f"judge_abstain_below ({self.judge_abstain_below}) must not exceed judge_answer_from")
        return self

    @field_serializer("store_url", "milvus_uri")
    def _hide_store_password(self, url: str) -> str:
        """Saved settings (evaluation reports) never carry a database's password."""
        return hide_password(url)

    @property
    def store_path(self) -> Path:
        return self.data_dir / "ragbot.sqlite3"

    def chunking(self) -> dict[str, Any]:
        """The settings that decide passages and vectors: a change to any of them means a full rebuild."""
        return {
            "chunk_tokens": self.chunk_tokens,
            "chunk_overlap": self.chunk_overlap,
            "embed_title": self.embed_title,
            "embed_model": self.embed_model,
            "embed_int8": self.embed_int8 and self.embed_runtime == "onnx",
        }

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Settings:
        try:
            return cls(**values)
        except ValidationError as exc:
            raise RagbotError(_first_error(exc)) from None

    @classmethod
    def load(cls, config_file: Path | None = None, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ragbot.toml (or RAGBOT_CONFIG), then RAGBOT_* variables, then explicit overrides."""
        env = dict(os.environ) if env is None else env
        values: dict[str, Any] = {}
        path = config_file or Path(env.get(ENV_PREFIX + "CONFIG", CONFIG_FILE))
        if path.is_file():
            try:
                values.update(tomllib.loads(path.read_text(encoding="utf-8")))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise RagbotError(f"{path} is not valid TOML: {exc}") from None
        elif config_file is not None:
            raise RagbotError(f"config file {config_file} not found")
        for name in cls.model_fields:
            key = ENV_PREFIX + name.upper()
            if key in env:
                values[name] = env[key]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_dict(values)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "settings"
    where = "".join(c if c.isprintable() else "?" for c in where)  # an unknown key may hold a line break: still one line
    return f"invalid setting {where}: {err['msg']}"
