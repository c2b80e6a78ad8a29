// Benchmark: the browser module under Node against the native CLI, one thread each, on the
// 1M-row workload (../shared/bench beside the repository: 1M-row snapshot, 100k sequenced changes, a city lookup).
//
//   node web/bench.mjs [--data DIR] [--runs N] [--chromium]
//
// Needs web/pkg (scripts/build-wasm.sh) and the release CLI (cargo build --release -p tidemark).
// Generates the data with ../shared/bench/gen.py (TIDEMARK_BENCH_DIR) when DIR/snapshot.parquet is missing.
// Both sides do the same work: read the inputs, apply, compute the features, and encode the
// snapshot, enriched table, diff and state as Parquet (the CLI also writes them to disk).
// Not a test: it prints the numbers (median of N runs) and checks the outputs are identical.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { apply, initSync } from "./pkg/tidemark.js";

const here = fileURLToPath(new URL(".", import.meta.url));
// The shared peer bench, beside the repository unless TIDEMARK_BENCH_DIR says otherwise.
const BENCH_DIR = process.env.TIDEMARK_BENCH_DIR ?? resolve(here, "../../shared/bench");
const { values: args } = parseArgs({
  options: {
    data: { type: "string", default: "/tmp/cdcbench-data/1m" },
    runs: { type: "string", default: "3" },
    "as-of": { type: "string", default: "2021-10-18" },
    chromium: { type: "boolean", default: false },
  },
});
const DATA = resolve(args.data);
const RUNS = Number(args.runs);
const TARGET = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache/tidemark/target");
const CLI = process.env.TIDEMARK_CLI ?? join(TARGET, "release", "tidemark");
const OUTPUTS = ["snapshot", "enriched", "diff", "state"];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (x) => `${x.toFixed(2)} s`;
const chromiumVersion = () => spawnSync(process.env.CHROMIUM ?? "/usr/bin/chromium", ["--version"], { encoding: "utf8" }).stdout?.trim();

if (!existsSync(join(DATA, "snapshot.parquet"))) {
  console.log(`generating the workload into ${DATA}`);
  const gen = spawnSync(join(homedir(), ".cache/cdc-bench-venv/bin/python"),
    [join(BENCH_DIR, "gen.py"), "--size", "1m", "--out", DATA], { stdio: "inherit" });
  if (gen.status !== 0) process.exit(1);
}
if (!existsSync(CLI)) {
  console.error(`no CLI at ${CLI}: cargo build --release -p tidemark`);
  process.exit(1);
}

const names = { snapshot: "snapshot.parquet", changes: "cdc.parquet", lookup: "cities.csv" };
const inputBytes = Object.values(names).reduce((sum, n) => sum + readFileSync(join(DATA, n)).length, 0);

/** The native CLI, one thread (RAYON_NUM_THREADS=1) or all cores. */
function native(threads) {
  const times = [];
  let outputs;
  for (let i = 0; i < RUNS; i++) {
    const out = mkdtempSync(join(tmpdir(), "tidemark-bench-"));
    const env = { ...process.env };
    if (threads) env.RAYON_NUM_THREADS = String(threads);
    const started = process.hrtime.bigint();
    const run = spawnSync(CLI, [
      "apply", "--snapshot", join(DATA, names.snapshot), "--changes", join(DATA, names.changes),
      "--lookup", join(DATA, names.lookup), "--as-of", args["as-of"], "--out", out, "--quiet",
    ], { env, encoding: "utf8" });
    times.push(Number(process.hrtime.bigint() - started) / 1e9);
    if (run.status !== 0) throw new Error(run.stderr);
    outputs = Object.fromEntries(OUTPUTS.map((o) => [o, readFileSync(join(out, `${o}.parquet`))]));
    rmSync(out, { recursive: true });
  }
  return { time: median(times), outputs };
}

