// The browser module's API under Node, on the seed, and against the native CLI: the same inputs
// must give byte-identical outputs, the same report and the same error messages.
// Needs web/pkg (scripts/build-wasm.sh) and the CLI (cargo build -p tidemark).

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { initSync, apply, applyOrder, example, version } from "../../web/pkg/tidemark.js";
import { REPO, SEED, cli, parseCsv, scratch, seedFiles } from "./common.mjs";

initSync({ module: readFileSync(join(REPO, "web/pkg/tidemark_bg.wasm")) });

const text = (bytes) => new TextDecoder().decode(bytes);
const file = (name, content) => ({ name, bytes: new TextEncoder().encode(content) });

/** Runs the CLI on `args` (plus --out DIR) and reads back what it wrote. */
function cliOutputs(args, format) {
  const out = scratch();
  try {
    const run = cli(["apply", ...args, "--out", out.dir, "--format", format, "--quiet"]);
    assert.equal(run.status, 0, run.stderr);
    const read = (name) => new Uint8Array(readFileSync(join(out.dir, name)));
    const outputs = {};
    for (const name of ["snapshot", "enriched", "diff"]) outputs[name] = read(`${name}.${format}`);
    const report = JSON.parse(readFileSync(join(out.dir, "report.json"), "utf8"));
    delete report.timings;
    delete report.outputs;
    return { outputs, report };
  } finally {
    out.remove();
  }
}

/** The CLI's error line without its `error: ` prefix. */
function cliError(args) {
  const out = scratch();
  try {
    const run = cli(["apply", ...args, "--out", join(out.dir, "out")]);
    assert.equal(run.status, 1, `the CLI should fail: ${run.stdout}`);
    assert.match(run.stderr, /^error: /);
    return run.stderr.trim().replace(/^error: /, "");
  } finally {
    out.remove();
  }
}

test("the module knows its version", () => {
  assert.match(version(), /^\d+\.\d+\.\d+/);
});

test("the seed example applies: 7 inserted, 3 updated, 0 deleted", () => {
  const seed = example();
  assert.deepEqual(seed.snapshot.map((f) => f.name), ["LOAD00000001.csv"]);
  assert.equal(seed.changes.length, 5);
  const progress = [];
  const run = apply(seed.snapshot, seed.changes, {}, (p) => progress.push(p));
  try {
    const report = run.report();
    assert.deepEqual(report.apply.outcome, { inserted: 7, updated: 3, deleted: 0, unchanged: 0, inserted_and_deleted: 0 });
    assert.equal(report.apply.rows_before, 103);
    assert.equal(report.apply.rows_after, 110);
    assert.equal(report.features.as_of, "2021-10-18");
    assert.equal(report.features.as_of_source, "newest change file name (20211018-225959941.csv)");
    assert.deepEqual(report.anomalies, []);
    assert.equal(run.rowCount("snapshot"), 110);
    assert.equal(run.rowCount("enriched"), 110);
    assert.equal(run.rowCount("diff"), 10);
    assert.equal(run.hasState(), false);
    assert.deepEqual(
      progress.map((p) => p.stage),
      ["decode", "decode", "decode", "decode", "decode", "decode", "apply", "enrich", "done"],
    );
    assert.deepEqual(progress[0], { stage: "decode", file: "LOAD00000001.csv", index: 0, total: 6, bytes: seed.snapshot[0].bytes.length });
  } finally {
    run.free();
  }
});

test("files apply in the order of their DMS names, whatever order they come in", () => {
  const seed = example();
  const shuffled = [...seed.changes].reverse();
  const run = apply(seed.snapshot, shuffled, null, null);
  try {
    assert.deepEqual(
      run.report().changes.map((c) => c.file),
      seed.changes.map((c) => c.name),
    );
  } finally {
    run.free();
  }
  assert.deepEqual(applyOrder(["x/20211018-223933563.csv", "lookup.csv", "LOAD0000000A.csv", "20211017-194324349.csv.gz", "LOAD00000002.csv"]), [
    { name: "LOAD00000002.csv", kind: "load", time: null },
    { name: "LOAD0000000A.csv", kind: "load", time: null },
    { name: "20211017-194324349.csv.gz", kind: "changes", time: "2021-10-17 19:43:24.349" },
    { name: "x/20211018-223933563.csv", kind: "changes", time: "2021-10-18 22:39:33.563" },
    { name: "lookup.csv", kind: "other", time: null },
  ]);
});

