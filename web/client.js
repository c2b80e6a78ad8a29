// The page's side of worker.js: the module's API as promises.

/** @typedef {import("./pkg/tidemark.js").InputFile} InputFile */
/** @typedef {import("./pkg/tidemark.js").ApplyOptions} ApplyOptions */
/** @typedef {import("./pkg/tidemark.js").Progress} Progress */
/** @typedef {import("./pkg/tidemark.js").Report} Report */
/** @typedef {import("./pkg/tidemark.js").Page} Page */
/** @typedef {import("./pkg/tidemark.js").DiffPage} DiffPage */
/** @typedef {import("./pkg/tidemark.js").OrderedName} OrderedName */
/** @typedef {{ report: Report, rows: { snapshot: number, enriched: number | null, diff: number }, hasState: boolean }} RunSummary */

/** What the module threw: the CLI's message, with the file, row and column when known. */
export class TidemarkError extends Error {
  constructor({ name, message, file = null, row = null, column = null }) {
    super(message);
    this.name = name ?? "TidemarkError";
    /** @type {string | null} */ this.file = file;
    /** @type {number | null} */ this.row = row;
    /** @type {string | null} */ this.column = column;
  }
}

export class Tidemark {
  /** @param {(progress: Progress) => void} onProgress */
  constructor(onProgress = () => {}) {
    this.onProgress = onProgress;
    this.pending = new Map();
    this.nextId = 1;
    this.start();
  }

  start() {
    this.worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    this.worker.onmessage = ({ data }) => {
      if (data.progress) {
        this.onProgress(data.progress);
        return;
      }
      const call = this.pending.get(data.id);
      if (!call) return;
      this.pending.delete(data.id);
      if (data.ok) {
        call.resolve(data.result);
      } else {
        if (data.error.fatal) this.restart();
        call.reject(new TidemarkError(data.error));
      }
    };
    this.worker.onerror = (event) => {
      event.preventDefault();
      const error = new TidemarkError({ name: "Error", message: `the module could not start: ${event.message ?? "unknown error"}` });
      for (const call of this.pending.values()) call.reject(error);
      this.pending.clear();
    };
  }

  /** After a panic the module's memory cannot be trusted: start again. */
  restart() {
    this.worker.terminate();
    const lost = new TidemarkError({ name: "InternalError", message: "the module restarted" });
    for (const call of this.pending.values()) call.reject(lost);
    this.pending.clear();
    this.start();
  }

  call(method, params = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, method, params });
    });
  }

  /** @returns {Promise<string>} */
  version() {
    return this.call("version");
  }

  /** @param {string[]} names @returns {Promise<OrderedName[]>} */
  order(names) {
    return this.call("order", { names });
  }

  /** @returns {Promise<{ snapshot: InputFile[], changes: InputFile[] }>} */
  example() {
    return this.call("example");
  }

  /** Every kind of change, with its label and meaning. @returns {Promise<ChangeKindInfo[]>} */
  changeKinds() {
    return this.call("changeKinds");
  }

  /**
   * @param {InputFile[]} snapshot @param {InputFile[]} changes @param {ApplyOptions} options
   * @returns {Promise<RunSummary>}
   */
  apply(snapshot, changes, options) {
    return this.call("apply", { snapshot, changes, options });
  }

  /** @returns {Promise<Page>} */
  page(table, offset, limit, sortBy = null, descending = false) {
    return this.call("page", { table, offset, limit, sortBy, descending });
  }

  /** @returns {Promise<DiffPage>} */
  diffPage(offset, limit, change = null) {
    return this.call("diffPage", { offset, limit, change });
  }

  /** Touched keys a query (search, filters, facets, sort) selects, a page of them.
   * @param {import("./pkg/tidemark.js").RowQuery} query @returns {Promise<DiffPage>} */
  diffQuery(query, offset, limit) {
    return this.call("diffQuery", { query, offset, limit });
  }

  /** Rows of a table a query selects, a page of them. @returns {Promise<Page>} */
  query(table, query, offset, limit) {
    return this.call("query", { table, query, offset, limit });
  }

  /** The diff's facets under a query's filters. @returns {Promise<import("./pkg/tidemark.js").Facets>} */
  facets(query) {
    return this.call("facets", { query });
  }

  /** The filter that shows the enriched rows of a name the lookup did not find (the core's
   * rule), or null without features. @returns {Promise<import("./pkg/tidemark.js").Filter | null>} */
  unmatchedRows(name) {
    return this.call("unmatchedRows", { name });
  }

  /** Every version of one key (its key values as the diff shows them), in order. */
  keyHistory(key) {
    return this.call("keyHistory", { key });
  }

  /**
   * @param {"snapshot" | "enriched" | "diff" | "state" | "report"} output
   * @param {"parquet" | "csv"} format
   * @returns {Promise<Uint8Array>}
   */
  encode(output, format) {
    return this.call("encode", { output, format });
  }
}
