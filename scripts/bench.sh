#!/usr/bin/env bash
# The benchmark driver is scripts/bench.py (same sizes, env and options; see bench/README.md).
exec python3 "$(dirname "$0")/bench.py" "$@"