test("the diff gives old and new values of the touched keys", () => {
  const seed = example();
  const run = apply(seed.snapshot, seed.changes);
  try {
    const all = run.diffPage(0, 100);
    assert.equal(all.total, 10);
    assert.deepEqual(all.key, ["user_id"]);
    assert.deepEqual(all.columns, ["name", "city", "last_login"]);

    const updated = run.diffPage(0, 100, "updated");
    assert.equal(updated.total, 3);
    assert.deepEqual(updated.rows.map((r) => r.key[0]), ["6", "8", "9"]);
    const user9 = updated.rows[2];
    assert.deepEqual(user9, {
      change: "updated",
      key: ["9"],
      before: ["Darla Hayes", "Nashville", "2021-10-15"],
      after: ["Darla Hayes", "New York", "2021-10-17"],
      changed: ["city", "last_login"],
      changes: 1,
      file: "20211017-194324349.csv",
      row: 6,
      sequence: null,
    });

    const inserted = run.diffPage(2, 3, "inserted");
    assert.equal(inserted.total, 7);
    assert.equal(inserted.offset, 2);
    assert.deepEqual(inserted.rows.map((r) => r.key[0]), ["135", "136", "137"]);
    assert.equal(inserted.rows[0].before, null);
    assert.deepEqual(inserted.rows[0].after, ["Monica Bing", "Portland", "2021-10-17"]);
    assert.equal(run.diffPage(0, 10, "deleted").total, 0);
    assert.throws(() => run.diffPage(0, 10, "moved"), { name: "TidemarkError", message: /unknown change "moved"/ });
  } finally {
    run.free();
  }
});

test("queries: a key search, filters, a sort and the diff's facets, by the core's rules", () => {
  const seed = example();
  const run = apply(seed.snapshot, seed.changes);
  try {
    const keys = (page) => page.rows.map((r) => r.key[0]);
    assert.deepEqual(keys(run.diffQuery({ filters: [{ filter: "key", text: "13", prefix: true }] }, 0, 3)), ["133", "134", "135"]);
    assert.equal(run.diffQuery({ filters: [{ filter: "key", text: "13", prefix: true }] }, 3, 50).total, 7);
    const york = { filter: "contains", column: { name: "city" }, text: "york" };
    const byName = { by: { column: { name: "name", side: "after" } }, descending: true };
    assert.deepEqual(keys(run.diffQuery({ filters: [york], sort: byName }, 0, 10)), ["137", "136", "9", "133"]);
    const facets = run.facets({ filters: [york, { filter: "kind", kind: "updated" }] });
    assert.deepEqual(facets.kinds.map((k) => [k.value, k.count]), [
      ["inserted", 3], ["updated", 1], ["deleted", 0], ["unchanged", 0], ["inserted_and_deleted", 0],
    ]);
    assert.deepEqual(facets.changed, [
      { value: "name", count: 0 }, { value: "city", count: 1 }, { value: "last_login", count: 1 },
    ]);
    assert.deepEqual(facets.files, [{ value: "20211017-194324349.csv", count: 1 }]);

    const texas = run.query("enriched", { filters: [{ filter: "equals", column: { name: "state" }, value: "Texas" }] }, 0, 500);
    const state = texas.columns.indexOf("state");
    assert.ok(texas.total > 0 && texas.rows.every((r) => r[state] === "Texas"));
    assert.throws(
      () => run.query("snapshot", { filters: [{ filter: "range", column: { name: "last_login" }, min: "soon" }] }, 0, 10),
      { name: "TidemarkError", message: /`last_login` has no value "soon"/ },
    );
    assert.throws(() => run.diffQuery({ filters: [{ filter: "kind", kind: "moved" }] }, 0, 10), { name: "TidemarkError", message: /unknown kind of change/ });
    assert.throws(() => run.query("snapshot", { filters: [{ filter: "changed", column: "city" }] }, 0, 10), { message: /applies to the diff only/ });
  } finally {
    run.free();
  }
});

