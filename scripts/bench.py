#!/usr/bin/env python3
"""Benchmark (not a test): the `tidemark` CLI side by side with peer implementations of the same job
(CDC apply + feature engineering), on the same files, in the same rounds. See bench/README.md.

  scripts/bench.py [SIZE ...]     SIZE: tiny | small | 1m | 10m (as gen.py defines them), default 1m,
                                  or 30m (30M rows + 3M changes, Parquet only: no CSV run)
  scripts/bench.py --self-test    checks of the driver itself (no build, no data), in about a second

Env (the flags --reps, --peers, --csv-peers, --warmup, --check and --timeout override the first six):
  REPS                rounds per size (default 5); every round runs every implementation once
  PEERS               peers from the shared bench dir (default "polars_fused duckdb"); any of
                      duckdb duckdb_merge duckdb_fused polars polars_fused deltars pyspark pyspark_fused
  CSV_PEERS           the same jobs reading the DMS CSV files (bench/peer_csv.py), run beside tidemark_csv;
                      default: polars_fused_csv and duckdb_csv for polars_fused and duckdb in PEERS
  WARMUP              untimed runs of every implementation before round 1 (default 1)
  CHECK               1 = check every output of every round with check.py (default 1)
  TIMEOUT             seconds per run (default 3600); then SIGTERM to its process group, SIGKILL 30 s later
  TIDEMARK_BENCH_DIR  the shared peer bench (default: ../shared/bench relative to the repo root)
  BENCH_VENV / PY     the peers' Python (default ~/.cache/cdc-bench-venv/bin/python; made by setup.sh if missing)
  DATA_ROOT           generated data, one folder per size (default /tmp/cdcbench-data, as run_all.sh)
  OUT_ROOT            outputs, logs and results.tsv (default /tmp/tidemark-bench)
  TIDEMARK_OUTPUTS    what tidemark writes (default enriched,report, as the peers write the enriched table)
  CARGO_TARGET_DIR    default ~/.cache/tidemark/target
  HISTORY             1 = also run tidemark_history: the Parquet run with history kept ([history] in
                      the bundled users spec; writes history and change_log too), and report its
                      cost as a ratio to tidemark_parquet in the same rounds (flag: --history)

Each run is a child process of this driver: wall time from its start to its exit, peak RSS from
os.wait4 (ru_maxrss). A child starts from the driver's own high-water mark (exec keeps the
larger of the two), so a reading at that floor (printed at the top, marked *) says only
"at most that much".

Exit status: 0 when every tidemark run succeeded and every check said IDENTICAL; 1 otherwise
(2 for bad arguments). A failing peer is reported loudly but does not abort the run nor change
the exit status. Standard library only.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

SIZES = ("tiny", "small", "1m", "10m", "30m")
REPLAY_CHECKED_SIZES = ("tiny", "small", "1m")  # check.py --ref (pure Python replay) is fine up to 1m
AS_OF = "2021-10-18"
PHASES = ("read", "apply", "features", "encode_and_write", "total")
KILL_AFTER_S = 30.0
DEFAULTS = {"REPS": "5", "PEERS": "polars_fused duckdb", "WARMUP": "1", "CHECK": "1", "TIMEOUT": "3600",
            "TIDEMARK_OUTPUTS": "enriched,report"}

# The peers' command lines (script and flags after --data D --out O), as run_all.sh runs them.
PEER_ARGS = {
    "duckdb": ("peer_duckdb.py", []),
    "duckdb_merge": ("peer_duckdb.py", ["--mode", "merge"]),
    "duckdb_fused": ("peer_duckdb.py", ["--fused"]),
    "polars": ("peer_polars.py", []),
    "polars_fused": ("peer_polars.py", ["--fused"]),
    "deltars": ("peer_deltars.py", []),
    "pyspark": ("peer_pyspark.py", []),
    "pyspark_fused": ("peer_pyspark.py", ["--fused"]),
}
# The shared jobs reading LOAD00000001.csv + cdc.csv (this repository's bench/peer_csv.py).
CSV_PEER_ENGINES = {"polars_fused_csv": "polars", "duckdb_csv": "duckdb"}

# results.tsv keeps the columns of the bash driver, so that rows of old and new runs share one
# file; timev_wall_s (GNU time's wall clock) stays empty now that no /usr/bin/time is involved.
TSV_COLS = ("run_id date size round impl format rc wall_s timev_wall_s maxrss_mb t_read t_apply t_features "
            "t_encode_and_write t_total in_script_s check load1 git_rev cmd").split()

# Verdicts that are not failures; the first three are not even printed per round.
QUIET_VERDICTS = ("IDENTICAL", "reference", "unchecked")
OK_VERDICTS = QUIET_VERDICTS + ("not-run", "no-reference")


# ---- results ----------------------------------------------------------------------------------------


@dataclass
class Measured:
    """One finished child process."""
    rc: int  # exit status; 128+N for signal N; 124 when it was stopped for the timeout (as coreutils' timeout)
    timed_out: bool
    wall_s: float
    maxrss_kb: int  # ru_maxrss from os.wait4 (kB on Linux)
    user_s: float
    sys_s: float
    floor_kb: int  # the driver's own peak RSS when it started the child: ru_maxrss is never below it


@dataclass
class Run:
    """One run of one implementation in one round ("w" = warm-up, not recorded)."""
    size: str
    round: str
    impl: str
    cmd: list
    output: Path
    log: Path
    load1: str = ""
    date: str = ""
    measured: Optional[Measured] = None
    timings: dict = field(default_factory=dict)  # tidemark's report.json timings (s)
    in_script_s: Optional[float] = None  # a peer's own RESULT total (s)
    check: str = ""

    @property
    def rc(self) -> int:
        return self.measured.rc if self.measured else 127

    @property
    def ok(self) -> bool:
        return self.rc == 0

    @property
    def wall_s(self) -> Optional[float]:
        return self.measured.wall_s if self.measured else None

    @property
    def maxrss_mb(self) -> Optional[float]:
        return self.measured.maxrss_kb / 1024 if self.measured else None

    @property
    def at_floor(self) -> bool:
        return bool(self.measured) and self.measured.maxrss_kb <= self.measured.floor_kb

    @property
    def format(self) -> str:
        return "csv" if self.impl.endswith("_csv") else "parquet"

    @property
    def is_tidemark(self) -> bool:
        return self.impl.startswith("tidemark")

    @property
    def own_total_s(self) -> Optional[float]:
        """The implementation's own total: report.json's for tidemark, the RESULT line's for a peer."""
        return self.timings.get("total") if self.is_tidemark else self.in_script_s


