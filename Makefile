# One-command set-up: every target that needs the environment builds it first.
PY      := .venv/bin/python
PIP     := .venv/bin/pip
HOST    ?= 127.0.0.1
PORT    ?= 8866
SAMPLE  := sample_data/accounts.csv

.PHONY: demo test lab bench lint sample-data clean-venv chromium venv

venv: .venv/.installed

# Re-install only when the lock or the project metadata changed.
.venv/.installed: requirements.lock pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.lock
	$(PIP) install --quiet --no-deps -e .
	touch $@

# Debian's chromium for the real-browser tests; never a browser from anywhere else.
chromium:
	@command -v chromium >/dev/null 2>&1 || ( \
	  echo "Installing Debian's chromium with apt-get ..."; \
	  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium )

$(SAMPLE): | venv
	$(PY) -m workbench sample-data --out sample_data

sample-data: venv
	$(PY) -m workbench sample-data --out sample_data

demo: venv $(SAMPLE)
	@echo "Workshop app: http://$(HOST):$(PORT)/  (Ctrl+C stops it)"
	$(PY) -m workbench app --host $(HOST) --port $(PORT)

lab: venv $(SAMPLE)
	.venv/bin/jupyter lab --notebook-dir=notebooks

lint: venv
	.venv/bin/ruff check --no-cache workbench widgets tests bench

test: venv chromium lint
	$(PY) -m pytest -q -p no:cacheprovider

bench: venv
	@for s in bench/*.py; do echo "== $$s"; $(PY) $$s || exit 1; done

clean-venv:
	rm -rf .venv