test("pages of the enriched table, sorted or not", () => {
  const seed = example();
  const run = apply(seed.snapshot, seed.changes);
  try {
    const first = run.page("enriched", 0, 3);
    assert.equal(first.total, 110);
    assert.deepEqual(first.columns, [
      "user_id", "name", "city", "last_login", "state",
      "last_login_rank_by_city", "login_rate_last_3_months_by_city", "users_by_city",
    ]);
    assert.deepEqual(first.rows[0], ["0", "Herman Zimmerman", "Oklahoma city", "2020-10-10", "Oklahoma", "4", "0.5", "4"]);

    const all = run.page("enriched", 0, 1000).rows;
    const austin = all.filter((r) => r[2] === "Austin");
    assert.equal(austin.length, 3);
    assert.ok(austin.every((r) => r[4] === "Texas"), "Austin → Texas");
    const user9 = all.find((r) => r[0] === "9");
    assert.deepEqual(user9.slice(2, 5), ["New York", "2021-10-17", "New York"]);

    const byDate = run.page("enriched", 0, 1000, "last_login", true).rows.map((r) => r[3]);
    assert.deepEqual(byDate, [...byDate].sort().reverse());
    // Ties keep the table's order, and later pages follow the same sort.
    const page2 = run.page("enriched", 100, 50, "last_login", true);
    assert.equal(page2.rows.length, 10);
    assert.deepEqual(page2.rows.map((r) => r[3]), byDate.slice(100));
    const cities = run.page("enriched", 0, 1000, "city").rows.map((r) => r[2]);
    assert.deepEqual(cities, [...cities].sort());

    assert.throws(() => run.page("enriched", 0, 1, "nope"), { name: "TidemarkError", message: "there is no column `nope`" });
    assert.throws(() => run.page("tables", 0, 1), { name: "TidemarkError", message: /unknown table "tables"/ });
  } finally {
    run.free();
  }
});

for (const format of ["csv", "parquet"]) {
  test(`outputs and report are identical to the native CLI's (${format})`, () => {
    const native = cliOutputs(["--snapshot", `${SEED}/LOAD00000001.csv`, "--changes", SEED], format);
    const seed = seedFiles();
    const run = apply(seed.snapshot, seed.changes);
    try {
      for (const name of ["snapshot", "enriched", "diff"]) {
        const bytes = run.encode(name, format);
        assert.ok(bytes.length > 0);
        assert.ok(Buffer.from(bytes).equals(Buffer.from(native.outputs[name])), `${name}.${format} differs from the CLI's`);
      }
      assert.deepEqual(JSON.parse(run.reportJson()), native.report);
    } finally {
      run.free();
    }
  });
}

test("the enriched CSV matches the golden file row for row", () => {
  const seed = example();
  const run = apply(seed.snapshot, seed.changes);
  try {
    const rows = parseCsv(text(run.encode("enriched", "csv")));
    const golden = parseCsv(readFileSync(join(REPO, "core/tests/golden/seed_enriched.csv"), "utf8"));
    const sortById = (r) => [r[0], ...r.slice(1).sort((a, b) => Number(a[0]) - Number(b[0]))];
    assert.deepEqual(sortById(rows), sortById(golden));
  } finally {
    run.free();
  }
});

