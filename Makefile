# dagwire — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PROTOS := $(shell find proto -name '*.proto' | LC_ALL=C sort)
GEN_MARK := gen/dagwire/__init__.py
ADDR   ?= 127.0.0.1:8083
# The HTTP/JSON gateway (Kuscia's REST paths, /metrics) on Kuscia's port; empty turns it off.
HTTP_ADDR ?= 127.0.0.1:8082

.PHONY: run test gen lint typecheck soak load bench venv clean

TOOLS  := $(VENV)/.gen-tools
GEN_PINS = $$($(PY) -c "import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['gen']))")

venv: $(GEN_MARK) $(STAMP)

# The generator alone, at the exact versions pyproject pins: `make gen` needs nothing else,
# so it works before the package itself can be installed.
$(TOOLS): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(GEN_PINS)
	touch $(TOOLS)

$(STAMP): pyproject.toml $(TOOLS)
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# Regenerate the stubs only when a .proto is newer than them.
$(GEN_MARK): $(PROTOS) | $(TOOLS)
	$(MAKE) --no-print-directory gen

gen: $(TOOLS)
	rm -rf gen/dagwire
	mkdir -p gen
	$(PY) -m grpc_tools.protoc -Iproto \
	  --plugin=protoc-gen-mypy=$(VENV)/bin/protoc-gen-mypy \
	  --plugin=protoc-gen-mypy_grpc=$(VENV)/bin/protoc-gen-mypy_grpc \
	  --python_out=gen --grpc_python_out=gen --mypy_out=gen --mypy_grpc_out=gen \
	  $(PROTOS)
	find gen/dagwire -type d -exec touch '{}/__init__.py' \;
	touch gen/dagwire/py.typed

run: venv
	$(PY) -m dagwire.server --listen $(ADDR) --http-listen "$(HTTP_ADDR)"

test: venv
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check server client tests
	$(VENV)/bin/ruff format --check server client tests
	$(MAKE) --no-print-directory typecheck

# mypy cannot see through setuptools' editable import hook, so it checks a symlinked
# view of the installed `dagwire` namespace instead.
typecheck: venv
	rm -rf .typecheck && mkdir -p .typecheck/dagwire
	cp gen/dagwire/__init__.py gen/dagwire/py.typed .typecheck/dagwire/
	ln -s ../../gen/dagwire/kuscia .typecheck/dagwire/kuscia
	ln -s ../../gen/dagwire/v1 .typecheck/dagwire/v1
	ln -s ../../server .typecheck/dagwire/server
	ln -s ../../client .typecheck/dagwire/client
	MYPYPATH=.typecheck $(VENV)/bin/mypy -p dagwire.server -p dagwire.client
	$(VENV)/bin/buf lint

# 20 kill -9 / restart rounds of a running DAG; not part of `make test`.
soak: venv
	$(PY) -m pytest -m soak tests/reliability

# 5,000 CreateJob from 32 clients with 100 watchers, loopback only; not part of `make test`.
load: venv
	$(PY) -m pytest -m load -s --timeout 900 tests/reliability/test_load.py

bench: venv
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
