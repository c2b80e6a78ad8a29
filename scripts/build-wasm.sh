#!/usr/bin/env bash
# Builds the browser module into web/pkg/ (tidemark.js, tidemark_bg.wasm, tidemark.d.ts):
# the `tidemark-browser` crate (wasm/browser/) for wasm32-unknown-unknown with the `wasm-release` profile, then
# wasm-bindgen (--target web: an ES module for pages, workers and Node), then wasm-opt from the
# npm `binaryen` package (Debian's wasm-opt 108 corrupts wasm-bindgen's output).
# Installs what is missing first; safe to run again. Prints the module's size, raw and gzip'd.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tidemark/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
TOOLS="${TIDEMARK_TOOLS:-$HOME/.cache/tidemark/tools}"
OUT=web/pkg

step() { printf '\n== %s\n' "$*"; }

for tool in cargo rustup node npm gzip; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: $tool is not installed" >&2
    exit 1
  fi
done

installed_targets=$(rustup target list --installed)
for target in wasm32-unknown-unknown wasm32-wasip1; do
  if ! grep -qx "$target" <<<"$installed_targets"; then
    step "adding the $target target"
    rustup target add "$target"
  fi
done

# wasm-bindgen-cli must be exactly the version of the wasm-bindgen crate in Cargo.lock.
version=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [[ -z "$version" ]]; then
  echo "error: no wasm-bindgen in Cargo.lock" >&2
  exit 1
fi
bindgen="$TOOLS/bin/wasm-bindgen"
if [[ ! -x "$bindgen" ]] || [[ "$("$bindgen" --version 2>/dev/null | awk '{print $2}')" != "$version" ]]; then
  step "installing wasm-bindgen-cli $version into $TOOLS"
  # Its own temporary build directory: its dependencies are not the workspace's.
  env -u CARGO_TARGET_DIR cargo install wasm-bindgen-cli --version "$version" --root "$TOOLS" --force
fi

# wasm-opt from npm, pinned by web/package-lock.json.
wasm_opt=web/node_modules/.bin/wasm-opt
if [[ ! -x "$wasm_opt" ]] || [[ web/package-lock.json -nt web/node_modules/.package-lock.json ]]; then
  step "installing binaryen (npm ci in web/)"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi

step "building the module (cargo build --profile wasm-release --target wasm32-unknown-unknown)"
cargo build --locked -p tidemark-browser --lib --target wasm32-unknown-unknown --profile wasm-release
wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/tidemark_browser.wasm"

# wasm-opt takes minutes: skip both steps when web/pkg was made from this very build.
stamp="$(sha256sum "$wasm" | cut -d' ' -f1) wasm-bindgen $version $(sha256sum "$0" | cut -d' ' -f1)"
if [[ -f "$OUT/.built-from" ]] && [[ "$(cat "$OUT/.built-from")" == "$stamp" ]] &&
  [[ -f "$OUT/tidemark.js" ]] && [[ -f "$OUT/tidemark_bg.wasm" ]]; then
  step "$OUT/ is up to date"
else
  step "wasm-bindgen $version -> $OUT/"
  staging=$(mktemp -d)
  trap 'rm -rf "$staging"' EXIT
  "$bindgen" --target web --out-name tidemark --out-dir "$staging" "$wasm"

  # -O3 rather than -Os: the size is the same to 1 % and the module runs about 15 % faster.
  step "wasm-opt -O3"
  "$wasm_opt" -O3 --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$staging/tidemark_bg.wasm" -o "$staging/tidemark_bg.opt.wasm"
  mv "$staging/tidemark_bg.opt.wasm" "$staging/tidemark_bg.wasm"

  # Replace the package in one step, so the page never sees half of one.
  rm -rf "$OUT"
  mkdir -p "$OUT"
  cp "$staging"/tidemark.js "$staging"/tidemark.d.ts "$staging"/tidemark_bg.wasm "$staging"/tidemark_bg.wasm.d.ts "$OUT"/
  echo "$stamp" >"$OUT/.built-from"
fi

raw=$(stat -c %s "$OUT/tidemark_bg.wasm")
gz=$(gzip -9 -c "$OUT/tidemark_bg.wasm" | wc -c)
awk -v raw="$raw" -v gz="$gz" -v out="$OUT" 'BEGIN {
  printf "module: %s/tidemark_bg.wasm %d bytes (%.2f MiB), gzip -9 %d bytes (%.2f MiB)\n", out, raw, raw / 1048576, gz, gz / 1048576
}'
# 1.6 MB: the dictionary Parquet writer (encode/dictionary_chunk.rs) took the module past 1.5 MB
# at opt-level "s" for parquet; "z" would fit but made the module's Parquet work ~1.7x slower,
# and a page that caches its module offline pays the size once.
budget=1600000
if ((gz > budget)); then
  echo "error: the module is over its budget of 1.6 MB gzip'd" >&2
  exit 1
fi