test("options: as_of, window, lookup, strict", () => {
  const seed = example();
  const withOptions = (options) => {
    const run = apply(seed.snapshot, seed.changes, options);
    try {
      return { report: run.report(), rows: run.page("enriched", 0, 1000).rows };
    } finally {
      run.free();
    }
  };
  const given = withOptions({ asOf: "2021-12-31", windowDays: 30 });
  assert.equal(given.report.features.as_of, "2021-12-31");
  assert.equal(given.report.features.as_of_source, "given");
  assert.equal(given.report.features.window_days, 30);
  assert.equal(given.report.features.window_start, "2021-12-01");
  assert.ok(given.rows.every((r) => Number(r[6]) === 0), "nobody logged in within 30 days of 2021-12-31");

  const lookup = file("my_cities.csv", "city,state\nAustin,Minnesota\n");
  const looked = withOptions({ lookup });
  assert.equal(looked.report.features.lookup.source, "my_cities.csv");
  assert.equal(looked.rows.find((r) => r[2] === "Austin")[4], "Minnesota");
  assert.equal(looked.rows.find((r) => r[2] === "Seattle")[4], null);
  // A name the lookup did not find: the filter that shows its rows (the core's rule).
  const unmatched = apply(seed.snapshot, seed.changes, { lookup });
  const seattle = unmatched.report().features.lookup.unmatched.find((n) => n.name === "Seattle");
  const filter = unmatched.unmatchedRows("Seattle");
  assert.deepEqual(filter, { filter: "equals", column: { name: "city", side: "shown" }, value: "Seattle" });
  const rows = unmatched.query("enriched", { filters: [filter] }, 0, 100);
  assert.ok(seattle.rows > 0);
  assert.equal(rows.total, seattle.rows);
  assert.ok(rows.rows.every((r) => r[2] === "Seattle"));
  unmatched.free();

  // A duplicate insert is an anomaly, and an error when strict.
  const again = [...seed.changes, file("20211019-000000000.csv", "I,133,Bob Ding,Boston,2021-10-19\n")];
  const lenient = apply(seed.snapshot, again);
  assert.deepEqual(lenient.report().anomalies.map((a) => [a.kind, a.count, a.description]), [
    ["insert_of_existing_key", 1, "insert of a key that already exists (applied as an update)"],
  ]);
  assert.equal(lenient.report().apply.keys_changed_several_times, 1, "several changes to a key are counted, not an anomaly");
  lenient.free();
  assert.throws(() => apply(seed.snapshot, again, { strict: true }), { name: "TidemarkError", message: /strict mode/ });

  assert.throws(() => apply(seed.snapshot, seed.changes, { asOf: "2021-02-30" }), {
    name: "TidemarkError",
    message: 'as_of: "2021-02-30" is not a date: type it as YYYY-MM-DD (2021-10-18), or leave it empty for the date of the newest change',
  });
  for (const windowDays of [-1, 0, 2.5, 3652425]) {
    assert.throws(() => apply(seed.snapshot, seed.changes, { windowDays }), {
      name: "TidemarkError",
      message: `Window: ${windowDays} days is not possible: give a whole number of days from 1 to 3652424, or leave it empty for the spec's window`,
    });
  }
  // A CDC-only task (no full load): the run starts from an empty table of the spec's columns,
  // as the CLI's `apply` without `--snapshot` does.
  const cdcOnly = apply([], seed.changes);
  const cdcReport = cdcOnly.report();
  assert.equal(cdcReport.apply.rows_before, 0);
  assert.ok(cdcReport.apply.rows_after > 0);
  assert.equal(cdcOnly.rowCount("snapshot"), cdcReport.apply.rows_after);
  assert.deepEqual(cdcOnly.columns("snapshot"), ["user_id", "name", "city", "last_login"]);
  cdcOnly.free();
  assert.throws(() => apply([{ name: "LOAD00000001.csv", bytes: "text" }], []), { name: "TidemarkError", message: /must be a Uint8Array/ });
});

test("errors carry the CLI's message, file, row and column", () => {
  const s = scratch();
  try {
    const bad = "I,140,Ann Lee,Austin,2021-10-19\nU,9,Darla Hayes,New York,2021-02-30\n";
    writeFileSync(join(s.dir, "20211019-000000000.csv"), bad);
    const expected = cliError(["--snapshot", `${SEED}/LOAD00000001.csv`, "--changes", join(s.dir, "20211019-000000000.csv")]);
    const seed = seedFiles();
    const name = join(s.dir, "20211019-000000000.csv");
    assert.throws(() => apply(seed.snapshot, [file(name, bad)]), (e) => {
      assert.equal(e.name, "TidemarkError");
      assert.equal(e.message, expected);
      assert.equal(e.message, `${name}, row 2, column \`last_login\`: cannot parse "2021-02-30" as a date (YYYY-MM-DD)`);
      assert.equal(e.file, name);
      assert.equal(e.row, 2);
      assert.equal(e.column, "last_login");
      assert.ok(e instanceof Error);
      return true;
    });

    const badLoad = "0,Herman Zimmerman,Oklahoma city,2020-10-10\n0,Lisa Ray,Columbus,2021-04-01\n";
    writeFileSync(join(s.dir, "LOAD00000001.csv"), badLoad);
    const loadName = join(s.dir, "LOAD00000001.csv");
    const expectedLoad = cliError(["--snapshot", loadName, "--changes", `${SEED}/20211017-194324349.csv`]);
    assert.throws(() => apply([file(loadName, badLoad)], [seed.changes[0]]), { message: expectedLoad, file: loadName, row: 2, column: "user_id" });
  } finally {
    s.remove();
  }
});

