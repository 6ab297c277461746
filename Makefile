# Two commands do everything on a fresh machine with python3 (3.11+): `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DB ?= sqlite:///var/sunshine.sqlite3
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install browser lint clean

$(BIN)/sunshine: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/sunshine

demo: install
	mkdir -p var
	SUNSHINE_DATABASE_URL=$(DB) scripts/load-sample var/sample
	$(BIN)/sunshine --database $(DB) targets load policies/changde-2009.toml
	$(BIN)/sunshine --database $(DB) check
	$(BIN)/sunshine --database $(DB) charts --out var/charts
	@echo "Serving on http://$(HOST):$(PORT)  (Ctrl-C stops)"
	$(BIN)/sunshine --database $(DB) serve --host $(HOST) --port $(PORT)

test: install browser
	$(BIN)/pytest -q

# Browser tests drive Debian's chromium; install it when we can, else those tests skip with a reason.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		(apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1)); } \
		|| echo "chromium not installed: browser tests will be skipped"

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf var/*.sqlite3* build dist *.egg-info
