#!/usr/bin/env bash
# Tests the desktop app: formatting, lints, unit and egui_kittest UI tests, then a smoke test of
# the real binary in a real X11 window (Xvfb, Mesa's software OpenGL): it must show the seed's
# review, and its screenshot must not be blank. The screenshot goes to a temporary folder;
# `SCREENSHOT=desktop/screenshot.png scripts/test-desktop.sh` refreshes the README's.
# Installs what is missing first; safe to run on a fresh Debian machine and again on a warm one.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tidemark/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Tests never write over tracked files: the README's screenshot is refreshed on request only.
SCREENSHOT="${SCREENSHOT:-${TMPDIR:-/tmp}/tidemark-desktop-screenshot.png}"

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

if ! command -v cargo >/dev/null; then
  fail "cargo is not installed; install Rust (rustup) first"
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    step "installing the $component component"
    rustup component add "$component"
  fi
done

# What the window needs at run time (the build needs no system libraries): an X server, Mesa's
# OpenGL and the X11 libraries winit loads, and tools to find the window and read its pixels.
packages=(
  xvfb xauth
  libgl1 libegl1 libgl1-mesa-dri libegl-mesa0 libglx-mesa0
  libx11-6 libx11-xcb1 libxcursor1 libxrandr2 libxi6 libxkbcommon0 libxkbcommon-x11-0
  xdotool imagemagick
)
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ((${#missing[@]})); then
  step "installing ${missing[*]}"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

if [ "${TIDEMARK_WORKSPACE_TESTED:-}" = 1 ]; then
  # scripts/test.sh has just formatted, linted and tested the whole workspace, the app's unit
  # and UI tests included. Its build is reused: the app is built as one of the workspace's
  # members, so that the features of shared crates (the Delta engine's among them) are the
  # same as in that build and nothing is compiled twice.
  step "building the app (with the workspace, as scripts/test.sh built it)"
  cargo build --locked
else
  step "formatting (cargo fmt --check, desktop only)"
  cargo fmt -p tidemark-desktop -- --check

  step "lints (cargo clippy -p tidemark-desktop, warnings are errors)"
  cargo clippy -p tidemark-desktop --all-targets --locked -- -D warnings

  step "unit and UI tests (cargo test -p tidemark-desktop)"
  cargo test -p tidemark-desktop --locked

  step "building the app"
  cargo build -p tidemark-desktop --locked
fi
binary="$CARGO_TARGET_DIR/debug/tidemark-desktop"

step "smoke test: the real app in an Xvfb window"
work="$(mktemp -d)"
xvfb_pid=""
app_pid=""
cleanup() {
  if [ -n "$app_pid" ]; then kill "$app_pid" 2>/dev/null || true; fi
  if [ -n "$xvfb_pid" ]; then kill "$xvfb_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# A display number nobody uses.
display=99
while [ -e "/tmp/.X11-unix/X$display" ] || [ -e "/tmp/.X$display-lock" ]; do
  display=$((display + 1))
done
Xvfb ":$display" -screen 0 1280x800x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 100); do
  [ -e "/tmp/.X11-unix/X$display" ] && break
  sleep 0.1
done
[ -e "/tmp/.X11-unix/X$display" ] || { cat "$work/xvfb.log" >&2; fail "Xvfb did not start"; }

export DISPLAY=":$display"
unset WAYLAND_DISPLAY
LIBGL_ALWAYS_SOFTWARE=1 "$binary" >"$work/app.log" 2>&1 &
app_pid=$!

# The app logs each review it shows; the seed's says what the changes did.
expected="users: 103 rows + 10 changes from 5 file(s) -> 110 rows (inserted 7, updated 3, deleted 0)"
for _ in $(seq 600); do
  grep -qF "$expected" "$work/app.log" && break
  kill -0 "$app_pid" 2>/dev/null || { cat "$work/app.log" >&2; fail "the app exited"; }
  sleep 0.1
done
grep -qF "$expected" "$work/app.log" || { cat "$work/app.log" >&2; fail "the seed did not load"; }
window="$(timeout 30 xdotool search --sync --onlyvisible --name '^Tidemark$' | head -n 1)" \
  || fail "no Tidemark window on $DISPLAY"
# Keep the pointer off the widgets (no hover highlight or tooltip), let a few frames draw.
xdotool mousemove 1275 795
sleep 2
kill -0 "$app_pid" 2>/dev/null || { cat "$work/app.log" >&2; fail "the app exited"; }

import -display "$DISPLAY" -window "$window" "$work/screenshot.png"
read -r width height colours deviation < <(
  identify -format '%w %h %k %[fx:standard_deviation]\n' "$work/screenshot.png"
)
echo "screenshot: ${width}x${height}, $colours colours, standard deviation $deviation"
[ "$width" -ge 640 ] && [ "$height" -ge 400 ] || fail "the window is too small"
# A blank (black, or one flat colour) window has a handful of colours and no contrast; text,
# tables and widgets give hundreds.
[ "$colours" -ge 64 ] || fail "the screenshot is blank ($colours colours)"
awk -v d="$deviation" 'BEGIN { exit !(d > 0.03) }' || fail "the screenshot has no contrast"
if grep -q "tidemark-desktop: error" "$work/app.log"; then
  cat "$work/app.log" >&2
  fail "the app logged an error"
fi
cp "$work/screenshot.png" "$SCREENSHOT"
echo "saved $SCREENSHOT"

kill "$app_pid"
wait "$app_pid" 2>/dev/null || true
app_pid=""
step "desktop: all passed"