test("changes with a sequence keep state, as the CLI's state.parquet", () => {
  const s = scratch();
  try {
    const changes = {
      "20211019-000000000.csv": "U,2021-10-19 12:00:00.000000,3,Steve Goodwin,Denver,2021-10-19\nD,2021-10-19 11:00:00.000000,4,Leah Tran,Detroit,2021-04-05\n",
      "20211020-000000000.csv": "U,2021-10-19 10:00:00.000000,3,Steve Goodwin,Boston,2021-10-19\n",
    };
    for (const [name, content] of Object.entries(changes)) writeFileSync(join(s.dir, name), content);
    const out = join(s.dir, "out");
    const native = cli(["apply", "--snapshot", `${SEED}/LOAD00000001.csv`, "--changes", join(s.dir, "20211019-000000000.csv"), join(s.dir, "20211020-000000000.csv"), "--out", out, "--quiet"]);
    assert.equal(native.status, 0, native.stderr);
    const seed = seedFiles();
    const run = apply(seed.snapshot, Object.entries(changes).map(([name, content]) => file(join(s.dir, name), content)));
    try {
      const report = run.report();
      assert.equal(report.apply.sequence, "timestamp");
      assert.equal(report.features.as_of, "2021-10-19");
      assert.deepEqual(report.anomalies.map((a) => a.kind), []);
      assert.equal(report.apply.keys_changed_several_times, 1);
      assert.ok(run.hasState());
      const state = run.encode("state", "csv");
      assert.ok(Buffer.from(state).equals(readFileSync(join(out, "state.parquet"))), "state.parquet differs from the CLI's");
      assert.ok(Buffer.from(run.encode("diff", "parquet")).equals(readFileSync(join(out, "diff.parquet"))));
      const diff = run.diffPage(0, 10);
      assert.deepEqual(diff.rows.map((r) => [r.change, r.key[0], r.sequence]), [
        ["updated", "3", "2021-10-19 12:00:00.000000"],
        ["deleted", "4", "2021-10-19 11:00:00.000000"],
      ]);
      assert.equal(diff.rows[1].after, null);
    } finally {
      run.free();
    }
    const seedRun = apply(seed.snapshot, seed.changes);
    assert.throws(() => seedRun.encode("state", "parquet"), { message: /no state/ });
    assert.throws(() => seedRun.encode("enriched", "xlsx"), { message: /unknown format "xlsx"/ });
    seedRun.free();
  } finally {
    s.remove();
  }
});

test("changes sharing a commit timestamp all apply, byte for byte as in the CLI", () => {
  const s = scratch();
  try {
    const load = "1,Ann,Austin,2021-01-01\n";
    const t = "2021-10-17 10:00:00.000000";
    const changes = `I,${t},2,Bob,Boston,2021-10-01\nU,${t},2,Bob,Chicago,2021-10-02\nD,${t},2,Bob,Chicago,2021-10-02\n`;
    writeFileSync(join(s.dir, "LOAD00000001.csv"), load);
    writeFileSync(join(s.dir, "20211017-100000000.csv"), changes);
    const native = cliOutputs(["--snapshot", join(s.dir, "LOAD00000001.csv"), "--changes", join(s.dir, "20211017-100000000.csv")], "csv");
    const run = apply([file(join(s.dir, "LOAD00000001.csv"), load)], [file(join(s.dir, "20211017-100000000.csv"), changes)]);
    try {
      assert.equal(run.rowCount("snapshot"), 1, "key 2 was inserted, updated and deleted");
      for (const name of ["snapshot", "enriched", "diff"]) {
        assert.ok(Buffer.from(run.encode(name, "csv")).equals(Buffer.from(native.outputs[name])), `${name} differs from the CLI's`);
      }
      assert.ok(!run.report().anomalies.some((a) => a.kind === "stale_change_ignored"));
    } finally {
      run.free();
    }
  } finally {
    s.remove();
  }
});

