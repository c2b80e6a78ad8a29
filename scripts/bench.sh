#!/usr/bin/env bash
# Benchmark (not a test): the `tidemark` CLI side by side with peer implementations of the same job
# (CDC apply + feature engineering), on the same files, in the same rounds. See bench/README.md.
#
#   scripts/bench.sh [SIZE ...]          SIZE: tiny | small | 1m | 10m (as gen.py defines them), default 1m,
#                                        or 30m (30M rows + 3M changes, Parquet only: no CSV run)
#
# Env:
#   REPS                rounds per size (default 5); every round runs every implementation once
#   PEERS               peers from the shared bench dir (default "polars_fused duckdb"); any of
#                       duckdb duckdb_merge duckdb_fused polars polars_fused deltars pyspark pyspark_fused
#   CSV_PEERS           the same jobs reading the DMS CSV files (bench/peer_csv.py), run beside tidemark_csv;
#                       default: polars_fused_csv and duckdb_csv for polars_fused and duckdb in PEERS
#   TIDEMARK_BENCH_DIR  the shared peer bench (default: ../shared/bench relative to the repo root)
#   BENCH_VENV / PY     the peers' Python (default ~/.cache/cdc-bench-venv/bin/python; made by setup.sh if missing)
#   DATA_ROOT           generated data, one folder per size (default /tmp/cdcbench-data, as run_all.sh)
#   OUT_ROOT            outputs, logs and results.tsv (default /tmp/tidemark-bench)
#   WARMUP              untimed runs of every implementation before round 1 (default 1)
#   CHECK               1 = check every output of every round with check.py (default 1)
#   TIMEOUT             seconds per run (default 3600)
#   CARGO_TARGET_DIR    default ~/.cache/tidemark/target
#
# Exit status: 0 when every tidemark run succeeded and every check said IDENTICAL; 1 otherwise.
# A failing peer is reported loudly but does not abort the run nor change the exit status.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(1m)
REPS=${REPS:-5}
PEERS=${PEERS:-polars_fused duckdb}
WARMUP=${WARMUP:-1}
CHECK=${CHECK:-1}
TIMEOUT=${TIMEOUT:-3600}
DATA_ROOT=${DATA_ROOT:-/tmp/cdcbench-data}
OUT_ROOT=${OUT_ROOT:-/tmp/tidemark-bench}
BENCH_VENV=${BENCH_VENV:-$HOME/.cache/cdc-bench-venv}
PY=${PY:-$BENCH_VENV/bin/python}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/tidemark/target}
AS_OF=2021-10-18
if [ -n "${TIDEMARK_BENCH_DIR:-}" ]; then
  BENCH=$TIDEMARK_BENCH_DIR
else
  BENCH=$REPO/../shared/bench
fi
[ -d "$BENCH" ] && BENCH=$(cd "$BENCH" && pwd)
RESULTS=$OUT_ROOT/results.tsv
RUN_ID=$(date +%Y%m%dT%H%M%S)-$$
SYSPY=$(command -v python3 || true)

banner() { printf '\n%s\n%s\n%s\n' "$(printf '!%.0s' {1..78})" "$*" "$(printf '!%.0s' {1..78})"; }
now() { echo "${EPOCHREALTIME/,/.}"; }

case "$REPS" in '' | *[!0-9]* | 0) echo "REPS must be a positive integer (got '$REPS')" >&2; exit 2 ;; esac
for s in "${SIZES[@]}"; do
  case "$s" in tiny | small | 1m | 10m | 30m) ;; *) echo "unknown size '$s' (tiny | small | 1m | 10m | 30m)" >&2; exit 2 ;; esac
done

# ---- the exact command to reproduce this run --------------------------------------------------------
repro="cd $(printf %q "$REPO") && REPS=$REPS PEERS=$(printf %q "$PEERS")${CSV_PEERS+ CSV_PEERS=$(printf %q "$CSV_PEERS")} WARMUP=$WARMUP CHECK=$CHECK"
repro+=" TIDEMARK_BENCH_DIR=$(printf %q "$BENCH") DATA_ROOT=$(printf %q "$DATA_ROOT") OUT_ROOT=$(printf %q "$OUT_ROOT")"
repro+=" bash scripts/bench.sh ${SIZES[*]}"
echo "== reproduce: $repro"
git_rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null || true)" ]; then
  git_rev+="+dirty"