@dataclass
class SizeResult:
    size: str
    description: str
    impls: list  # in table order, only those that ran
    runs: list  # the timed runs (Run), every round
    checked_against: str


@dataclass
class Failures:
    fatal: list = field(default_factory=list)  # tidemark runs and checks: exit 1
    peers: list = field(default_factory=list)  # reported only


@dataclass
class Config:
    repo: Path
    sizes: list
    reps: int
    peers: list
    csv_peers: Optional[list]  # None: derived from the peers
    warmup: int
    check: bool
    timeout_s: float
    bench: Path
    bench_venv: Path
    py: Path
    data_root: Path
    out_root: Path
    target_dir: Path
    outputs: str
    run_id: str
    history: bool = False

    @property
    def results_tsv(self) -> Path:
        return self.out_root / "results.tsv"

    @property
    def tidemark(self) -> Path:
        return self.target_dir / "release" / "tidemark"


# ---- small helpers --------------------------------------------------------------------------------


def banner(msg: str) -> None:
    line = "!" * 78
    print(f"\n{line}\n{msg}\n{line}", flush=True)


def now_iso() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def load1() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def indent(text: str, prefix: str = "   | ") -> str:
    return "".join(prefix + line + "\n" for line in text.splitlines())


def tail(path: Path, n: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def median(xs) -> Optional[float]:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x: Optional[float], spec: str) -> str:
    """format(x, spec), or a '-' as wide as the spec asks when there is no value."""
    if x is None:
        width = spec.split(".")[0]
        return format("-", ">" + width) if width.isdigit() else "-"
    return format(x, spec)


def rotated(impls: list, k: int) -> list:
    """The same implementations, starting from the k-th, so that none is always first."""
    k %= len(impls)
    return impls[k:] + impls[:k]


