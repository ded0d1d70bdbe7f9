# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench fuzz system-deps viewer clean

# opendis (the DIS export) declares numpy<2, which would make pip downgrade numpy and break pyarrow;
# it runs on numpy 2, so it is installed without its dependencies (docs/dis.md)
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps 'opendis>=1.0'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/iadsim run --out out

test: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q -n auto --dist loadfile

# the fuzz tests with the long profile: 12,500 cases for each of the 9 fuzz tests (112,500 in all;
# `make test` runs 200 each); a crash found goes into tests/fuzz_corpus/ (tests/fuzzing.py)
fuzz: $(STAMP)
	IADSIM_FUZZ_EXAMPLES=12500 $(BIN)/pytest -q tests/test_fuzz.py tests/test_yaml_reader.py -k fuzz
	$(BIN)/pytest -q tests/test_fuzz_corpus.py

# Debian's chromium (the browser tests drive it) and gdal-bin (the viewshed benchmark's peer)
system-deps:
	./scripts/install-system-deps.sh
	./scripts/make-asterix-decoder-venv.sh

# rebuild the viewer page from web/ (developers only: the built files ship in src/iadsim/web/static)
viewer:
	cd web && npm ci --no-audit --no-fund && npm run build

# the peers the benchmarks compare against (Stone Soup for tracking) install only for make bench
$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

# bench_pipeline.py times the paths users wait on against release 0.1.0, side by side; it makes
# .venv-release (0.1.0 installed from out/bench/release-src) on first use
bench: $(VENV)/.bench-installed system-deps
	$(BIN)/python bench/run_benchmarks.py
	$(BIN)/python bench/bench_viewshed.py
	$(BIN)/python bench/bench_viewshed_threads.py
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_tracking.py
	$(BIN)/python bench/bench_assignment.py
	$(BIN)/python bench/bench_wta.py
	$(BIN)/python bench/bench_real_trajectories.py
	$(BIN)/python bench/bench_sweep.py
	$(BIN)/python bench/bench_sensitivity.py
	$(BIN)/python bench/bench_pipeline.py
	$(BIN)/python bench/bench_hostile.py
	$(BIN)/python bench/bench_estimate.py

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