fi
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo 2>/dev/null || true)
echo "== machine: $(nproc) cores, ${cpu:-unknown cpu}, $mem; load1 $(cut -d' ' -f1 /proc/loadavg); $(date -Is)"
echo "== tidemark: $git_rev (working tree as built now); run id $RUN_ID"

# ---- /usr/bin/time ----------------------------------------------------------------------------------
if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== /usr/bin/time missing: installing the 'time' package"
    apt-get install -y -q time >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q time >/dev/null; }
  fi
  [ -x /usr/bin/time ] || { echo "error: /usr/bin/time (GNU time) is missing; install the 'time' package" >&2; exit 1; }
fi
command -v timeout >/dev/null || { echo "error: 'timeout' (coreutils) is missing" >&2; exit 1; }
[ -n "$SYSPY" ] || SYSPY=$PY

# ---- the shared peer bench ----------------------------------------------------------------------------
HAVE_BENCH=1
if [ ! -f "$BENCH/gen.py" ] || [ ! -f "$BENCH/check.py" ]; then
  HAVE_BENCH=0
  banner "shared bench dir not found at $BENCH (set TIDEMARK_BENCH_DIR): no peers, no generator, no checks"
  PEERS=""
  CHECK=0
fi
if [ "$HAVE_BENCH" = 1 ] && [ ! -x "$PY" ]; then
  echo "== peer Python environment missing at $BENCH_VENV: running $BENCH/setup.sh"
  BENCH_VENV=$BENCH_VENV bash "$BENCH/setup.sh"
  [ -x "$PY" ] || { echo "error: $BENCH/setup.sh did not produce $PY" >&2; exit 1; }
fi
[ -x "$PY" ] && SYSPY=$PY   # the venv's python does the parsing when it is there (known version)

peer_args() {  # $1 = peer, $2 = data dir, $3 = output file; the command lines of run_all.sh
  case "$1" in
    duckdb)        echo "peer_duckdb.py --data $2 --out $3" ;;
    duckdb_merge)  echo "peer_duckdb.py --data $2 --out $3 --mode merge" ;;
    duckdb_fused)  echo "peer_duckdb.py --data $2 --out $3 --fused" ;;
    polars)        echo "peer_polars.py --data $2 --out $3" ;;
    polars_fused)  echo "peer_polars.py --data $2 --out $3 --fused" ;;
    deltars)       echo "peer_deltars.py --data $2 --out $3" ;;
    pyspark)       echo "peer_pyspark.py --data $2 --out $3" ;;
    pyspark_fused) echo "peer_pyspark.py --data $2 --out $3 --fused" ;;
    # the shared jobs reading LOAD00000001.csv + cdc.csv (this repo's bench/peer_csv.py)
    polars_fused_csv) echo "$REPO/bench/peer_csv.py --bench-dir $BENCH --engine polars --data $2 --out $3" ;;
    duckdb_csv)       echo "$REPO/bench/peer_csv.py --bench-dir $BENCH --engine duckdb --data $2 --out $3" ;;
    *) return 1 ;;
  esac
}
for p in $PEERS; do
  peer_args "$p" D O >/dev/null || { echo "unknown peer '$p'" >&2; exit 2; }
done
if [ -z "${CSV_PEERS+set}" ]; then
  CSV_PEERS=""
  for p in $PEERS; do
    case "$p" in polars_fused | duckdb) CSV_PEERS+="${CSV_PEERS:+ }${p}_csv" ;; esac
  done
fi
[ "$HAVE_BENCH" = 1 ] || CSV_PEERS=""
for p in $CSV_PEERS; do
  case "$p" in *_csv) peer_args "$p" D O >/dev/null && continue ;; esac
  echo "unknown CSV peer '$p' (polars_fused_csv | duckdb_csv)" >&2; exit 2
done

# ---- build tidemark -----------------------------------------------------------------------------------
TM=$CARGO_TARGET_DIR/release/tidemark
echo "== building tidemark (cargo build --release -p tidemark, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
mkdir -p "$OUT_ROOT"
if ! (cd "$REPO" && cargo build --release -p tidemark >"$OUT_ROOT/build.log" 2>&1); then
  banner "tidemark build FAILED (log: $OUT_ROOT/build.log)"
  tail -30 "$OUT_ROOT/build.log"
  exit 1
