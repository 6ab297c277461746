# Two commands do everything on a fresh machine with python3 (3.11+): `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DB ?= sqlite:///var/sunshine.sqlite3
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install lint clean

$(BIN)/sunshine: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/sunshine

demo: install
	mkdir -p var
	$(BIN)/sunshine --database $(DB) db upgrade
	@if [ -x scripts/demo-steps ]; then scripts/demo-steps "$(DB)"; fi
	@echo "Serving on http://$(HOST):$(PORT)"
	@if $(BIN)/sunshine --help | grep -q '^  serve '; then \
		$(BIN)/sunshine --database $(DB) serve --host $(HOST) --port $(PORT); \
	else echo "(no server yet: the API has not landed)"; fi

test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf var/*.sqlite3* build dist *.egg-info
