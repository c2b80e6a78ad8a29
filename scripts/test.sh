#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, unit, property and end-to-end tests.
# Installs what is missing first; safe to run on a fresh machine and again on a warm one.
set -euo pipefail
cd "$(dirname "$0")/.."

# One build directory that outlives checkouts, so warm runs take minutes.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tidemark/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n== %s\n' "$*"; }

if ! command -v cargo >/dev/null; then
  echo "error: cargo is not installed; install Rust (rustup) first" >&2
  exit 1
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    step "installing the $component component"
    rustup component add "$component"
  fi
done

# The edge-function tests build the program for WASI and run it...
if ! rustup target list --installed | grep -q '^wasm32-wasip1$'; then
  step "installing the wasm32-wasip1 target"
  rustup target add wasm32-wasip1
fi
# ...under Wasmtime, from PyPI's `wasmtime` package, in a virtual environment of its own.
WASI_VENV="$HOME/.cache/tidemark/wasi-venv"
if ! "$WASI_VENV/bin/python" -c 'import wasmtime' 2>/dev/null; then
  step "installing the Wasmtime WASI runtime (PyPI wasmtime) into $WASI_VENV"
  python3 -m venv "$WASI_VENV"
  "$WASI_VENV/bin/pip" install -q "wasmtime==50.0.1"
fi
export TIDEMARK_WASI_PYTHON="$WASI_VENV/bin/python"
# The Delta tests read what the program writes with independent readers (delta-rs's
# `deltalake`, Polars) and run a real S3-compatible server (moto): all from PyPI.
DELTA_VENV="$HOME/.cache/tidemark/delta-venv"
DELTA_PACKAGES=("deltalake==1.6.6" "polars==2.1.0" "pyarrow==26.0.1" "moto[server]==5.2.6" "boto3==1.44.18")
if ! "$DELTA_VENV/bin/python" -c 'import deltalake, polars, moto.server, boto3' 2>/dev/null; then
  step "installing the Delta readers and the S3 server (PyPI deltalake, polars, moto) into $DELTA_VENV"
  python3 -m venv "$DELTA_VENV"
  "$DELTA_VENV/bin/pip" install -q "${DELTA_PACKAGES[@]}"
fi
export TIDEMARK_DELTA_PYTHON="$DELTA_VENV/bin/python"

step "benchmark driver: its own checks (python3 scripts/bench.py --self-test; no build, no data)"
python3 scripts/bench.py --self-test

step "formatting (cargo fmt --check)"
cargo fmt --all -- --check

step "lints (cargo clippy, warnings are errors; the browser module is linted for its target by scripts/test-web.sh)"
cargo clippy --all-targets --locked -- -D warnings

step "tests (cargo test)"
cargo test --locked

step "fuzzing: each decoder for 15 s from a fixed seed (scripts/fuzz.sh --smoke)"
./scripts/fuzz.sh --smoke

step "desktop app: a real window under Xvfb (scripts/test-desktop.sh; its UI tests ran with cargo test)"
TIDEMARK_WORKSPACE_TESTED=1 ./scripts/test-desktop.sh

step "browser module and page: Node tests and headless Chromium (scripts/test-web.sh)"
TIDEMARK_WORKSPACE_TESTED=1 ./scripts/test-web.sh

step "Python package and Spark: the wheel in a fresh environment, pytest, Spark on local[2] (scripts/test-python.sh)"
# The Spark results are also compared with the output files of the program built above.
TIDEMARK_CLI="$CARGO_TARGET_DIR/debug/tidemark" ./scripts/test-python.sh
