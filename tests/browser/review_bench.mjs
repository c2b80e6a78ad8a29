// Benchmark, not a test: how long the browser module takes to answer the page's review
// queries on a million-row table, under Node (the engine Chromium runs the module on), one
// thread: key search, column filters, facets and sorts, each the first answer for a page of 50
// rows and the median of the next RUNS - 1.
//
//   ./scripts/build-wasm.sh && node tests/browser/review_bench.mjs [ROWS] [RUNS]   # 1,000,000 and 5
//
// The data is made here (tests/browser/workload.mjs): ROWS users, updates of every tenth key,
// ROWS/20 inserts and deletes of every 97th key.

import { readFileSync } from "node:fs";
import { join } from "node:path";

import { apply, initSync } from "../../web/pkg/tidemark.js";
import { REPO } from "./common.mjs";
import { workload } from "./workload.mjs";

const ROWS = Number(process.argv[2] ?? 1_000_000);
const RUNS = Number(process.argv[3] ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${x.toFixed(x < 10 ? 1 : 0)} ms`;

initSync({ module: readFileSync(join(REPO, "web/pkg/tidemark_bg.wasm")) });
const work = workload(ROWS);
const encode = (text) => new TextEncoder().encode(text);
const started = performance.now();
const run = apply(
  [{ name: "LOAD00000001.csv", bytes: encode(work.load) }],
  work.changes.map((c) => ({ name: c.name, bytes: encode(c.text) })),
  { asOf: "2021-10-18" },
);
const applied = performance.now() - started;
const rows = run.report().apply;
console.log(`workload: ${ROWS.toLocaleString("en-US")} users + ${rows.changes.toLocaleString("en-US")} changes -> ${rows.rows_after.toLocaleString("en-US")} rows, applied in ${(applied / 1000).toFixed(2)} s`);

// An updated key (every tenth key is): the 192790 when the table is that large.
const probe = ROWS >= 192_790 ? "192790" : "10";
const city = (value, side) => ({ filter: "equals", column: side ? { name: "city", side } : { name: "city" }, value });
const sortBy = (name, descending = false) => ({ by: { column: { name } }, descending });
const cases = [
  ["diff: key search, exact", () => run.diffQuery({ filters: [{ filter: "key", text: probe }] }, 0, 50)],
  ["diff: key search, prefix", () => run.diffQuery({ filters: [{ filter: "key", text: probe.slice(0, 3), prefix: true }] }, 0, 50)],
  ["enriched: key search, exact", () => run.query("enriched", { filters: [{ filter: "key", text: probe }] }, 0, 50)],
  ["enriched: city = Denver", () => run.query("enriched", { filters: [city("Denver")] }, 0, 50)],
  ["enriched: name contains \"Mary J\"", () => run.query("enriched", { filters: [{ filter: "contains", column: { name: "name" }, text: "Mary J" }] }, 0, 50)],
  ["enriched: last_login in 2021-01-01 … 2021-06-30", () => run.query("enriched", { filters: [{ filter: "range", column: { name: "last_login" }, min: "2021-01-01", max: "2021-06-30" }] }, 0, 50)],
  ["diff: city before = Denver", () => run.diffQuery({ filters: [city("Denver", "before")] }, 0, 50)],
  ["diff: facets (kinds, files, changed columns)", () => run.facets({ filters: [] })],
  ["diff: facets under city changed", () => run.facets({ filters: [{ filter: "changed", column: "city" }] })],
  ["diff: sort by city", () => run.diffQuery({ filters: [], sort: sortBy("city") }, 0, 50)],
  ["diff: sort by source file", () => run.diffQuery({ filters: [], sort: { by: "source", descending: false } }, 0, 50)],
  ["enriched: sort by city", () => run.query("enriched", { filters: [], sort: sortBy("city") }, 0, 50)],
  ["enriched: sort by last_login, descending", () => run.query("enriched", { filters: [], sort: sortBy("last_login", true) }, 0, 50)],
];
// The module keeps what a query built (a sort's order, a key index) for the next page: the
// first answer is what a click costs, the median what paging after it costs.
console.log("| query | first | median of the rest |\n|---|---:|---:|");
for (const [name, query] of cases) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    query();
    times.push(performance.now() - t);
  }
  console.log(`| ${name} | ${ms(times[0])} | ${ms(median(times.slice(1)))} |`);
}
run.free();
