# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# A pinned torch keeps results comparable; `make TORCH=torch` takes the newest.
TORCH ?= torch==2.13.0
# every folder with a task writer is an experiment (CONTRIBUTING.md)
EXPERIMENTS := $(patsubst %/write_disbatch.py,%,$(wildcard */write_disbatch.py))
export PLENEXP_OUTPUT_ROOT ?= ./outputs

.PHONY: venv demo test lint report clean

# a new experiment folder is a new package: install again
$(VENV)/.installed: pyproject.toml $(wildcard */__init__.py)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

venv: $(VENV)/.installed

demo: $(VENV)/.installed
	@set -e; for experiment in $(EXPERIMENTS); do \
		echo "=== $$experiment: quick grid"; \
		$(PY) -m plenexp.cluster.demo $$experiment; \
	done
	@$(MAKE) --no-print-directory report
	@echo "Summary figures: $(PLENEXP_OUTPUT_ROOT)/<experiment>/<grid>/summary/ (named above);" \
		"all of it on one page: $(PLENEXP_OUTPUT_ROOT)/index.html"

report: $(VENV)/.installed
	$(PY) -m plenexp.report

# Every core, the slowest tests named at the end (where the time goes).
# The end-to-end tests marked slow are left out unless TESTS_MARKED is
# empty: `.ci/run` runs them all (make test TESTS_MARKED=).
TESTS_MARKED ?= not slow
# pytest-xdist workers: one per core (the suite is CPU-bound); .ci/run adds
# one for the SLURM tests, whose worker mostly waits for the scheduler
TEST_WORKERS ?= auto
test: $(VENV)/.installed-test
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup --durations=15 -m "$(TESTS_MARKED)"

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
