# g5kpure — every target does its own set-up; `make test` on a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install test unit property check demo bench clean testbed testbed-down

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

test: install testbed
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

unit: install
	$(BIN)/python -m pytest -q tests -m 'not integration' $(PYTEST_ARGS)

property: install
	$(BIN)/python -m pytest -q property_tests $(PYTEST_ARGS)

# mypy reads the folder adapters/ under its installed name g5k through a link in .typecheck/. The library is
# checked --strict; the tests, property tests and benchmarks with pyproject's override for them (bodies checked,
# unannotated pytest functions allowed); --explicit-package-bases names their files from the root (tests.fixtures...,
# benchmarks.slots), as the imports do.
check: install
	$(BIN)/ruff check g5kpure adapters tests property_tests benchmarks
	mkdir -p .typecheck && ln -sfn ../adapters .typecheck/g5k
	MYPYPATH=.typecheck $(BIN)/mypy --strict -p g5kpure -p g5k
	MYPYPATH=.typecheck $(BIN)/mypy --explicit-package-bases tests property_tests benchmarks
	$(BIN)/lint-imports

demo: install
	$(BIN)/g5k plan --out out
	$(BIN)/g5k topo --compact --out out/topo.png

bench: install testbed
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The local OAR site and fake frontends of the integration tests (root; see tests/testbed/README.md).
testbed:
	tests/testbed/up.sh

testbed-down:
	tests/testbed/down.sh

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