fi

# ---- one timed run --------------------------------------------------------------------------------------
TSV_COLS="run_id date size round impl format rc wall_s timev_wall_s maxrss_mb t_read t_apply t_features t_encode_and_write t_total in_script_s check load1 git_rev cmd"
[ -s "$RESULTS" ] || echo "$TSV_COLS" | tr ' ' '\t' >"$RESULTS"

# Parse /usr/bin/time -v output, tidemark's report.json and a peer's RESULT line into TSV fields.
PARSE='
import json, re, sys
timev, report, log = sys.argv[1:4]
out = {}
try:
    t = open(timev, errors="replace").read()
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t)
    if m:
        parts = [float(x) for x in m.group(1).split(":")]
        out["timev_wall_s"] = "%.2f" % sum(v * 60 ** i for i, v in enumerate(reversed(parts)))
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", t)
    if m:
        out["maxrss_mb"] = "%.1f" % (int(m.group(1)) / 1024)
except OSError:
    pass
if report != "-":
    try:
        tim = json.load(open(report)).get("timings", {})
        for k in ("read", "apply", "features", "encode_and_write", "total"):
            if k in tim:
                out["t_" + k] = "%.4f" % tim[k]
    except (OSError, ValueError):
        pass
if log != "-":
    try:
        for line in open(log, errors="replace"):
            if line.startswith("RESULT "):
                out["in_script_s"] = "%.4f" % json.loads(line[7:]).get("total_in_script", float("nan"))
    except (OSError, ValueError):
        pass
cols = ["timev_wall_s", "maxrss_mb", "t_read", "t_apply", "t_features", "t_encode_and_write", "t_total", "in_script_s"]
print("\t".join(out.get(c, "") for c in cols))
'

# What tidemark writes: like the peers, the enriched table (and its report, for the phase
# times). TIDEMARK_OUTPUTS=snapshot,enriched,diff,state,report measures everything.
export TIDEMARK_OUTPUTS=${TIDEMARK_OUTPUTS:-enriched,report}

FAILED=()       # tidemark failures and check failures: exit 1
PEER_FAILED=()  # peer failures: reported only
declare -A RC CMDLINE OUTPATH ROW

impl_cmd() {  # $1 = impl, $2 = data dir, $3 = output dir of this impl -> sets CMD (array) and OUTFILE
  case "$1" in
    tidemark_parquet)
      CMD=("$TM" apply --snapshot "$2/snapshot.parquet" --changes "$2/cdc.parquet" --lookup "$2/cities.csv"
           --as-of "$AS_OF" --out "$3" --outputs "$TIDEMARK_OUTPUTS" --quiet)
      OUTFILE=$3/enriched.parquet ;;
    tidemark_csv)
      CMD=("$TM" apply --snapshot "$2/LOAD00000001.csv" --changes "$2/cdc.csv" --lookup "$2/cities.csv"
           --as-of "$AS_OF" --out "$3" --outputs "$TIDEMARK_OUTPUTS" --quiet)
      OUTFILE=$3/enriched.parquet ;;
    *)
      OUTFILE=$3/$1.parquet
      # shellcheck disable=SC2206  # the peer command lines are plain words (paths without spaces)
      CMD=("$PY" $(peer_args "$1" "$2" "$OUTFILE") --as-of "$AS_OF") ;;
  esac
}