def exit_code(status: int) -> int:
    """A wait status as a shell reports it: the exit status, or 128+N for signal N."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


# ---- one measured process ---------------------------------------------------------------------------


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run_measured(cmd: list, cwd: Path, log: Path, timeout_s: float) -> Measured:
    """Run cmd (stdout and stderr to log) in a process group of its own; return its exit status,
    wall time and peak RSS. After timeout_s its group gets SIGTERM, KILL_AFTER_S later SIGKILL."""
    floor_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(log, "wb") as out:
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as e:  # not found, not executable: as a shell would say it
            out.write(f"cannot run {cmd[0]}: {e}\n".encode())
            return Measured(126 if isinstance(e, PermissionError) else 127, False,
                            time.perf_counter() - t0, 0, 0.0, 0.0, floor_kb)
    exited = threading.Event()
    timed_out = threading.Event()

    def watchdog() -> None:
        if exited.wait(timeout_s):
            return
        timed_out.set()
        _signal_group(proc.pid, signal.SIGTERM)
        if not exited.wait(KILL_AFTER_S):
            _signal_group(proc.pid, signal.SIGKILL)

    dog = threading.Thread(target=watchdog, daemon=True)
    dog.start()
    try:
        # wait for the exit without reaping, so that the watchdog can never signal a reused pid...
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        t1 = time.perf_counter()
    except BaseException:  # Ctrl-C: take the run down with us
        _signal_group(proc.pid, signal.SIGKILL)
        os.wait4(proc.pid, 0)
        proc.returncode = -signal.SIGKILL
        raise
    finally:
        exited.set()
        dog.join()
    # ...then reap it, with its resource usage
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # so that Popen does not wait for it again
    rc = 124 if timed_out.is_set() else exit_code(status)
    return Measured(rc, timed_out.is_set(), t1 - t0, ru.ru_maxrss, ru.ru_utime, ru.ru_stime, floor_kb)


# ---- what each implementation runs ------------------------------------------------------------------


def impl_command(cfg: Config, impl: str, data: Path, run_dir: Path) -> tuple:
    """(argv, output path) of one implementation on the data of one size."""
    if impl.startswith("tidemark_"):
        snapshot, changes = (("LOAD00000001.csv", "cdc.csv") if impl == "tidemark_csv"
                             else ("snapshot.parquet", "cdc.parquet"))
        outputs = cfg.outputs + (",history,change_log" if impl == "tidemark_history" else "")
        cmd = [str(cfg.tidemark), "apply", "--snapshot", str(data / snapshot), "--changes", str(data / changes),
               "--lookup", str(data / "cities.csv"), "--as-of", AS_OF, "--out", str(run_dir),
               "--outputs", outputs, "--quiet"]
        if impl == "tidemark_history":
            cmd += ["--spec", str(history_spec(cfg))]
        return cmd, run_dir / "enriched.parquet"
    output = run_dir / f"{impl}.parquet"
    io = ["--data", str(data), "--out", str(output)]
    if impl in CSV_PEER_ENGINES:
        cmd = [str(cfg.py), str(cfg.repo / "bench" / "peer_csv.py"), "--bench-dir", str(cfg.bench),
               "--engine", CSV_PEER_ENGINES[impl]] + io
    else:
        script, extra = PEER_ARGS[impl]
        cmd = [str(cfg.py), script] + io + extra
    return cmd + ["--as-of", AS_OF], output


def history_spec(cfg: Config) -> Path:
    """The bundled users spec (`tidemark spec`) with history kept: what tidemark_history runs."""
    path = cfg.out_root / "users-history.toml"
    if not path.is_file():
        spec = subprocess.run([str(cfg.tidemark), "spec"], check=True, capture_output=True, text=True).stdout
        cfg.out_root.mkdir(parents=True, exist_ok=True)
        path.write_text(spec + "\n[history]\n")
    return path


def read_timings(report: Path) -> dict:
    try:
        timings = json.loads(report.read_text()).get("timings", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return {k: float(timings[k]) for k in PHASES if isinstance(timings.get(k), (int, float))}


def read_in_script_total(log: Path) -> Optional[float]:
    """The total of a peer's last `RESULT {json}` line."""
    total = None
    try:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("RESULT "):
                try:
                    value = json.loads(line[7:]).get("total_in_script")
                except (ValueError, AttributeError):
                    continue
                total = float(value) if isinstance(value, (int, float)) else None
    except OSError:
        pass
    return total


def run_impl(cfg: Config, size: str, rnd: str, impl: str, data: Path, out: Path, failures: Failures) -> Run:
    """One run: a clean output dir, the process measured, its own timings read, failures reported."""
    run_dir, logs = out / impl, out / "logs"
    if run_dir.is_dir() and not run_dir.is_symlink():
        shutil.rmtree(run_dir)
    elif run_dir.exists() or run_dir.is_symlink():
        run_dir.unlink()
    run_dir.mkdir(parents=True)
    logs.mkdir(parents=True, exist_ok=True)
    tag = f"{impl}_r{rnd}"
    cmd, output = impl_command(cfg, impl, data, run_dir)
    run = Run(size, rnd, impl, cmd, output, logs / f"{tag}.log", load1=load1())
    cwd = cfg.bench if cfg.bench.is_dir() else cfg.repo  # the peers' scripts are named relative to it
    run.measured = m = run_measured(cmd, cwd, run.log, cfg.timeout_s)
    run.date = now_iso()
    (logs / f"{tag}.rusage.json").write_text(json.dumps(
        {"cmd": cmd, "rc": m.rc, "timed_out": m.timed_out, "wall_s": m.wall_s, "maxrss_kb": m.maxrss_kb,
         "driver_maxrss_kb": m.floor_kb, "user_s": m.user_s, "sys_s": m.sys_s}, indent=1) + "\n")
    if rnd == "w":
        print(f"   warm-up {impl:<18} rc={m.rc} {m.wall_s:6.2f}s", flush=True)
        return run
    if run.is_tidemark:
        run.timings = read_timings(run_dir / "report.json")
    else:
        run.in_script_s = read_in_script_total(run.log)
    rss = f"{run.maxrss_mb:.1f}" + ("*" if run.at_floor else "")
    print(f"   {impl:<18} rc={m.rc}  wall {m.wall_s:7.3f}s  maxrss {rss:>7} MB  (load1 {run.load1})", flush=True)
    if m.rc != 0:
        why = f"timed out after {cfg.timeout_s:g}s" if m.timed_out else f"exit status {m.rc}"
        what = f"{size} r{rnd} {impl}: {why}"
        if run.is_tidemark:
            banner(f"FAILED: {impl} ({size}, round {rnd}): {why}; log {run.log}")
            failures.fatal.append(what)
        else:
            banner(f"peer FAILED: {impl} ({size}, round {rnd}): {why}; log {run.log}")
            failures.peers.append(what)
        print(indent(tail(run.log, 15)), end="", flush=True)
    return run


