#!/usr/bin/env bash
# Profile (not a test): where `tidemark apply` spends its CPU on the shared bench's data.
#
#   scripts/profile.sh [SIZE]        SIZE: a folder of DATA_ROOT made by scripts/bench.sh (default 10m)
#
# Samples the run with `perf record -e cpu-clock` (works where hardware counters are not
# exposed, as on VMs) with DWARF call graphs, then writes under OUT_ROOT/profile-SIZE/:
#   folded.txt      the stacks, one per line (inferno-collapse-perf)
#   flamegraph.svg  the flame graph (inferno-flamegraph)
# and prints the share of the samples in each phase and the hottest functions.
#
# Needs perf (Debian: linux-perf) and inferno (`cargo install inferno`); says so when missing.
# Env: DATA_ROOT (/tmp/cdcbench-data), OUT_ROOT (/tmp/tidemark-bench), FREQ (499 Hz),
#      CARGO_TARGET_DIR (~/.cache/tidemark/target).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
SIZE=${1:-10m}
DATA_ROOT=${DATA_ROOT:-/tmp/cdcbench-data}
OUT_ROOT=${OUT_ROOT:-/tmp/tidemark-bench}
FREQ=${FREQ:-499}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/tidemark/target}
DATA=$DATA_ROOT/$SIZE
OUT=$OUT_ROOT/profile-$SIZE

command -v perf >/dev/null || { echo "error: perf is missing (Debian: apt-get install linux-perf)" >&2; exit 1; }
for tool in inferno-collapse-perf inferno-flamegraph; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing (cargo install inferno)" >&2; exit 1; }
done
[ -f "$DATA/snapshot.parquet" ] || { echo "error: no data at $DATA (scripts/bench.sh $SIZE generates it)" >&2; exit 1; }

(cd "$REPO" && cargo build --release -p tidemark)
rm -rf "$OUT"
mkdir -p "$OUT"
perf record -q -e cpu-clock -F "$FREQ" --call-graph dwarf,16384 -o "$OUT/perf.data" \
  "$CARGO_TARGET_DIR/release/tidemark" apply --snapshot "$DATA/snapshot.parquet" --changes "$DATA/cdc.parquet" \
  --lookup "$DATA/cities.csv" --as-of 2021-10-18 --out "$OUT/run" --outputs enriched,report --quiet
perf script -i "$OUT/perf.data" 2>/dev/null | inferno-collapse-perf >"$OUT/folded.txt"
inferno-flamegraph --title "tidemark apply, $SIZE, cpu-clock $FREQ Hz" <"$OUT/folded.txt" >"$OUT/flamegraph.svg"

python3 - "$OUT/folded.txt" <<'EOF'
import collections, sys
phases = [  # (label, frames naming it); a sample counts for the first phase found, in this order
    ("read: decode Parquet", ("decode::parquet",)),
    ("apply: splice the new table", ("splice::splice",)),
    ("apply: diff", ("diff::compute",)),
    ("apply: the rest (keys, replay)", ("apply::apply",)),
    ("features", ("features::enrich",)),
    # Row groups go to the file as they are encoded, on the encoding threads: the writes are
    # told apart by the writer's own functions (encode frames name it only as a type).
    ("write files (+fsync)", ("<tidemark::outputs::Kicked as", "tidemark::outputs::Staged")),
    ("encode Parquet", ("encode::write_parquet", "encode::to_parquet")),
]
inside = [("  of which: interning values (Parquet dictionaries)", "Interner"),
          ("  of which: min/max statistics", "compute_min_max"),
          ("page faults (first touch of memory)", "exc_page_fault")]
total, phase, extra, leaf = 0, collections.Counter(), collections.Counter(), collections.Counter()
for line in open(sys.argv[1]):
    stack, n = line.rsplit(" ", 1)
    n = int(n); total += n
    frames = stack.split(";")
    label = next((l for l, ps in phases if any(p in f for p in ps for f in frames)),
                 "other (startup, reading files, exit)")
    phase[label] += n
    for l, p in inside:
        if any(p in f for f in frames):
            extra[l] += n
    leaf[frames[-1][:100]] += n
print(f"\nshare of CPU samples ({total} in all), by phase:")
for l, _ in phases + [("other (startup, reading files, exit)", None)]:
    print(f"  {100 * phase[l] / total:5.1f}%  {l}")
    if l == "encode Parquet":
        for l2, _ in inside[:2]:
            print(f"  {100 * extra[l2] / total:5.1f}%  {l2}")
print(f"  {100 * extra[inside[2][0]] / total:5.1f}%  {inside[2][0]} (across phases)")
print("\nhottest functions (self time):")
for f, n in leaf.most_common(15):
    print(f"  {100 * n / total:5.1f}%  {f}")
EOF
echo
echo "flame graph: $OUT/flamegraph.svg   stacks: $OUT/folded.txt"
