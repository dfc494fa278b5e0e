"""The LangChain chat model every LLM call goes through: the bundled model on loopback, or any OpenAI-compatible server."""

from __future__ import annotations

import os
from typing import Any

from ragbot.errors import RagbotError
from ragbot.models.llm_file import resolve_llm_path
from ragbot.models.llm_server import LocalServer, local_server
from ragbot.settings import Settings


def chat_model(settings: Settings, max_tokens: int | None = None) -> Any:
    """The LangChain chat model for the settings: the bundled model on loopback, or the OpenAI-compatible server."""
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:
        raise RagbotError("the LLM engine needs langchain-openai; run `make setup`") from None
    common = {"temperature": 0.0, "max_tokens": max_tokens or settings.llm_max_tokens, "timeout": settings.llm_timeout, "max_retries": 0}
    if settings.llm_base_url:
        key = os.environ.get(settings.llm_api_key_env, "") or "not-needed"
        return ChatOpenAI(base_url=settings.llm_base_url, api_key=key, model=settings.llm_model, **common)
    server = local_llm(settings)
    return ChatOpenAI(base_url=server.base_url, api_key=server.api_key, model="local", **common)


def local_llm(settings: Settings) -> LocalServer:
    """The bundled model's server; with ``warm_cache``, it saves slot states in data_dir/llm-cache and caps its prompt cache."""
    path = resolve_llm_path(settings.llm_model, settings.model_cache_dir)
    if not settings.warm_cache:
        return local_server(path, settings.llm_threads)
    return local_server(path, settings.llm_threads, (settings.data_dir / "llm-cache").resolve(), settings.llm_cache_mib)


def backend_errors() -> tuple[type[BaseException], ...]:
    """What a chat model raises when its server is down, slow or refuses: caught, and the extractive answer stands."""
    import openai
    from langchain_core.exceptions import LangChainException

    return (openai.OpenAIError, LangChainException, OSError, RagbotError)