run_one() {  # $1 = size, $2 = round ("w" = warm-up), $3 = impl, $4 = data dir, $5 = out root of the size
  local size=$1 round=$2 impl=$3 data=$4 dir=$5/$3
  local tag=${impl}_r$round logs=$5/logs load t0 t1 rc=0 wall fields
  rm -rf "$dir"
  mkdir -p "$dir" "$logs"
  impl_cmd "$impl" "$data" "$dir"
  load=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(now)
  (cd "$BENCH" 2>/dev/null || cd "$REPO"
   exec timeout --kill-after=30 "$TIMEOUT" /usr/bin/time -v -o "$logs/$tag.timev" "${CMD[@]}") \
    >"$logs/$tag.log" 2>&1 || rc=$?
  t1=$(now)
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  RC[$impl]=$rc
  OUTPATH[$impl]=$OUTFILE
  CMDLINE[$impl]="${CMD[*]}"
  [ "$round" = w ] && { printf '   warm-up %-18s rc=%s %6.2fs\n' "$impl" "$rc" "$wall"; return 0; }
  local report=- log=-
  case "$impl" in tidemark_*) report=$dir/report.json ;; *) log=$logs/$tag.log ;; esac
  fields=$("$SYSPY" -c "$PARSE" "$logs/$tag.timev" "$report" "$log")
  local format=parquet
  case "$impl" in *_csv) format=csv ;; esac
  ROW[$impl]="$RUN_ID	$(date -Is)	$size	$round	$impl	$format	$rc	$wall	$fields"
  local rss
  rss=$(echo "$fields" | cut -f2)
  printf '   %-18s rc=%s  wall %7.3fs  maxrss %7s MB  (load1 %s)\n' "$impl" "$rc" "$wall" "${rss:-?}" "$load"
  ROW[$impl]+=$'\t'"@CHECK@"$'\t'"$load"$'\t'"$git_rev"$'\t'"${CMD[*]}"
  if [ "$rc" -ne 0 ]; then
    if [ "$rc" = 124 ]; then why="timed out after ${TIMEOUT}s"; else why="exit status $rc"; fi
    case "$impl" in
      tidemark_*) banner "FAILED: $impl ($size, round $round): $why; log $logs/$tag.log"
                  FAILED+=("$size r$round $impl: $why") ;;
      *)          banner "peer FAILED: $impl ($size, round $round): $why; log $logs/$tag.log"
                  PEER_FAILED+=("$size r$round $impl: $why") ;;
    esac
    tail -15 "$logs/$tag.log" | sed 's/^/   | /'
  fi
}

check_one() {  # $1 = size, $2 = round, $3 = impl, $4 = data dir, $5 = out root, $6 = reference output ("" = --ref)
  local size=$1 round=$2 impl=$3 data=$4 ref=$6 verdict f=$5/logs/${3}_r$2.check rc=0
  if [ "$CHECK" != 1 ]; then verdict=unchecked
  elif [ "${RC[$impl]}" != 0 ]; then verdict=not-run
  elif [ ! -e "${OUTPATH[$impl]}" ]; then verdict=NO-OUTPUT
  elif [ "$ref" = NONE ]; then verdict=no-reference
  elif [ -z "$ref" ]; then
    (cd "$BENCH" && "$PY" check.py --ref "$data" "${OUTPATH[$impl]}") >"$f" 2>&1 || rc=$?
  elif [ "$ref" = "${OUTPATH[$impl]}" ]; then verdict=reference
  else
    (cd "$BENCH" && "$PY" check.py "$ref" "${OUTPATH[$impl]}") >"$f" 2>&1 || rc=$?
  fi
  if [ -z "${verdict:-}" ]; then
    if grep -q 'VERDICT: IDENTICAL' "$f"; then verdict=IDENTICAL
    elif grep -q 'VERDICT: DIFFERENT' "$f"; then verdict=DIFFERENT
    else verdict=CHECK-ERROR; fi
  fi
  case "$verdict" in
    IDENTICAL | reference | unchecked | not-run | no-reference) ;;
    *) banner "CHECK FAILED: $impl ($size, round $round): $verdict  (${OUTPATH[$impl]})"
       [ -f "$f" ] && sed 's/^/   | /' "$f"
       FAILED+=("$size r$round $impl: check $verdict") ;;
  esac
  [ "$verdict" = IDENTICAL ] || [ "$verdict" = reference ] || [ "$verdict" = unchecked ] ||
    printf '   check %-18s %s\n' "$impl" "$verdict"
  echo "${ROW[$impl]//@CHECK@/$verdict}" >>"$RESULTS"
}

