"""The Gradio page and the HTTP API beside it: thin shells over Pipeline (server.py serves both; one module per tab)."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home: the machine is offline
