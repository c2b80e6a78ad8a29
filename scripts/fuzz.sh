#!/usr/bin/env bash
# Fuzzes each decoder (CSV, Parquet, S3 event JSON, spec TOML) for a bounded time; fails on any
# panic or hang, with the input saved under fuzz/artifacts/TARGET/ (see fuzz/README.md).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   each target for SECONDS (60), a random seed
#   scripts/fuzz.sh --smoke                 CI: each target for 15 s from a fixed seed
#
# Stable Rust only: the fuzzer is a crate of its own (fuzz/), no cargo install needed.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tidemark/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

seconds=60
seed=()
if [[ "${1:-}" == "--smoke" ]]; then
  # Fixed, so a smoke run that fails on a change fails again on a rerun of it.
  seconds=15
  seed=(--seed 20211017)
  shift
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi

cargo build --manifest-path fuzz/Cargo.toml --locked --quiet
fuzzer="$CARGO_TARGET_DIR/debug/tidemark-fuzz"
if (($# > 0)); then
  targets=("$@")
else
  mapfile -t targets < <("$fuzzer" list)
fi

failed=()
for target in "${targets[@]}"; do
  # The fuzzer stops itself at the deadline, and on a hang; the timeout is a last resort.
  if ! (cd fuzz && timeout $((seconds + 120)) "$fuzzer" fuzz "$target" \
    --seconds "$seconds" "${seed[@]}" --corpus corpus --artifacts artifacts); then
    failed+=("$target")
  fi
done

if ((${#failed[@]} > 0)); then
  echo "fuzzing failed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzzing passed: ${targets[*]}, ${seconds} s each"