summarize() {  # $1 = size
  "$SYSPY" - "$RESULTS" "$RUN_ID" "$1" "$PEERS" "$DATA_ROOT/$1/meta.json" "$CSV_PEERS" "$2" <<'EOF'
import csv, json, os, statistics as st, sys
path, run_id, size, peers, meta_p, csv_peers, checked_against = sys.argv[1:8]
peers, csv_peers = peers.split(), csv_peers.split()
rows = [r for r in csv.DictReader(open(path), delimiter="\t") if r["run_id"] == run_id and r["size"] == size]
impls = ["tidemark_parquet"] + peers + ["tidemark_csv"] + csv_peers
def f(x):
    try: return float(x)
    except (TypeError, ValueError): return None
def med(xs):
    xs = [x for x in xs if x is not None]
    return st.median(xs) if xs else None
def fmt(x, spec):
    if x is None:
        w = spec.split(".")[0]
        return format("-", ">" + w) if w.isdigit() else "-"
    return format(x, spec)
by = {i: [r for r in rows if r["impl"] == i] for i in impls}
impls = [i for i in impls if by[i]]  # not run at this size (no CSV files at 30m)
ok = {i: [r for r in by[i] if r["rc"] == "0"] for i in impls}
try:
    m = json.load(open(meta_p)); desc = f"{m['n_snapshot']:,} snapshot rows / {m['m_changes']:,} changes"
except Exception:
    desc = "?"
nrounds = len({r["round"] for r in rows})
print(f"\n=== size {size}: {desc}; {nrounds} rounds; medians over the successful runs")
print(f"{'implementation':<18} {'ok':>5} {'wall s':>8} {'min-max s':>13} {'RSS MB':>8} {'in-script s':>11}  checks")
for i in impls:
    w = [f(r["wall_s"]) for r in ok[i]]
    checks = sorted({r["check"] for r in by[i]})
    ins = med([f(r["in_script_s"]) for r in ok[i]])
    if i.startswith("tidemark"):
        ins = med([f(r["t_total"]) for r in ok[i]])
    rng = f"{min(w):.3f}-{max(w):.3f}" if w else "-"
    print(f"{i:<18} {len(ok[i]):>2}/{len(by[i]):<2} {fmt(med(w), '8.3f')} {rng:>13} "
          f"{fmt(med([f(r['maxrss_mb']) for r in ok[i]]), '8.1f')} {fmt(ins, '11.3f')}  {','.join(checks)}")
print(f"(checks: {checked_against})")
print("\ntidemark phases (median of report.json timings, s):")
ph = ["read", "apply", "features", "encode_and_write", "total"]
print(f"{'':<18} " + " ".join(f"{p:>16}" for p in ph))
for i in ("tidemark_parquet", "tidemark_csv"):
    if i in impls:
        print(f"{i:<18} " + " ".join(fmt(med([f(r['t_' + p]) for r in ok[i]]), '16.3f') for p in ph))
rounds = sorted({r["round"] for r in rows}, key=int)
def get(i, rd, col):
    for r in ok[i]:
        if r["round"] == rd:
            return f(r[col])
    return None
pairs = [("tidemark_parquet", p) for p in peers] + [("tidemark_csv", p) for p in csv_peers]
pairs = [(i, p) for i, p in pairs if i in impls and p in impls]
if pairs:
    print("\ntidemark / peer on the same input files, median of per-round ratios  (<1 = tidemark faster/smaller):")
    for i, p in pairs:
        tr = [get(i, rd, "wall_s") / get(p, rd, "wall_s") for rd in rounds
              if get(i, rd, "wall_s") and get(p, rd, "wall_s")]
        mr = [get(i, rd, "maxrss_mb") / get(p, rd, "maxrss_mb") for rd in rounds
              if get(i, rd, "maxrss_mb") and get(p, rd, "maxrss_mb")]
        cell = f"{fmt(med(tr), '.2f')}x time; {fmt(med(mr), '.2f')}x RSS" if tr else "n/a (a side did not run)"
        print(f"  {i:<18} / {p:<18} {cell}")
print(f"(*_csv read LOAD00000001.csv + cdc.csv, the others snapshot.parquet + cdc.parquet; "
      f"tidemark writes {os.environ.get('TIDEMARK_OUTPUTS', 'enriched,report')}; the peers write only "
      "the enriched table. wall = process wall time incl. startup (Python + imports for the peers); "
      "in-script = the peer's own RESULT total, tidemark's report.json total)")
EOF
}

