# The only commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test lint pi-wheels py313 demo bench clean

install: $(STAMP)
	@bash scripts/ensure_system_packages.sh
	@$(PY) -m display_board.clips --out $(VENV)/share/qms-voice

$(STAMP): pyproject.toml
	@bash scripts/ensure_system_packages.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@bash scripts/ensure_lgpio.sh $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy protocol central_server kiosk display_board rating_terminal staff_console citizen_web ui devkit benchmarks tests

test: lint pi-wheels py313
	$(VENV)/bin/pytest -q

pi-wheels: install  # every runtime dependency installs on a 64-bit Pi, Python 3.11 and 3.13 (asks PyPI)
	$(PY) -m devkit.pi_wheels

py313: install  # imports and pure tests under a python3.13 already on this machine (says so when there is none)
	$(PY) -m devkit.py313

demo: install
	$(PY) -m devkit.demo

bench: install
	$(PY) -m benchmarks.server_bench
	$(PY) -m benchmarks.memory_bench
	$(PY) -m benchmarks.kiosk_bench
	$(PY) -m benchmarks.board_bench
	$(PY) -m benchmarks.terminal_bench
	$(PY) -m benchmarks.postgres_bench
	$(PY) -m benchmarks.estimate_accuracy
	$(PY) -m benchmarks.reconnect_bench
	$(PY) -m benchmarks.console_bench
	$(PY) -m benchmarks.phone_bench
	$(PY) -m benchmarks.config_bench
	$(PY) -m benchmarks.one_pi_bench

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache .hypothesis
