// What the browser tests share: where things are, the native CLI, and a CSV reader.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = resolve(fileURLToPath(new URL("../../", import.meta.url)));
export const TARGET_DIR = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache/tidemark/target");
export const SEED = "core/data/seed";

/** The native `tidemark` program (debug build unless TIDEMARK_CLI names another). */
export const CLI = process.env.TIDEMARK_CLI ?? join(TARGET_DIR, "debug", "tidemark");

/** Runs the CLI from the repository root; returns { status, stdout, stderr }. */
export function cli(args, cwd = REPO) {
  const run = spawnSync(CLI, args, { cwd, encoding: "utf8" });
  if (run.error) throw new Error(`cannot run ${CLI} (build it with cargo build -p tidemark): ${run.error.message}`);
  return run;
}

/** A temporary directory, removed by the returned function. */
export function scratch() {
  const dir = mkdtempSync(join(tmpdir(), "tidemark-web-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The seed files as the CLI names them when given `core/data/seed` (paths from the repo root). */
export function seedFiles() {
  const names = readdirSync(join(REPO, SEED)).sort();
  const file = (name) => ({ name: `${SEED}/${name}`, bytes: new Uint8Array(readFileSync(join(REPO, SEED, name))) });
  return {
    snapshot: names.filter((n) => n.startsWith("LOAD")).map(file),
    changes: names.filter((n) => !n.startsWith("LOAD")).map(file),
  };
}

/** Parses CSV (RFC 4180: quoted fields, doubled quotes, newlines in quotes) into rows of strings. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else {
      field += c;
    }
  }
  if (field !== "" || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