test("history: the module writes the CLI's history and change log, byte for byte, over two runs", () => {
  const s = scratch();
  try {
    const spec = cli(["spec"]).stdout + "\n[history]\n";
    writeFileSync(join(s.dir, "users.toml"), spec);
    const changes = {
      "20211019-000000000.csv": "U,2021-10-19 12:00:00.000000,3,Steve Goodwin,Denver,2021-10-19\nD,2021-10-19 11:00:00.000000,4,Leah Tran,Detroit,2021-04-05\n",
      "20211020-000000000.csv": "U,2021-10-19 10:00:00.000000,3,Steve Goodwin,Boston,2021-10-19\n",
    };
    const paths = {};
    for (const [name, content] of Object.entries(changes)) {
      paths[name] = join(s.dir, name);
      writeFileSync(paths[name], content);
    }
    const out = join(s.dir, "out");
    const specFile = file(join(s.dir, "users.toml"), spec);
    const seed = seedFiles();
    // First run: the load and the first file; second run: the earlier run's folder and the
    // second file, which is late for key 3 (its update lands in the history, not the table).
    let native = cli(["apply", "--spec", join(s.dir, "users.toml"), "--snapshot", `${SEED}/LOAD00000001.csv`, "--changes", paths["20211019-000000000.csv"], "--out", out, "--quiet"]);
    assert.equal(native.status, 0, native.stderr);
    const first = apply(seed.snapshot, [file(paths["20211019-000000000.csv"], changes["20211019-000000000.csv"])], { spec: specFile });
    const same = (bytes, name) => assert.ok(Buffer.from(bytes).equals(readFileSync(join(out, name))), `${name} differs from the CLI's`);
    assert.ok(first.hasHistory());
    same(first.encode("history", "parquet"), "history.parquet");
    same(first.encode("change_log", "parquet"), "change_log.parquet");
    const carried = {
      snapshot: { name: join(out, "snapshot.parquet"), bytes: first.encode("snapshot", "parquet") },
      state: { name: join(out, "state.parquet"), bytes: first.encode("state", "parquet") },
      changeLog: { name: join(out, "change_log.parquet"), bytes: first.encode("change_log", "parquet") },
    };
    first.free();

    native = cli(["apply", "--spec", join(s.dir, "users.toml"), "--snapshot", out, "--changes", paths["20211020-000000000.csv"], "--out", out, "--quiet"]);
    assert.equal(native.status, 0, native.stderr);
    const second = apply([carried.snapshot], [file(paths["20211020-000000000.csv"], changes["20211020-000000000.csv"])],
      { spec: specFile, state: carried.state, changeLog: carried.changeLog });
    try {
      same(second.encode("history", "parquet"), "history.parquet");
      same(second.encode("change_log", "parquet"), "change_log.parquet");
      // Key 3: the load's row, the late Boston update at its place, then Denver, current.
      const page = second.page("history", 0, 200);
      const at = (name) => page.columns.indexOf(name);
      const three = page.rows.filter((r) => r[at("user_id")] === "3").map((r) => [r[at("city")], r[at("is_current")]]);
      assert.deepEqual(three, [["Charlotte", "false"], ["Boston", "false"], ["Denver", "true"]]);
    } finally {
      second.free();
    }
    const seedRun = apply(seed.snapshot, seed.changes);
    assert.ok(!seedRun.hasHistory());
    assert.throws(() => seedRun.encode("change_log", "parquet"), { message: /no history/ });
    seedRun.free();
  } finally {
    s.remove();
  }
});