/** The module under Node: the same inputs, read from disk each run, and the same outputs. */
function wasm() {
  initSync({ module: readFileSync(join(here, "pkg/tidemark_bg.wasm")) });
  const file = (name) => ({ name: join(DATA, name), bytes: new Uint8Array(readFileSync(join(DATA, name))) });
  const runs = [];
  let outputs;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const snapshot = [file(names.snapshot)];
    const changes = [file(names.changes)];
    const lookup = file(names.lookup);
    const t1 = performance.now();
    const run = apply(snapshot, changes, { asOf: args["as-of"], lookup });
    const t2 = performance.now();
    outputs = Object.fromEntries(OUTPUTS.map((o) => [o, run.encode(o, "parquet")]));
    const t3 = performance.now();
    run.free();
    runs.push({ read: (t1 - t0) / 1000, apply: (t2 - t1) / 1000, encode: (t3 - t2) / 1000, total: (t3 - t0) / 1000 });
  }
  const time = median(runs.map((r) => r.total));
  return { time, first: runs[0].total, phases: runs.find((r) => r.total === time), outputs };
}

/** The module in headless Chromium (page context, one thread), timed the same way. */
async function chromium() {
  const { chromium: browserType } = await import(join(here, "../tests/browser/node_modules/playwright-core/index.mjs"));
  const { serve } = await import(join(here, "../tests/browser/server.mjs"));
  const server = await serve(here);
  const profile = mkdtempSync(join(tmpdir(), "tidemark-chromium-"));
  const context = await browserType.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${server.url}index.html`);
    const files = Object.fromEntries(Object.entries(names).map(([k, n]) => [k, readFileSync(join(DATA, n)).toString("base64")]));
    const result = await page.evaluate(async ({ files, asOf, runs }) => {
      const { default: init, apply } = await import("./pkg/tidemark.js");
      await init();
      const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const inputs = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, bytes(v)]));
      const totals = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        const run = apply([{ name: "snapshot.parquet", bytes: inputs.snapshot }],
          [{ name: "cdc.parquet", bytes: inputs.changes }],
          { asOf, lookup: { name: "cities.csv", bytes: inputs.lookup } });
        for (const o of ["snapshot", "enriched", "diff", "state"]) run.encode(o, "parquet");
        run.free();
        totals.push((performance.now() - t0) / 1000);
      }
      return totals;
    }, { files, asOf: args["as-of"], runs: RUNS });
    return { time: median(result), first: result[0] };
  } finally {
    await context.close();
    await server.close();
    rmSync(profile, { recursive: true });
  }
}

console.log(`workload: ${DATA} (${(inputBytes / 1e6).toFixed(1)} MB of inputs), median of ${RUNS} runs`);
const single = native(1);
console.log(`native CLI, 1 thread      ${seconds(single.time)}`);
const multi = native(0);
console.log(`native CLI, all cores     ${seconds(multi.time)}`);
const module = wasm();
const p = module.phases;
console.log(`wasm module, Node ${process.versions.node.padEnd(7)} ${seconds(module.time)}` +
  `  (read ${seconds(p.read)}, apply + features ${seconds(p.apply)}, encode ${seconds(p.encode)}; first run ${seconds(module.first)})`);
for (const o of OUTPUTS) {
  if (!Buffer.from(module.outputs[o]).equals(single.outputs[o])) {
    console.error(`error: ${o}.parquet differs between the module and the CLI`);
    process.exitCode = 1;
  }
}
if (!process.exitCode) console.log("outputs: identical (snapshot, enriched, diff, state)");
console.log(`ratio, wasm (Node) / native (1 thread): ${(module.time / single.time).toFixed(2)}x`);
if (args.chromium) {
  const { time, first } = await chromium();
  console.log(`wasm module, Chromium     ${seconds(time)}  (first run ${seconds(first)})`);
  console.log(`ratio, wasm (${chromiumVersion() ?? "Chromium"}) / native (1 thread): ${(time / single.time).toFixed(2)}x`);
}
