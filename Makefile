# Two set-up commands: `make demo` and `make test`. Both work as root on a fresh Debian machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Debian packages: Dovecot is the real IMAP server the tests run; Tesseract does OCR of scans and
# photos; poppler-utils gives pdftotext (benchmark baseline) and pdftoppm.
APT_PACKAGES := dovecot-core dovecot-imapd tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd poppler-utils

.PHONY: demo test test-all lint bench system-deps install install-test clean

demo: system-deps install
	$(BIN)/mailbot demo

test: system-deps install-test
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-all: system-deps install-test
	$(BIN)/python -m pytest -q -m '' $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check mailbot tests bench

bench: system-deps install-test
	$(BIN)/python -m bench.run $(BENCH_ARGS)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

install-test: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'

# Installs only what is missing, with one `apt-get update` first. Skipped (with a note) when not
# root or when apt-get is not there: the tests that need a missing tool then say so and skip.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "note: please install:$$missing (needs root and apt-get)"; exit 0; fi; \
	echo "installing Debian packages:$$missing"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null

clean:
	rm -rf $(VENV) build *.egg-info mailbot-demo
