from __future__ import annotations

import numpy as np
import pytest

from ragbot.errors import RagbotError
from ragbot.models import BertQueryEncoder, count_tokens, load_query_encoder, resolve_embedder_path

TEXTS = [
    "When did South Korea become a dialogue partner of ASEAN?",
    "Ünïcode — “quotes”, 日本語 and emoji 🙂",
    "x",
    "a long passage about ASEAN and Korea defence cooperation " * 60,  # past the 256-token limit: truncated alike
]


def test_numpy_query_encoder_matches_sentence_transformers(embedder):
    encoder = load_query_encoder("all-MiniLM-L6-v2")
    assert isinstance(encoder, BertQueryEncoder)
    fast, reference = encoder.encode(TEXTS), embedder.encode(TEXTS)
    assert fast.shape == reference.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    assert float((fast * reference).sum(1).min()) > 0.9999


def test_unsupported_model_folders_are_refused(tmp_path):
    assert not BertQueryEncoder.supports(tmp_path)
    with pytest.raises(RagbotError, match="neither a packaged model"):
        resolve_embedder_path(str(tmp_path / "nothing-here"))


def test_tiktoken_counts_offline():
    assert count_tokens("hello world") == 2
    assert count_tokens("<|endoftext|> is plain text here") > 1
