# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo-out/tunewave

.PHONY: demo test lint install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-test: $(BIN)/python
	bash scripts/system-deps.sh
	$(BIN)/python -m pip install --quiet -e '.[test,spark,postgres]'

# Install, generate the demo product, and run the main job on it end to end.
demo: install
	$(BIN)/cynosure demo $(DEMO_DIR)
	$(BIN)/cynosure validate -p $(DEMO_DIR)
	$(BIN)/cynosure tree -p $(DEMO_DIR)
	$(BIN)/cynosure metrics -p $(DEMO_DIR) --grain month
	$(BIN)/cynosure candidates -p $(DEMO_DIR)
	$(BIN)/cynosure aha -p $(DEMO_DIR) --top 5
	$(BIN)/cynosure explain -p $(DEMO_DIR) --period 2026-W37
	$(BIN)/cynosure impact -p $(DEMO_DIR) song_plays --intervention "Recommendations v2"
	$(BIN)/cynosure targets -p $(DEMO_DIR)
	$(BIN)/cynosure check -p $(DEMO_DIR)
	$(BIN)/cynosure report -p $(DEMO_DIR) -o $(DEMO_DIR)/report.html

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

# Install everything the tests need, then lint, type-check and run the whole suite.
test: lint
	$(BIN)/pytest -n 2 --dist loadgroup -p no:cacheprovider

clean:
	rm -rf $(VENV) demo-out .pytest_cache .mypy_cache .ruff_cache

# Set up the CausalImpact peers (pycausalimpact, tfcausalimpact) in their own venvs under
# .venv-peers/ (TensorFlow: ~2.4 GB); then compare them with R:
# `$(BIN)/python benchmarks/causal_cases.py --peer pycausalimpact --peer tfcausalimpact`.
.PHONY: bench-peers
bench-peers:
	PYTHON=$(PYTHON) bash benchmarks/peers/setup.sh $(PEERS)
