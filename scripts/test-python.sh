#!/usr/bin/env bash
# Tests the Python package (python/): lints and unit-tests its Rust crate, builds the wheel,
# installs it into a fresh virtual environment (as a user's `pip install` would) and runs the
# seed there, then runs the pytest suite with the wheel installed, the Spark tests on a local
# PySpark (local[2]). Installs what is missing first (the pinned PyPI packages, Java for
# Spark); safe to run on a fresh machine and again on a warm one.
#
#   TIDEMARK_PYTHON_TARGET  the extension's build folder (default ~/.cache/tidemark/target-python)
#   TIDEMARK_PYTHON_VENV    the test environment (default ~/.cache/tidemark/python-venv)
#   TIDEMARK_CLI            a built `tidemark` program: the Spark results are also compared with
#                           its output files (scripts/test.sh passes the one it built)
#   PYTEST_ARGS             extra pytest arguments (`-k spark`, `-x`)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

step() { printf '\n== %s\n' "$*"; }

export CARGO_TARGET_DIR="${TIDEMARK_PYTHON_TARGET:-$HOME/.cache/tidemark/target-python}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
VENV="${TIDEMARK_PYTHON_VENV:-$HOME/.cache/tidemark/python-venv}"
# The build tools and test dependencies, pinned; pyarrow, Polars, pandas and PySpark are the
# versions the package is tested with.
PACKAGES=("maturin==1.16.0" "pytest==9.2.0" "pyarrow==26.0.1" "polars==2.1.0" "pandas==2.3.3" "pyspark==4.3.0")
if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi

if ! command -v java >/dev/null; then
  step "installing Java for Spark (Debian openjdk-17-jre-headless)"
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi

if ! "$VENV/bin/python" -c 'import maturin, pytest, pyarrow, polars, pandas, pyspark' 2>/dev/null; then
  step "installing the build and test packages (PyPI) into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "${PACKAGES[@]}"
fi
PY="$VENV/bin/python"
export PYO3_PYTHON="$PY"

step "Rust: formatting, lints and unit tests of the extension crate (python/)"
(cd python && cargo fmt --check)
(cd python && cargo clippy --locked --all-targets -- -D warnings)
# The unit tests link libpython (no `extension-module` feature): Debian's python3 needs its
# -dev package for the shared library.
LIBDIR="$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')"
VERSION="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ ! -e "$LIBDIR/libpython$VERSION.so" ]; then
  step "installing libpython for the extension's unit tests (Debian python3-dev)"
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq python3-dev >/dev/null
fi
# In the release profile: the wheel's build below reuses what it compiles.
(cd python && LD_LIBRARY_PATH="$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" cargo test --release --locked)

step "building the wheel (maturin build --release)"
WHEELS="$CARGO_TARGET_DIR/wheels"
rm -rf "$WHEELS"
"$VENV/bin/maturin" build --release --locked --manifest-path python/Cargo.toml \
  --interpreter "$PY" --out "$WHEELS" --quiet
WHEEL="$(ls "$WHEELS"/tidemark-*.whl)"

step "pip install $(basename "$WHEEL") into a fresh environment, and the seed run there"
FRESH="$(mktemp -d)"
trap 'rm -rf "$FRESH"' EXIT
python3 -m venv "$FRESH/venv"
"$FRESH/venv/bin/pip" install -q "$WHEEL"   # with its declared dependencies (pyarrow)
(cd "$FRESH" && "$FRESH/venv/bin/python" - "$ROOT/core/data/seed" <<'EOF'
import pathlib, sys
import tidemark
seed = pathlib.Path(sys.argv[1])
result = tidemark.apply(seed / "LOAD00000001.csv", sorted(seed.glob("2021*.csv")))
assert result.table.num_rows == 110, result.table.num_rows
print("fresh install: the seed gives", result.table.num_rows, "rows, as_of", result.report["features"]["as_of"])
EOF
)

step "installing the wheel into the test environment"
"$VENV/bin/pip" install -q --force-reinstall --no-deps "$WHEEL"

step "pytest (python/tests; Spark on local[2])"
# From the tests' folder, so that `import tidemark` is the installed wheel, not python/tidemark.
cd python/tests
# shellcheck disable=SC2086
"$PY" -m pytest -q -p no:cacheprovider ${PYTEST_ARGS:-} .