# ---- per size ---------------------------------------------------------------------------------------------
ran_any=0
for size in "${SIZES[@]}"; do
  data=$DATA_ROOT/$size
  out=$OUT_ROOT/$size
  echo
  echo "=================== size $size (data $data, outputs $out)"
  # gen.py knows tiny..10m; 30m is its --n/--m, without the CSV files (1.3 GB of them).
  gen_args=(--size "$size") with_csv=1
  [ "$size" = 30m ] && gen_args=(--n 30000000 --m 3000000 --no-csv) with_csv=0
  if [ ! -f "$data/meta.json" ] || [ ! -f "$data/snapshot.parquet" ] || { [ "$with_csv" = 1 ] && [ ! -f "$data/cdc.csv" ]; }; then
    if [ "$HAVE_BENCH" = 0 ]; then
      echo "== no data for $size at $data and no gen.py: skipping"
      continue
    fi
    echo "== generating $size into $data"
    (cd "$BENCH" && "$PY" gen.py "${gen_args[@]}" --out "$data")
  fi
  case "$size" in tiny | small | 1m) REF_MODE=ref ;; *) REF_MODE=peer ;; esac
  ran_any=1
  impls=(tidemark_parquet)
  impls+=($PEERS)
  if [ -f "$data/cdc.csv" ]; then
    impls+=(tidemark_csv $CSV_PEERS)
  else
    echo "== no CSV files for $size: tidemark_csv${CSV_PEERS:+ and $CSV_PEERS} not run"
  fi
  n=${#impls[@]}
  if [ "$WARMUP" -gt 0 ] 2>/dev/null; then
    for w in $(seq 1 "$WARMUP"); do
      for impl in "${impls[@]}"; do run_one "$size" w "$impl" "$data" "$out"; done
    done
  fi
  for round in $(seq 1 "$REPS"); do
    # the same implementations every round, the starting one rotating so that none is always first
    order=()
    for k in $(seq 0 $((n - 1))); do order+=("${impls[$(((k + round - 1) % n))]}"); done
    echo "-- [$size] round $round/$REPS: ${order[*]}"
    for impl in "${order[@]}"; do run_one "$size" "$round" "$impl" "$data" "$out"; done
    # checks after the round (not between timed runs): vs the independent replay for tiny/small/1m,
    # vs the duckdb output (else the first peer that succeeded) for 10m
    ref="" ref_name=""
    if [ "$REF_MODE" = peer ]; then
      for p in duckdb $PEERS; do
        if [[ " $PEERS " == *" $p "* ]] && [ "${RC[$p]:-1}" = 0 ] && [ -e "${OUTPATH[$p]}" ]; then
          ref=${OUTPATH[$p]}; ref_name=$p; break
        fi
      done
      if [ -z "$ref" ] && [ "$CHECK" = 1 ]; then
        banner "no peer output to check tidemark against at $size (round $round)"
        FAILED+=("$size r$round: no reference output")
        ref=NONE
      fi
    fi
    for impl in "${impls[@]}"; do check_one "$size" "$round" "$impl" "$data" "$out" "$ref"; done
  done
  if [ "$CHECK" != 1 ]; then against="none"
  elif [ "$REF_MODE" = ref ]; then against="check.py --ref: the independent row-by-row replay of $data, every round"
  else against="check.py against the ${ref_name:-?} output of the same round (duckdb when it ran)"; fi
  summarize "$size" "$against"
done

if [ "$ran_any" = 0 ] && [ "$HAVE_BENCH" = 0 ]; then
  echo
  echo "peers and generator not found, nothing to compare (looked in $BENCH; set TIDEMARK_BENCH_DIR)"
  exit 0
fi

echo
echo "== raw rows appended to $RESULTS (run_id $RUN_ID); logs under $OUT_ROOT/SIZE/logs"
if [ ${#PEER_FAILED[@]} -gt 0 ]; then
  banner "$(printf 'peer failures (not counted in the exit status):\n'; printf '  %s\n' "${PEER_FAILED[@]}")"
fi
if [ ${#FAILED[@]} -gt 0 ]; then
  banner "$(printf 'FAILURES:\n'; printf '  %s\n' "${FAILED[@]}")"
  exit 1
fi
if [ "$CHECK" = 1 ]; then
  echo "== all tidemark runs succeeded; all checks IDENTICAL"
else
  echo "== all tidemark runs succeeded; outputs NOT checked (CHECK=$CHECK or no check.py)"
fi
