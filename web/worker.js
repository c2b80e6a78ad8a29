// The Web Worker that runs the module, so the page stays responsive while it works.
// It keeps the last run in the module's memory and answers the page's requests about it.
// Protocol: the page posts { id, method, params }; the worker answers { id, ok, result } or
// { id, ok: false, error }, and posts { progress } while a run goes on.

import init, { apply, applyOrder, changeKinds, example, lastPanic, version } from "./pkg/tidemark.js";

const ready = init();

/** @type {import("./pkg/tidemark.js").Run | null} */
let run = null;

/** What the page needs to know about a finished run. */
function summary() {
  const rows = { snapshot: run.rowCount("snapshot"), diff: run.rowCount("diff") };
  try {
    rows.enriched = run.rowCount("enriched");
  } catch {
    rows.enriched = null;
  }
  rows.history = run.hasHistory() ? run.rowCount("history") : null;
  return { report: run.report(), rows, hasState: run.hasState() };
}

function current() {
  if (!run) throw Object.assign(new Error("nothing applied yet"), { name: "TidemarkError" });
  return run;
}

const methods = {
  version: () => version(),
  order: ({ names }) => applyOrder(names),
  example: () => example(),
  changeKinds: () => changeKinds(),
  apply({ snapshot, changes, options }) {
    if (run) {
      run.free();
      run = null;
    }
    run = apply(snapshot, changes, options, (progress) => postMessage({ progress }));
    return summary();
  },
  page: ({ table, offset, limit, sortBy, descending }) =>
    current().page(table, offset, limit, sortBy ?? undefined, descending ?? undefined),
  diffPage: ({ offset, limit, change }) => current().diffPage(offset, limit, change ?? undefined),
  diffQuery: ({ query, offset, limit }) => current().diffQuery(query, offset, limit),
  query: ({ table, query, offset, limit }) => current().query(table, query, offset, limit),
  facets: ({ query }) => current().facets(query),
  keyHistory: ({ key }) => current().keyHistory(key),
  unmatchedRows: ({ name }) => current().unmatchedRows(name),
  encode: ({ output, format }) =>
    output === "report" ? new TextEncoder().encode(current().reportJson() + "\n") : current().encode(output, format),
};

/** The buffers in a result, to move to the page rather than copy. */
function transferables(value) {
  if (value instanceof Uint8Array) return [value.buffer];
  if (value && Array.isArray(value.snapshot)) {
    return [...value.snapshot, ...value.changes].map((f) => f.bytes.buffer);
  }
  return [];
}

self.onmessage = async (event) => {
  const { id, method, params } = event.data;
  try {
    await ready;
    const result = methods[method](params ?? {});
    postMessage({ id, ok: true, result }, transferables(result));
  } catch (e) {
    let error;
    if (e instanceof WebAssembly.RuntimeError) {
      // A panic: a bug in the module, never a bad input. The page starts a fresh worker.
      let message = e.message;
      try {
        message = lastPanic() ?? message;
      } catch {
        // The module is in no state to answer.
      }
      error = { name: "InternalError", message: `internal error: ${message}`, fatal: true };
      run = null;
    } else {
      error = {
        name: e?.name ?? "Error",
        message: e?.message ?? String(e),
        file: e?.file ?? null,
        row: e?.row ?? null,
        column: e?.column ?? null,
      };
    }
    postMessage({ id, ok: false, error });
  }
};