# ---- checks -----------------------------------------------------------------------------------------


@dataclass
class Reference:
    """What a round's outputs are checked against: the replay of the data (check.py --ref),
    a peer's output of the same round, or nothing (no peer succeeded)."""
    kind: str  # "replay" | "peer" | "none"
    run: Optional[Run] = None


def choose_reference(size: str, peers: list, round_runs: dict) -> Reference:
    """tiny/small/1m: the independent replay. Above: duckdb's output, else the first peer's that succeeded."""
    if size in REPLAY_CHECKED_SIZES:
        return Reference("replay")
    for p in ["duckdb"] + peers:
        run = round_runs.get(p)
        if p in peers and run and run.ok and run.output.exists():
            return Reference("peer", run)
    return Reference("none")


def verdict_of(check_output: str) -> str:
    if "VERDICT: IDENTICAL" in check_output:
        return "IDENTICAL"
    if "VERDICT: DIFFERENT" in check_output:
        return "DIFFERENT"
    return "CHECK-ERROR"


def check_run(cfg: Config, run: Run, data: Path, ref: Reference, failures: Failures) -> str:
    """The check verdict of one run (and a banner when it is a failure)."""
    report = run.log.with_suffix(".check")
    ran_checker = False
    if not cfg.check:
        verdict = "unchecked"
    elif not run.ok:
        verdict = "not-run"
    elif not run.output.exists():
        verdict = "NO-OUTPUT"
    elif ref.kind == "none":
        verdict = "no-reference"
    elif ref.kind == "peer" and ref.run.output == run.output:
        verdict = "reference"
    else:
        against = ["--ref", str(data)] if ref.kind == "replay" else [str(ref.run.output)]
        with open(report, "wb") as f:
            subprocess.run([str(cfg.py), "check.py"] + against + [str(run.output)], cwd=cfg.bench,
                           stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
        ran_checker = True
        verdict = verdict_of(report.read_text(errors="replace"))
    if verdict not in OK_VERDICTS:
        banner(f"CHECK FAILED: {run.impl} ({run.size}, round {run.round}): {verdict}  ({run.output})")
        if ran_checker:
            print(indent(report.read_text(errors="replace")), end="")
        failures.fatal.append(f"{run.size} r{run.round} {run.impl}: check {verdict}")
    if verdict not in QUIET_VERDICTS:
        print(f"   check {run.impl:<18} {verdict}", flush=True)
    return verdict


# ---- results.tsv --------------------------------------------------------------------------------------


def tsv_row(run_id: str, git_rev: str, run: Run) -> list:
    def num(x: Optional[float], spec: str) -> str:
        return "" if x is None else format(x, spec)

    return [run_id, run.date, run.size, run.round, run.impl, run.format, str(run.rc), num(run.wall_s, ".3f"), "",
            num(run.maxrss_mb, ".1f")] + [num(run.timings.get(p), ".4f") for p in PHASES] + [
        num(run.in_script_s, ".4f"), run.check, run.load1, git_rev, shlex.join(run.cmd)]


def append_tsv(path: Path, rows: list) -> None:
    new = not path.exists() or path.stat().st_size == 0
    with open(path, "a") as f:
        if new:
            f.write("\t".join(TSV_COLS) + "\n")
        for row in rows:
            f.write("\t".join(c.replace("\t", " ").replace("\n", " ") for c in row) + "\n")


# ---- the printed summary ----------------------------------------------------------------------------


def per_round_ratios(runs: list, a: str, b: str, value) -> list:
    """value(a's run) / value(b's run) for every round in which both succeeded with a non-zero value."""
    ok = {(r.impl, r.round): r for r in runs if r.ok}
    ratios = []
    for rnd in sorted({r.round for r in runs}, key=int):
        ra, rb = ok.get((a, rnd)), ok.get((b, rnd))
        if ra and rb and value(ra) and value(rb):
            ratios.append(value(ra) / value(rb))
    return ratios


def summary_lines(res: SizeResult, peers: list, csv_peers: list, outputs: str) -> list:
    by = {i: [r for r in res.runs if r.impl == i] for i in res.impls}
    ok = {i: [r for r in by[i] if r.ok] for i in res.impls}
    n_rounds = len({r.round for r in res.runs})
    lines = [f"\n=== size {res.size}: {res.description}; {n_rounds} rounds; medians over the successful runs",
             f"{'implementation':<18} {'ok':>5} {'wall s':>8} {'min-max s':>13} {'RSS MB':>8} {'in-script s':>11}  checks"]
    for i in res.impls:
        walls = [r.wall_s for r in ok[i]]
        rng = f"{min(walls):.3f}-{max(walls):.3f}" if walls else "-"
        checks = ",".join(sorted({r.check for r in by[i]}))
        lines.append(f"{i:<18} {len(ok[i]):>2}/{len(by[i]):<2} {fmt(median(walls), '8.3f')} {rng:>13} "
                     f"{fmt(median(r.maxrss_mb for r in ok[i]), '8.1f')} "
                     f"{fmt(median(r.own_total_s for r in ok[i]), '11.3f')}  {checks}")
    lines.append(f"(checks: {res.checked_against})")
    if any(r.at_floor for i in res.impls for r in ok[i]):
        lines.append("(an RSS at the driver's own peak, marked * per run, is an upper bound: see --help)")
    lines += ["\ntidemark phases (median of report.json timings, s):",
              f"{'':<18} " + " ".join(f"{p:>16}" for p in PHASES)]
    for i in ("tidemark_parquet", "tidemark_history", "tidemark_csv"):
        if i in res.impls:
            lines.append(f"{i:<18} " + " ".join(fmt(median(r.timings.get(p) for r in ok[i]), '16.3f')
                                               for p in PHASES))
    pairs = [("tidemark_parquet", p) for p in peers] + [("tidemark_csv", p) for p in csv_peers]
    pairs += [("tidemark_history", "tidemark_parquet")]  # what keeping history costs
    pairs = [(i, p) for i, p in pairs if i in res.impls and p in res.impls]
    if pairs:
        lines.append("\ntidemark / peer on the same input files, median of per-round ratios  "
                     "(<1 = tidemark faster/smaller):")
        for i, p in pairs:
            times = per_round_ratios(res.runs, i, p, lambda r: r.wall_s)
            rss = per_round_ratios(res.runs, i, p, lambda r: r.maxrss_mb)
            cell = (f"{fmt(median(times), '.2f')}x time; {fmt(median(rss), '.2f')}x RSS" if times
                    else "n/a (a side did not run)")
            lines.append(f"  {i:<18} / {p:<18} {cell}")
    lines.append(f"(*_csv read LOAD00000001.csv + cdc.csv, the others snapshot.parquet + cdc.parquet; "
                 f"tidemark writes {outputs}; the peers write only the enriched table. wall = process wall "
                 "time incl. startup (Python + imports for the peers); in-script = the peer's own RESULT "
                 "total, tidemark's report.json total)")
    return lines


def describe_data(data: Path) -> str:
    try:
        meta = json.loads((data / "meta.json").read_text())
        return f"{meta['n_snapshot']:,} snapshot rows / {meta['m_changes']:,} changes"
    except (OSError, ValueError, KeyError, TypeError):
        return "?"


# ---- setup: configuration, machine, peers, data, build -------------------------------------------------


def parse_args(argv: list, env: dict) -> tuple:
    """(Config, self_test) from the arguments and the environment; exits 2 on a bad value."""
    def env_or(name: str, default: str) -> str:  # an empty variable counts as unset, as ${VAR:-default}
        return env.get(name) or default

    p = argparse.ArgumentParser(prog="scripts/bench.py", description=__doc__.split("\n\n")[0],
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sizes", nargs="*", metavar="SIZE", help="tiny | small | 1m | 10m | 30m (default 1m)")
    p.add_argument("--reps", default=env_or("REPS", DEFAULTS["REPS"]), help="rounds per size (REPS)")
    p.add_argument("--peers", default=env_or("PEERS", DEFAULTS["PEERS"]), help="(PEERS)")
    p.add_argument("--csv-peers", default=env.get("CSV_PEERS"), help="(CSV_PEERS; empty: none)")
    p.add_argument("--warmup", default=env_or("WARMUP", DEFAULTS["WARMUP"]), help="(WARMUP)")
    p.add_argument("--check", default=env_or("CHECK", DEFAULTS["CHECK"]), help="1 = check every output (CHECK)")
    p.add_argument("--timeout", default=env_or("TIMEOUT", DEFAULTS["TIMEOUT"]), help="seconds per run (TIMEOUT)")
    p.add_argument("--history", action="store_true", default=env.get("HISTORY") == "1",
                   help="also run tidemark_history (HISTORY=1)")
    p.add_argument("--self-test", action="store_true", help="check the driver itself and exit")
    a = p.parse_args(argv)

    sizes = a.sizes or ["1m"]
    for s in sizes:
        if s not in SIZES:
            p.error(f"unknown size '{s}' ({' | '.join(SIZES)})")
    if not a.reps.isdigit() or int(a.reps) == 0:
        p.error(f"REPS must be a positive integer (got '{a.reps}')")
    if not a.warmup.isdigit():
        p.error(f"WARMUP must be a non-negative integer (got '{a.warmup}')")
    try:
        timeout_s = float(a.timeout)
    except ValueError:
        timeout_s = 0.0
    if not timeout_s > 0:
        p.error(f"TIMEOUT must be a positive number of seconds (got '{a.timeout}')")
    peers = a.peers.split()
    for peer in peers:
        if peer not in PEER_ARGS:
            p.error(f"unknown peer '{peer}' ({' '.join(PEER_ARGS)})")
    csv_peers = None if a.csv_peers is None else a.csv_peers.split()
    for peer in csv_peers or []:
        if peer not in CSV_PEER_ENGINES:
            p.error(f"unknown CSV peer '{peer}' ({' | '.join(CSV_PEER_ENGINES)})")

    repo = Path(__file__).resolve().parent.parent
    home = Path.home()
    # the shared bench beside the repository, resolved from where this checkout is
    bench = Path(os.path.abspath(env_or("TIDEMARK_BENCH_DIR", str(repo / ".." / "shared" / "bench"))))
    bench_venv = Path(env_or("BENCH_VENV", str(home / ".cache" / "cdc-bench-venv")))
    cfg = Config(
        repo=repo, sizes=sizes, reps=int(a.reps), peers=peers, csv_peers=csv_peers, warmup=int(a.warmup),
        check=a.check == "1", timeout_s=timeout_s, bench=bench, bench_venv=bench_venv,
        py=Path(env_or("PY", str(bench_venv / "bin" / "python"))),
        data_root=Path(env_or("DATA_ROOT", "/tmp/cdcbench-data")),
        out_root=Path(env_or("OUT_ROOT", "/tmp/tidemark-bench")),
        target_dir=Path(env_or("CARGO_TARGET_DIR", str(home / ".cache" / "tidemark" / "target"))),
        outputs=env_or("TIDEMARK_OUTPUTS", DEFAULTS["TIDEMARK_OUTPUTS"]),
        run_id=f"{datetime.datetime.now():%Y%m%dT%H%M%S}-{os.getpid()}",
        history=a.history,
    )
    return cfg, a.self_test


def reproduce_command(cfg: Config) -> str:
    q = shlex.quote
    parts = [f"cd {q(str(cfg.repo))} &&", f"REPS={cfg.reps}", f"PEERS={q(' '.join(cfg.peers))}"]
    if cfg.csv_peers is not None:
        parts.append(f"CSV_PEERS={q(' '.join(cfg.csv_peers))}")
    if cfg.history:
        parts.append("HISTORY=1")
    parts += [f"WARMUP={cfg.warmup}", f"CHECK={int(cfg.check)}"]
    if cfg.timeout_s != float(DEFAULTS["TIMEOUT"]):
        parts.append(f"TIMEOUT={cfg.timeout_s:g}")
    if cfg.outputs != DEFAULTS["TIDEMARK_OUTPUTS"]:
        parts.append(f"TIDEMARK_OUTPUTS={q(cfg.outputs)}")
    parts += [f"TIDEMARK_BENCH_DIR={q(str(cfg.bench))}", f"DATA_ROOT={q(str(cfg.data_root))}",
              f"OUT_ROOT={q(str(cfg.out_root))}", "python3 scripts/bench.py"] + cfg.sizes
    return " ".join(parts)


def git_revision(repo: Path) -> str:
    def git(*args: str) -> str:
        r = subprocess.run(["git", "-C", str(repo)] + list(args), capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else ""

    rev = git("rev-parse", "--short", "HEAD") or "unknown"
    return rev + "+dirty" if git("status", "--porcelain", "--untracked-files=no") else rev


def machine_line() -> str:
    cpu = "unknown cpu"
    mem = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1048576:.0f} GiB"
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores, {cpu}, {mem}; load1 {load1()}; {now_iso()}"


def prepare_peers(cfg: Config) -> bool:
    """Whether the shared bench is there; runs its setup.sh when the peers' Python is missing.
    Without it: no peers, no generator, no checks."""
    if not (cfg.bench / "gen.py").is_file() or not (cfg.bench / "check.py").is_file():
        banner(f"shared bench dir not found at {cfg.bench} (set TIDEMARK_BENCH_DIR): no peers, no generator, no checks")
        cfg.peers, cfg.csv_peers, cfg.check = [], [], False
        return False
    if not os.access(cfg.py, os.X_OK):
        print(f"== peer Python environment missing at {cfg.bench_venv}: running {cfg.bench / 'setup.sh'}", flush=True)
        subprocess.run(["bash", str(cfg.bench / "setup.sh")], env=dict(os.environ, BENCH_VENV=str(cfg.bench_venv)))
        if not os.access(cfg.py, os.X_OK):
            print(f"error: {cfg.bench / 'setup.sh'} did not produce {cfg.py}", file=sys.stderr)
            sys.exit(1)
    if cfg.csv_peers is None:
        cfg.csv_peers = [f"{p}_csv" for p in cfg.peers if f"{p}_csv" in CSV_PEER_ENGINES]
    return True


def build_tidemark(cfg: Config) -> None:
    print(f"== building tidemark (cargo build --release -p tidemark, CARGO_TARGET_DIR={cfg.target_dir})", flush=True)
    cfg.out_root.mkdir(parents=True, exist_ok=True)
    log = cfg.out_root / "build.log"
    with open(log, "wb") as f:
        r = subprocess.run(["cargo", "build", "--release", "-p", "tidemark"], cwd=cfg.repo,
                           stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        banner(f"tidemark build FAILED (log: {log})")
        print(tail(log, 30))
        sys.exit(1)


def ensure_data(cfg: Config, size: str, data: Path, have_bench: bool) -> bool:
    """Generate the data of one size if it is missing; False when there is none and no generator."""
    # gen.py knows tiny..10m; 30m is its --n/--m, without the CSV files (1.3 GB of them).
    with_csv = size != "30m"
    gen_args = ["--size", size] if with_csv else ["--n", "30000000", "--m", "3000000", "--no-csv"]
    needed = ["meta.json", "snapshot.parquet"] + (["cdc.csv"] if with_csv else [])
    if all((data / name).is_file() for name in needed):
        return True
    if not have_bench:
        print(f"== no data for {size} at {data} and no gen.py: skipping")
        return False
    print(f"== generating {size} into {data}", flush=True)
    r = subprocess.run([str(cfg.py), "gen.py"] + gen_args + ["--out", str(data)], cwd=cfg.bench)
    if r.returncode != 0:
        banner(f"gen.py FAILED for {size} (exit status {r.returncode})")
        sys.exit(1)
    return True


# ---- the benchmark of one size ----------------------------------------------------------------------


def bench_size(cfg: Config, size: str, git_rev: str, have_bench: bool, failures: Failures) -> Optional[SizeResult]:
    data, out = cfg.data_root / size, cfg.out_root / size
    print(f"\n=================== size {size} (data {data}, outputs {out})", flush=True)
    if not ensure_data(cfg, size, data, have_bench):
        return None
    impls = ["tidemark_parquet"] + (["tidemark_history"] if cfg.history else []) + cfg.peers
    if (data / "cdc.csv").is_file():
        impls += ["tidemark_csv"] + cfg.csv_peers
    else:
        also = f" and {' '.join(cfg.csv_peers)}" if cfg.csv_peers else ""
        print(f"== no CSV files for {size}: tidemark_csv{also} not run")

    for _ in range(cfg.warmup):
        for impl in impls:
            run_impl(cfg, size, "w", impl, data, out, failures)

    runs = []
    ref = Reference("none")
    for rnd in range(1, cfg.reps + 1):
        order = rotated(impls, rnd - 1)
        print(f"-- [{size}] round {rnd}/{cfg.reps}: {' '.join(order)}", flush=True)
        round_runs = {impl: run_impl(cfg, size, str(rnd), impl, data, out, failures) for impl in order}
        # checks after the round, not between timed runs
        ref = choose_reference(size, cfg.peers, round_runs)
        if ref.kind == "none" and cfg.check:
            banner(f"no peer output to check tidemark against at {size} (round {rnd})")
            failures.fatal.append(f"{size} r{rnd}: no reference output")
        for impl in impls:
            run = round_runs[impl]
            run.check = check_run(cfg, run, data, ref, failures)
        append_tsv(cfg.results_tsv, [tsv_row(cfg.run_id, git_rev, round_runs[i]) for i in impls])
        runs += [round_runs[i] for i in impls]

    if not cfg.check:
        against = "none"
    elif size in REPLAY_CHECKED_SIZES:
        against = f"check.py --ref: the independent row-by-row replay of {data}, every round"
    else:
        name = ref.run.impl if ref.run else "?"
        against = f"check.py against the {name} output of the same round (duckdb when it ran)"
    ran = [i for i in impls if any(r.impl == i for r in runs)]
    return SizeResult(size, describe_data(data), ran, runs, against)


# ---- main -------------------------------------------------------------------------------------------


def main(argv: Optional[list] = None) -> int:
    cfg, self_test_only = parse_args(sys.argv[1:] if argv is None else argv, dict(os.environ))
    if self_test_only:
        return self_test()
    print(f"== reproduce: {reproduce_command(cfg)}")
    git_rev = git_revision(cfg.repo)
    print(f"== machine: {machine_line()}")
    print(f"== tidemark: {git_rev} (working tree as built now); run id {cfg.run_id}")
    print(f"== peak RSS from os.wait4; the driver's own is {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB,"
          " below which no run can read (marked *)", flush=True)

    have_bench = prepare_peers(cfg)
    os.environ["CARGO_TARGET_DIR"] = str(cfg.target_dir)
    os.environ["TIDEMARK_OUTPUTS"] = cfg.outputs
    build_tidemark(cfg)

    failures = Failures()
    ran_any = False
    for size in cfg.sizes:
        res = bench_size(cfg, size, git_rev, have_bench, failures)
        if res is None:
            continue
        ran_any = True
        print("\n".join(summary_lines(res, cfg.peers, cfg.csv_peers, cfg.outputs)), flush=True)

    if not ran_any and not have_bench:
        print(f"\npeers and generator not found, nothing to compare (looked in {cfg.bench}; set TIDEMARK_BENCH_DIR)")
        return 0
    print(f"\n== raw rows appended to {cfg.results_tsv} (run_id {cfg.run_id}); logs under {cfg.out_root}/SIZE/logs")
    if failures.peers:
        banner("peer failures (not counted in the exit status):\n" + "\n".join(f"  {f}" for f in failures.peers))
    if failures.fatal:
        banner("FAILURES:\n" + "\n".join(f"  {f}" for f in failures.fatal))
        return 1
    if cfg.check:
        print("== all tidemark runs succeeded; all checks IDENTICAL")
    else:
        print("== all tidemark runs succeeded; outputs NOT checked (CHECK=0 or no check.py)")
    return 0


# ---- self-test --------------------------------------------------------------------------------------


def self_test() -> int:
    """The driver's own logic on made-up runs, and the process measurement on real small children."""
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "child.log"
        m = run_measured([py, "-c", "import sys; print('hi'); sys.exit(3)"], Path(tmp), log, 30)
        assert (m.rc, m.timed_out, log.read_text()) == (3, False, "hi\n"), m
        m = run_measured([py, "-c", "b = bytearray(200 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1"],
                         Path(tmp), log, 30)
        assert m.rc == 0 and 200 * 1024 <= m.maxrss_kb < 300 * 1024, m
        m = run_measured([py, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"], Path(tmp), log, 30)
        assert m.rc == 128 + signal.SIGKILL, m
        m = run_measured([py, "-c", "import time; time.sleep(30)"], Path(tmp), log, 0.3)
        assert m.timed_out and m.rc == 124 and m.wall_s < 10, m
        m = run_measured([str(Path(tmp) / "missing")], Path(tmp), log, 30)
        assert m.rc == 127, m

        log.write_text('noise\nRESULT {"total_in_script": 1.5}\nRESULT {"total_in_script": 0.25}\n')
        assert read_in_script_total(log) == 0.25
        report = Path(tmp) / "report.json"
        report.write_text('{"timings": {"read": 0.5, "total": 1, "other": 2}}')
        assert read_timings(report) == {"read": 0.5, "total": 1.0}

    assert rotated(["a", "b", "c"], 0) == ["a", "b", "c"] and rotated(["a", "b", "c"], 4) == ["b", "c", "a"]
    assert verdict_of("...\nVERDICT: IDENTICAL\n") == "IDENTICAL" and verdict_of("Traceback") == "CHECK-ERROR"
    assert fmt(None, "8.3f") == "       -" and fmt(None, ".2f") == "-" and fmt(0.5, "8.3f") == "   0.500"
    cfg, _ = parse_args(["10m"], {"PEERS": "duckdb polars_fused", "HOME": "/h"})
    cfg.csv_peers = ["duckdb_csv"]
    assert cfg.bench == cfg.repo.parent / "shared" / "bench", cfg.bench
    cmd, out = impl_command(cfg, "polars_fused", Path("/d"), Path("/o/polars_fused"))
    assert cmd[1:] == ["peer_polars.py", "--data", "/d", "--out", "/o/polars_fused/polars_fused.parquet", "--fused",
                       "--as-of", AS_OF] and out.name == "polars_fused.parquet", cmd
    cmd, out = impl_command(cfg, "duckdb_csv", Path("/d"), Path("/o/x"))
    assert cmd[1] == str(cfg.repo / "bench" / "peer_csv.py") and cmd[cmd.index("--engine") + 1] == "duckdb", cmd
    cmd, out = impl_command(cfg, "tidemark_csv", Path("/d"), Path("/o/t"))
    assert "/d/LOAD00000001.csv" in cmd and out == Path("/o/t/enriched.parquet"), cmd

    def fake(impl: str, rnd: int, wall: float, rss_mb: float, rc: int = 0) -> Run:
        r = Run("10m", str(rnd), impl, [impl], Path(f"/o/{impl}"), Path("/l"), check="IDENTICAL")
        r.measured = Measured(rc, False, wall, int(rss_mb * 1024), 0.0, 0.0, 1)
        r.timings = {"total": wall / 2} if r.is_tidemark else {}
        return r

    # per-round ratios: 1/2, 3/4 (round 3: the peer failed) -> median 0.625; a ratio of medians would say 0.667
    runs = [fake("tidemark_parquet", 1, 1.0, 100), fake("duckdb", 1, 2.0, 400),
            fake("tidemark_parquet", 2, 3.0, 100), fake("duckdb", 2, 4.0, 200),
            fake("tidemark_parquet", 3, 1.0, 100), fake("duckdb", 3, 9.0, 200, rc=1)]
    assert per_round_ratios(runs, "tidemark_parquet", "duckdb", lambda r: r.wall_s) == [0.5, 0.75]
    res = SizeResult("10m", "10 snapshot rows / 1 changes", ["tidemark_parquet", "duckdb"], runs, "x")
    text = "\n".join(summary_lines(res, ["duckdb"], [], "enriched,report"))
    assert "tidemark_parquet    3/3     1.000   1.000-3.000    100.0       0.500  IDENTICAL" in text, text
    assert "duckdb              2/3     3.000   2.000-4.000    300.0           -  IDENTICAL" in text, text
    assert "  tidemark_parquet   / duckdb             0.62x time; 0.38x RSS" in text, text
    assert choose_reference("1m", ["duckdb"], {}).kind == "replay"
    ref = choose_reference("10m", ["polars_fused", "duckdb"], {"duckdb": runs[5], "polars_fused": runs[3]})
    assert ref.kind == "none"  # duckdb failed; polars_fused's output (a fake path) does not exist
    print("bench.py self-test: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
