#!/usr/bin/env bash
# Tests the browser module and the page: builds the native CLI (debug), builds the module
# (scripts/build-wasm.sh) and lints its code for wasm32, then runs the Node tests of the module's API (including byte-for-byte
# comparisons with the CLI) and the end-to-end tests of the page in headless Chromium.
# Installs what is missing first (Rust targets, wasm-bindgen-cli, Chromium, npm packages);
# safe to run on a fresh Debian machine (as root, or with sudo for apt-get) and again on a warm one.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tidemark/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

step() { printf '\n== %s\n' "$*"; }

for tool in cargo node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: $tool is not installed" >&2
    exit 1
  fi
done
node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 20)); then
  echo "error: Node 20 or newer is needed (found $(node --version))" >&2
  exit 1
fi

if [[ ! -x "$CHROMIUM" ]]; then
  step "installing Chromium (apt-get)"
  sudo=""
  if ((EUID != 0)); then sudo="sudo"; fi
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium
fi

if [[ ! -d tests/browser/node_modules/playwright-core ]] ||
  [[ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]]; then
  step "installing playwright-core (npm ci in tests/browser/)"
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ "${TIDEMARK_WORKSPACE_TESTED:-}" = 1 ]; then
  # Built with the workspace, as scripts/test.sh built it: the same features, nothing twice.
  step "building the native CLI (cargo build, the workspace)"
  cargo build --locked
else
  step "building the native CLI (cargo build -p tidemark)"
  cargo build --locked -p tidemark --bin tidemark
fi

# The build comes first: it installs the wasm32 targets and wasm-bindgen-cli a fresh machine lacks.
step "building the wasm module (scripts/build-wasm.sh)"
./scripts/build-wasm.sh

step "lints of the browser module (cargo clippy --target wasm32-unknown-unknown, warnings are errors)"
cargo clippy --locked -p tidemark-browser --target wasm32-unknown-unknown -- -D warnings

step "module API tests (node --test tests/browser/module.test.mjs)"
node --test --test-reporter=spec tests/browser/module.test.mjs

step "page tests in headless Chromium (node --test tests/browser/page.test.mjs)"
node --test --test-reporter=spec tests/browser/page.test.mjs
