// The page: gathers files and options, runs the module in a worker (client.js), shows the
// report, the diff and the tables, and offers the outputs for download. No framework.

import { Tidemark } from "./client.js";

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

const PAGE_SIZE = 50;
const ROLES = {
  snapshot: "Snapshot",
  changes: "Changes",
  lookup: "Lookup",
  state: "State",
  spec: "Spec",
  ignore: "Ignore",
};
const DATA_FILE = /\.(csv|csv\.gz|gz|parquet|parq|toml)$/i;

const state = {
  /** @type {{ name: string, size: number, role: string, time: string | null, read: () => Promise<Uint8Array> }[]} */
  files: [],
  /** The files in apply order, as the module sorts them. */
  order: [],
  /** @type {import("./client.js").RunSummary | null} */
  result: null,
  running: false,
  tab: "diff",
  offset: 0,
  diffFilter: null,
  /** Per tab: the key search and the column and facet filters (the module's `Filter`s). */
  query: {
    diff: { key: "", prefix: false, filters: [] },
    enriched: { key: "", prefix: false, filters: [] },
    snapshot: { key: "", prefix: false, filters: [] },
    history: { key: "", prefix: false, filters: [] },
  },
  /** Per tab: the sorted header; `by` is the module's `SortBy`, `header` the header's name. */
  sort: { diff: null, enriched: null, snapshot: null, history: null },
  /** Per tab: the widths of the columns a reader resized, by header. */
  widths: { diff: {}, enriched: {}, snapshot: {}, history: {} },
  /** The header whose sort the next render answers ("Sorting … by city…"). */
  sorting: null,
  /** Which render is the newest: an older one's answer is dropped. */
  renderId: 0,
  totalBytes: 0,
  decodedBytes: 0,
  pageTotal: 0,
};

const progressView = { bar: $("#progress .bar span"), text: $("#progress p") };
const tidemark = new Tidemark(showProgress);

// ---------------------------------------------------------------------------------------------
// Formatting

const number = (n) => n.toLocaleString("en-US");
const plural = (n, one, many = `${one}s`) => `${number(n)} ${n === 1 ? one : many}`;
const baseName = (path) => path.split(/[\\/]/).pop();

function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 ** 2).toFixed(1)} MB`;
}

/** Builds an element: el("td", { class: "num" }, "12"). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === false || value == null) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// ---------------------------------------------------------------------------------------------
// Files

/** What a file probably is, from its name; the user can change it. */
function guessRole(name, kind) {
  const base = baseName(name).toLowerCase();
  if (base.endsWith(".toml")) return "spec";
  if (base === "state.parquet") return "state";
  if (kind === "load" || base.startsWith("snapshot.") || base.startsWith("snapshot_")) return "snapshot";
  if (kind === "changes") return "changes";
  if (/(cit(y|ies)|lookup|reference)/.test(base)) return "lookup";
  return "changes";
}

async function addFiles(entries) {
  for (const entry of entries) {
    const existing = state.files.findIndex((f) => f.name === entry.name);
    if (existing >= 0) state.files.splice(existing, 1);
    state.files.push({ ...entry, role: null, time: null });
  }
  await refreshOrder();
  for (const file of state.files) {
    if (file.role === null) file.role = guessRole(file.name, file.kind);
  }
  renderFiles();
  hideError();
}

async function refreshOrder() {
  const ordered = await tidemark.order(state.files.map((f) => f.name));
  const byName = new Map(state.files.map((f) => [f.name, f]));
  state.order = ordered.map((o) => Object.assign(byName.get(o.name), { kind: o.kind, time: o.time }));
}

function fromFile(file, name = file.webkitRelativePath || file.name) {
  return { name, size: file.size, read: async () => new Uint8Array(await file.arrayBuffer()) };
}

function fromBytes({ name, bytes }) {
  return { name, size: bytes.length, read: async () => bytes };
}

/** Files and folders dropped on the page; folders are searched (DMS writes date folders). */
async function droppedFiles(dataTransfer) {
  const entries = [...dataTransfer.items].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  if (entries.length === 0) return [...dataTransfer.files].map((f) => fromFile(f));
  const found = [];
  const walk = async (entry, topLevel) => {
    if (entry.name.startsWith(".")) return;
    if (entry.isFile) {
      if (!topLevel && !DATA_FILE.test(entry.name)) return;
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      found.push(fromFile(file, entry.fullPath.replace(/^\//, "")));
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child, false);
      }
    }
  };
  for (const entry of entries) await walk(entry, true);
  return found;
}

function renderFiles() {
  const body = $("#files tbody");
  body.replaceChildren();
  $("#files-panel").hidden = state.files.length === 0;
  const counts = new Map((state.result?.report.changes ?? []).map((c) => [c.file, c]));
  const rank = { snapshot: 0, state: 1, changes: 2, lookup: 3, spec: 4, ignore: 5 };
  const shown = [...state.order].sort((a, b) => rank[a.role] - rank[b.role]);
  for (const file of shown) {
    const select = el(
      "select",
      { "aria-label": `Role of ${file.name}`, class: `role role-${file.role}` },
      Object.entries(ROLES).map(([value, label]) => el("option", { value, selected: value === file.role }, label)),
    );
    select.addEventListener("change", () => {
      file.role = select.value;
      renderFiles();
    });
    const applied = counts.get(file.name);
    const details = [bytes(file.size)];
    if (applied && file.role === "changes") {
      details.push(`${plural(applied.rows, "row")}: ${number(applied.inserts)} I · ${number(applied.updates)} U · ${number(applied.deletes)} D`);
    }
    body.append(
      el(
        "tr",
        { class: file.role === "ignore" ? "ignored" : null },
        el("td", {}, select),
        el("td", { class: "file" },
          el("span", { class: "name", title: file.time ? `${file.name}: written ${file.time}` : file.name }, baseName(file.name)),
          el("span", { class: "detail" }, details.join(" · "))),
      ),
    );
  }
  const hasSnapshot = state.files.some((f) => f.role === "snapshot");
  const apply = $("#apply");
  apply.disabled = state.running || !hasSnapshot;
  apply.title = hasSnapshot ? "" : "Add a snapshot first";
}

// ---------------------------------------------------------------------------------------------
// Running

function readOptions() {
  const windowText = $("#window").value.trim();
  return {
    asOf: $("#as-of").value.trim() || null,
    windowDays: windowText === "" ? null : Number(windowText),
    strict: $("#strict").checked,
  };
}

async function run() {
  if (state.running) return;
  const chosen = (role) => state.order.filter((f) => f.role === role);
  const read = async (files) => Promise.all(files.map(async (f) => ({ name: f.name, bytes: await f.read() })));
  const single = async (role) => (await read(chosen(role).slice(0, 1)))[0] ?? null;
  state.running = true;
  renderFiles();
  hideError();
  const inputs = [...chosen("snapshot"), ...chosen("state"), ...chosen("changes")];
  state.totalBytes = inputs.reduce((sum, f) => sum + f.size, 0);
  state.decodedBytes = 0;
  showProgress({ stage: "start" });
  try {
    const [snapshot, changes, lookup, stateFile, spec] = await Promise.all([
      read(chosen("snapshot")),
      read(chosen("changes")),
      single("lookup"),
      single("state"),
      single("spec"),
    ]);
    const options = { ...readOptions(), lookup, state: stateFile, spec };
    const started = performance.now();
    state.result = await tidemark.apply(snapshot, changes, options);
    state.result.seconds = (performance.now() - started) / 1000;
    state.offset = 0;
    state.sort = { diff: null, enriched: null, snapshot: null, history: null };
    $("#key-history").hidden = true;
    if (state.result.rows.enriched == null && state.tab === "enriched") state.tab = "diff";
    if (state.result.rows.history == null && state.tab === "history") state.tab = "diff";
    await renderResult();
  } catch (error) {
    showError(error);
  } finally {
    state.running = false;
    $("#progress").hidden = true;
    renderFiles();
  }
}

function showProgress(progress) {
  const box = $("#progress");
  box.hidden = false;
  let fraction = 0;
  let text = "Starting";
  switch (progress.stage) {
    case "decode":
      fraction = state.totalBytes ? (0.7 * state.decodedBytes) / state.totalBytes : 0;
      state.decodedBytes += progress.bytes;
      text = `Reading ${baseName(progress.file)} (${progress.index + 1} of ${progress.total}, ${bytes(progress.bytes)})`;
      break;
    case "apply":
      fraction = 0.72;
      text = "Applying changes";
      break;
    case "enrich":
      fraction = 0.85;
      text = "Computing features";
      break;
    case "done":
      fraction = 0.97;
      text = "Preparing the preview";
      break;
    case "encode":
      fraction = 0.5;
      text = progress.text;
      break;
  }
  progressView.bar.style.width = `${Math.round(fraction * 100)}%`;
  progressView.text.textContent = text;
}

function showError(error) {
  const box = $("#error");
  box.hidden = false;
  $(".message", box).textContent = error.message;
  const where = $(".where", box);
  where.replaceChildren();
  const parts = [
    ["file", error.file],
    ["row", error.row],
    ["column", error.column],
  ].filter(([, v]) => v != null);
  for (const [label, value] of parts) {
    where.append(el("span", { class: "chip", "data-field": label }, el("span", { class: "muted" }, label), " ", String(value)));
  }
  if (!state.result) $("#empty").hidden = true;
  box.scrollIntoView({ block: "nearest" });
}

function hideError() {
  $("#error").hidden = true;
  if (!state.result) $("#empty").hidden = false;
}

// ---------------------------------------------------------------------------------------------
// Results

async function renderResult() {
  const { report, rows, hasState } = state.result;
  $("#empty").hidden = true;
  $("#result").hidden = false;
  const a = report.apply;
  $("#summary-title").textContent = `${report.table}: ${plural(a.changes, "change")} from ${plural(report.changes.length, "file")}`;
  const card = (label, value, kind, note) =>
    el("div", { class: `count ${kind ?? ""}`, "data-count": kind ?? label.toLowerCase() },
      el("span", { class: value.length > 14 ? "value long" : "value" }, value), el("span", { class: "label" }, label), note ? el("span", { class: "note" }, note) : null);
  $("#counts").replaceChildren(
    card("Rows", `${number(a.rows_before)} → ${number(a.rows_after)}`, "rows"),
    card("Inserted", number(a.outcome.inserted), "inserted"),
    card("Updated", number(a.outcome.updated), "updated"),
    card("Deleted", number(a.outcome.deleted), "deleted"),
    card("Unchanged", number(a.outcome.unchanged), "unchanged"),
    card("Inserted and deleted", number(a.outcome.inserted_and_deleted), "inserted_and_deleted"),
  );
  const f = report.features;
  const order = a.sequence ? `in ${a.sequence} sequence order` : "in file name order, then row";
  $("#as-of-line").replaceChildren(
    ...(f
      ? [el("strong", {}, `as_of ${f.as_of}`), ` (${f.as_of_source}) · window ${f.window_days} days from ${f.window_start} · ${plural(f.groups, "group")}`, el("br")]
      : []),
    `Applied ${order}, in ${state.result.seconds.toFixed(2)} s.`,
  );
  renderAnomalies(report);
  renderLookup(f?.lookup);
  renderColumnChanges(a.columns);
  $("[data-download=state]").closest(".download").hidden = !hasState;
  for (const status of $$("[data-download-status]")) status.hidden = true;
  const tabCounts = { diff: rows.diff, enriched: rows.enriched, snapshot: rows.snapshot, history: rows.history };
  for (const tab of $$(".tabs [data-tab]")) {
    const n = tabCounts[tab.dataset.tab];
    tab.hidden = n == null;
    $(".count", tab).textContent = n == null ? "" : number(n);
  }
  renderFiles();
  await renderTab();
}

function renderAnomalies(report) {
  const box = $("#anomalies");
  if (report.anomalies.length === 0) {
    box.replaceChildren(el("p", { class: "ok" }, "No anomalies: every change matched the table as expected."));
    return;
  }
  box.replaceChildren(
    el("h3", {}, "Anomalies"),
    el("ul", { class: "anomalies" },
      report.anomalies.map((an) =>
        el("li", { "data-kind": an.kind },
          el("strong", {}, `${number(an.count)} × `), an.description,
          el("span", { class: "examples" },
            "e.g. ", an.examples.flatMap((e, i) => [
              i > 0 ? "; " : null,
              el("button", { type: "button", class: "link", title: `Show key ${e.key} in the diff`, onclick: () => findKey(e.key) }, `key ${e.key}`),
              ` (${baseName(e.file)}, row ${e.row})`,
            ]))))),
  );
}

/** The lookup: names it did not find first, in the open, each with its rows (those rows get no
 * lookup value and their group's features are computed under the unknown name); then, folded,
 * the ambiguous names and the place chosen for each. */
function renderLookup(lookup) {
  const box = $("#lookup");
  box.replaceChildren();
  if (!lookup) return;
  if (lookup.unmatched.length) {
    const rows = lookup.unmatched.reduce((sum, n) => sum + n.rows, 0);
    box.append(
      el("div", { class: "unmatched", role: "note", "aria-label": "Names the lookup did not find" },
        el("h3", {}, `${plural(lookup.unmatched.length, "name")} not found in the lookup: ${plural(rows, "row")} left without a value`),
        el("ul", { class: "unmatched-names" },
          lookup.unmatched.map((n) =>
            el("li", { "data-name": n.name },
              el("button", {
                type: "button",
                class: "link",
                title: `${n.name}: ${plural(n.rows, "row")} without a lookup value. Show them in the enriched table`,
                onclick: () => showUnmatchedRows(n.name),
              }, el("strong", {}, n.name)),
              " ", el("span", { class: "rows" }, plural(n.rows, "row")))))),
    );
  }
  const items = [];
  if (lookup.ambiguous.length) {
    items.push(el("li", {}, el("strong", {}, "Ambiguous, most populous chosen: "),
      lookup.ambiguous.map((n) => `${n.name} → ${n.chosen}`).join(", ")));
  }
  box.append(
    el("details", { class: "lookup" },
      el("summary", {}, `Lookup ${lookup.source}: ${plural(lookup.matched_rows, "row")} matched, ${lookup.unmatched.length} not found, ${lookup.ambiguous.length} ambiguous`),
      items.length ? el("ul", {}, items) : el("p", { class: "muted" }, "Every name found matched one place.")),
  );
}

/** What the updates did to each column (the report's per-column statistics), most changed first. */
function renderColumnChanges(columns) {
  const box = $("#column-changes");
  const changed = columns.filter((c) => c.changed > 0).sort((a, b) => b.changed - a.changed);
  if (changed.length === 0) {
    box.replaceChildren();
    return;
  }
  const value = (v) => v ?? "NULL";
  box.replaceChildren(
    el("details", { class: "lookup column-changes" },
      el("summary", {}, `Columns the updates changed: ${changed.length}`),
      el("table", { class: "column-stats" },
        el("thead", {}, el("tr", {}, el("th", {}, "column"), el("th", {}, "updates"), el("th", {}, "to NULL"), el("th", {}, "most frequent old → new"))),
        el("tbody", {}, changed.map((c) =>
          el("tr", { "data-column": c.column },
            el("td", {}, el("button", {
              type: "button",
              class: "link",
              title: `Show the keys whose ${c.column} changed`,
              onclick: () => {
                state.tab = "diff";
                const filter = { filter: "changed", column: c.column };
                if (!state.query.diff.filters.some((f) => sameFilter(f, filter))) toggleFilter("diff", filter);
                state.offset = 0;
                renderTab();
              },
            }, c.column)),
            el("td", { class: "num" }, number(c.changed)),
            el("td", { class: "num" }, number(c.became_null)),
            el("td", { class: "transitions" },
              c.top_transitions.map((t) => `${value(t.before)} → ${value(t.after)} ×${number(t.count)}`).join(", "))))))),
  );
}

/** The module's `RowQuery` for a tab: its key search, kind, column and facet filters, sort. */
function queryOf(tab) {
  const q = state.query[tab];
  const filters = [];
  if (q.key.trim() !== "") filters.push({ filter: "key", text: q.key, prefix: q.prefix });
  if (tab === "diff" && state.diffFilter) filters.push({ filter: "kind", kind: state.diffFilter });
  filters.push(...q.filters);
  const sort = state.sort[tab];
  return { filters, sort: sort ? { by: sort.by, descending: sort.descending } : null };
}

/** Shows "Working…" (or what is being done, "Sorting by city…") when an action takes over
 * 100 ms; call the returned function when done. */
function busySign(label = "Working…") {
  const grid = $("#grid");
  const timer = setTimeout(() => {
    $("#busy").textContent = label;
    $("#busy").hidden = false;
    grid.setAttribute("aria-busy", "true");
  }, 100);
  return () => {
    clearTimeout(timer);
    $("#busy").hidden = true;
    grid.removeAttribute("aria-busy");
  };
}

async function renderTab() {
  for (const tab of $$(".tabs [data-tab]")) tab.setAttribute("aria-selected", String(tab.dataset.tab === state.tab));
  const grid = $("#grid");
  grid.dataset.table = state.tab;
  $("#diff-filter").hidden = state.tab !== "diff";
  $("#facets").hidden = state.tab !== "diff";
  $("#filter-side").hidden = state.tab !== "diff";
  const q = state.query[state.tab];
  $("#key-search").value = q.key;
  $("#key-prefix").checked = q.prefix;
  const id = ++state.renderId;
  const sorting = state.sorting;
  state.sorting = null;
  const done = busySign(sorting ? `Sorting ${plural(state.pageTotal, "row")} by ${sorting}…` : "Working…");
  const query = queryOf(state.tab);
  let total;
  try {
    if (state.tab === "diff") {
      const [page, facets] = await Promise.all([
        tidemark.diffQuery(query, state.offset, PAGE_SIZE),
        tidemark.facets(query),
      ]);
      if (id !== state.renderId) return;
      await renderDiffFilter(facets);
      renderFacets(facets);
      total = page.total;
      renderDiff(grid, page);
      applyWidths(grid);
      renderFilterColumns([...page.key, ...page.columns]);
    } else {
      const page = await tidemark.query(state.tab, query, state.offset, PAGE_SIZE);
      if (id !== state.renderId) return;
      total = page.total;
      renderTable(grid, page, state.sort[state.tab]);
      applyWidths(grid);
      renderFilterColumns(page.columns);
    }
    $("#query-error").hidden = true;
  } catch (error) {
    if (id !== state.renderId) return;
    $("#query-error").textContent = error.message;
    $("#query-error").hidden = false;
    total = 0;
    grid.replaceChildren();
  } finally {
    done();
  }
  renderActiveFilters();
  const end = Math.min(state.offset + PAGE_SIZE, total);
  $("#pager-text").textContent = total === 0 ? "No rows" : `Rows ${number(state.offset + 1)}–${number(end)} of ${number(total)}`;
  const [first, prev, next, last] = $$(".pager [data-page]");
  first.disabled = prev.disabled = state.offset === 0;
  next.disabled = last.disabled = end >= total;
  state.pageTotal = total;
}

/** The columns the filter bar offers: those of the table shown. */
function renderFilterColumns(columns) {
  const select = $("#filter-column");
  const chosen = select.value;
  const current = [...select.options].map((o) => o.value);
  if (current.join("\n") !== columns.join("\n")) {
    select.replaceChildren(...columns.map((c) => el("option", { value: c }, c)));
  }
  if (columns.includes(chosen)) select.value = chosen;
}

/** A filter in words, for its chip. */
function describeFilter(f) {
  const column = (c) => (c.side && c.side !== "shown" ? `${c.name} ${c.side}` : c.name);
  switch (f.filter) {
    case "contains": return `${column(f.column)} contains "${f.text}"`;
    case "equals": return `${column(f.column)} = ${f.value}`;
    case "range": return `${column(f.column)} between ${f.min ?? "…"} and ${f.max ?? "…"}`;
    case "source_file": return `from ${baseName(f.file)}`;
    case "changed": return `${f.column} changed`;
    default: return JSON.stringify(f);
  }
}

function renderActiveFilters() {
  const q = state.query[state.tab];
  $("#active-filters").replaceChildren(
    ...q.filters.map((f, i) =>
      el("button", {
        type: "button",
        class: "chip filter",
        "aria-pressed": "true",
        title: "Remove this filter",
        "data-filter": f.filter,
        onclick: () => {
          q.filters.splice(i, 1);
          state.offset = 0;
          renderTab();
        },
      }, `${describeFilter(f)} ✖`)),
  );
}

const sameFilter = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** Adds a filter to the tab's, or takes it off when it is on (a facet clicked again). */
function toggleFilter(tab, filter) {
  const filters = state.query[tab].filters;
  const at = filters.findIndex((f) => sameFilter(f, filter));
  if (at >= 0) filters.splice(at, 1);
  else filters.push(filter);
  state.offset = 0;
}

/** The diff's facets: the files the keys' last changes came from and the columns the updates
 * changed, each with its count under the other filters; a click filters by it. */
function renderFacets(facets) {
  const on = (filter) => state.query.diff.filters.some((f) => sameFilter(f, filter));
  const chip = (filter, label, count, kind) =>
    el("button", {
      type: "button",
      class: "chip filter",
      "data-facet": kind,
      "data-value": kind === "file" ? filter.file : filter.column,
      "aria-pressed": String(on(filter)),
      disabled: count === 0 && !on(filter),
      onclick: () => {
        toggleFilter("diff", filter);
        renderTab();
      },
    }, `${label} `, el("span", { class: "muted" }, number(count)));
  $("#facets").replaceChildren(
    el("div", { class: "facet", role: "group", "aria-label": "Changed column" },
      el("span", { class: "muted" }, "Changed:"),
      facets.changed.map((c) => chip({ filter: "changed", column: c.value }, c.value, c.count, "changed"))),
    el("div", { class: "facet", role: "group", "aria-label": "Source file" },
      el("span", { class: "muted" }, "From:"),
      // The core lists only the files some selected row came from; a file chosen earlier
      // stays, with 0, so that it can be taken off here too.
      [...facets.files, ...state.query.diff.filters
        .filter((f) => f.filter === "source_file" && !facets.files.some((c) => c.value === f.file))
        .map((f) => ({ value: f.file, count: 0 }))]
        .map((f) => chip({ filter: "source_file", file: f.value }, baseName(f.value), f.count, "file"))),
  );
}

/** Shows the enriched rows of a name the lookup did not find: the module's filter for them. */
async function showUnmatchedRows(name) {
  const filter = await tidemark.unmatchedRows(name);
  if (!filter) return;
  state.tab = "enriched";
  state.query.enriched = { key: "", prefix: false, filters: [filter] };
  state.offset = 0;
  renderTab();
  $("#grid").scrollIntoView({ block: "nearest" });
}

/** Shows one key in the diff: a search for it (an anomaly's example). */
function findKey(key) {
  state.tab = "diff";
  state.diffFilter = null;
  state.query.diff = { key, prefix: false, filters: [] };
  state.offset = 0;
  renderTab();
  $("#grid").scrollIntoView({ block: "nearest" });
}

/** The kinds of change as the module names and explains them (fetched once). */
async function changeKinds() {
  state.changeKinds ??= await tidemark.changeKinds();
  return state.changeKinds;
}

/** The kind chips, counted under the other filters (the facets' kinds). */
async function renderDiffFilter(facets) {
  const kinds = await changeKinds();
  const counts = new Map(facets.kinds.map((c) => [c.value, c.count]));
  const all = facets.kinds.reduce((sum, c) => sum + c.count, 0);
  const chips = [
    [null, "All", all, "Every key the changes touched."],
    ...kinds.map((k) => [k.kind, k.label, counts.get(k.kind) ?? 0, k.meaning]),
  ];
  $("#diff-filter").replaceChildren(
    ...chips.map(([kind, label, n, meaning]) =>
      el("button", {
        type: "button",
        class: `chip filter ${kind ?? "all"}`,
        "data-kind": kind ?? "all",
        title: meaning,
        "aria-pressed": String(state.diffFilter === kind),
        disabled: n === 0 && kind !== null && state.diffFilter !== kind,
        onclick: () => {
          state.diffFilter = kind;
          state.offset = 0;
          renderTab();
        },
      }, `${label} `, el("span", { class: "muted" }, number(n)))),
    el("details", { class: "legend", id: "kind-legend" },
      el("summary", {}, "What the kinds mean"),
      el("dl", {}, kinds.flatMap((k) => [
        el("dt", {}, el("span", { class: `badge ${k.kind}` }, k.kind)),
        el("dd", {}, k.meaning),
      ]))),
  );
}

const looksNumeric = (v) => v != null && /^-?\d+(\.\d+)?(e-?\d+)?$/i.test(v);

/** A fraction with more than four decimals (a rate: 0.3333333333333333) shows four
 * (0.3333); the cell's title and every download keep the value whole. */
function compact(value) {
  if (value == null || !/^-?\d+\.\d{5,}$/.test(value)) return value;
  return String(Number(Number(value).toFixed(4)));
}

function valueCell(value, attributes = {}) {
  if (value === null) return el("td", { ...attributes, class: `${attributes.class ?? ""} null` }, "NULL");
  return el("td", { ...attributes, title: value, class: `${attributes.class ?? ""} ${looksNumeric(value) ? "num" : ""}` }, compact(value));
}

/** Column widths a reader dragged, per tab and column; once one is set, the grid's layout is
 * fixed at the widths shown (long values are cut with an ellipsis, whole in their title). */
function applyWidths(grid) {
  const widths = state.widths[grid.dataset.table] ?? {};
  const headers = $$(":scope > thead th", grid);
  if (Object.keys(widths).length === 0) {
    grid.style.tableLayout = "";
    grid.style.width = "";
    for (const th of headers) th.style.width = "";
    return;
  }
  const measured = headers.map((th) => widths[th.dataset.column] ?? th.getBoundingClientRect().width);
  headers.forEach((th, i) => (th.style.width = `${measured[i]}px`));
  grid.style.tableLayout = "fixed";
  grid.style.width = `${measured.reduce((sum, w) => sum + w, 0)}px`;
}

/** Drags a header's right edge: the column takes the width the pointer gives it (40 px at least). */
function startResize(event, column) {
  event.preventDefault();
  event.stopPropagation();
  const grid = $("#grid");
  const th = event.currentTarget.closest("th");
  const startX = event.clientX;
  const startWidth = th.getBoundingClientRect().width;
  const widths = (state.widths[grid.dataset.table] ??= {});
  const move = (e) => {
    widths[column] = Math.max(40, Math.round(startWidth + e.clientX - startX));
    applyWidths(grid);
  };
  const up = () => {
    document.removeEventListener("pointermove", move);
    document.removeEventListener("pointerup", up);
    document.body.classList.remove("resizing");
  };
  document.body.classList.add("resizing");
  document.addEventListener("pointermove", move);
  document.addEventListener("pointerup", up);
}

/** A header that sorts by `by` (the module's `SortBy`) when clicked: ascending, descending, off. */
function sortHeader(label, by, attributes = {}) {
  const sort = state.sort[state.tab];
  const active = sort?.header === label;
  const arrow = active ? (sort.descending ? " ▼" : " ▲") : "";
  return el("th", { ...attributes, "data-column": label, "aria-sort": active ? (sort.descending ? "descending" : "ascending") : null },
    el("button", { type: "button", class: "sort", title: `Sort by ${label}`, onclick: (e) => sortBy(label, by, e.currentTarget) }, label + arrow),
    el("span", { class: "resize", "aria-hidden": "true", title: "Drag to resize the column", onpointerdown: (e) => startResize(e, label) }));
}

function renderDiff(grid, page) {
  const column = (name) => ({ column: { name } });
  const head = el("tr", {}, sortHeader("change", "kind"), page.key.map((k) => sortHeader(k, column(k), { class: "key" })),
    page.columns.map((c) => sortHeader(c, column(c))), sortHeader("last change from", "source"));
  const meanings = new Map((state.changeKinds ?? []).map((k) => [k.kind, k.meaning]));
  const rows = page.rows.map((r) => {
    const changed = new Set(r.changed);
    const cells = page.columns.map((column, i) => {
      const before = r.before?.[i] ?? null;
      const after = r.after?.[i] ?? null;
      if (r.change === "inserted_and_deleted") {
        return el("td", { class: "transient", "data-column": column }, "—");
      }
      if (r.change === "updated" && changed.has(column)) {
        return el("td", { class: "changed", "data-column": column, title: `${before ?? "NULL"} → ${after ?? "NULL"}` },
          el("del", {}, compact(before) ?? "NULL"), el("span", { class: "arrow" }, " → "), el("ins", {}, compact(after) ?? "NULL"));
      }
      return valueCell(r.change === "deleted" ? before : after, { "data-column": column });
    });
    return el("tr", { class: r.change, "data-key": r.key.join("|") },
      el("td", {}, el("span", { class: `badge ${r.change}`, title: meanings.get(r.change) ?? "" }, r.change),
        r.changes > 1 ? el("span", { class: "times", title: `${r.changes} changes applied to the key` }, ` ×${r.changes}`) : null),
      r.key.map((k) =>
        state.result.rows.history == null
          ? valueCell(k, { class: "key" })
          : el("td", { class: "key" }, el("button", {
            type: "button",
            class: "link",
            title: "Every version of this key",
            onclick: () => showKeyHistory(r.key),
          }, k))),
      cells,
      el("td", { class: "source", title: r.sequence ? `sequence ${r.sequence}` : "" },
        r.change === "inserted_and_deleted" ? `removed by ${baseName(r.file)}:${r.row}` : `${baseName(r.file)}:${r.row}`));
  });
  grid.replaceChildren(el("thead", {}, head), el("tbody", {}, rows));
}

/** The timeline of one key: its versions in order, the cells each one changed marked. */
async function showKeyHistory(key) {
  const page = await tidemark.keyHistory(key);
  const section = $("#key-history");
  $("#key-history-title").textContent = `History of key ${key.join(", ")}: ${plural(page.total, "version")}`;
  const at = (name) => page.columns.indexOf(name);
  const provenance = new Set(["valid_from", "valid_to", "is_current", "deleted", "_tidemark_op", "_tidemark_file", "_tidemark_row"]);
  const values = page.columns.filter((c) => !provenance.has(c));
  const head = el("tr", {}, el("th", {}, "valid from"), el("th", {}, "valid to"), values.map((c) => el("th", {}, c)), el("th", {}, "opened by"));
  const rows = page.rows.map((row, n) => {
    const previous = n > 0 ? page.rows[n - 1] : null;
    const state_ = row[at("deleted")] === "true" ? "deleted" : row[at("is_current")] === "true" ? "current" : "";
    return el("tr", { class: state_ },
      valueCell(row[at("valid_from")]),
      valueCell(row[at("valid_to")]),
      values.map((c) => {
        const changed = previous !== null && previous[at(c)] !== row[at(c)];
        return valueCell(row[at(c)], { class: changed ? "changed" : "", "data-column": c });
      }),
      el("td", { class: "source" }, `${row[at("_tidemark_op")]} ${baseName(row[at("_tidemark_file")])}:${row[at("_tidemark_row")]}`));
  });
  $("#key-history-grid").replaceChildren(el("thead", {}, head), el("tbody", {}, rows));
  section.hidden = false;
  section.scrollIntoView({ block: "nearest" });
}

function renderTable(grid, page) {
  const head = el("tr", {}, page.columns.map((column) => sortHeader(column, { column: { name: column } })));
  const rows = page.rows.map((row) => el("tr", {}, row.map((v, i) => valueCell(v, { "data-column": page.columns[i] }))));
  grid.replaceChildren(el("thead", {}, head), el("tbody", {}, rows));
}

function sortBy(header, by, button) {
  // The header clicked says it is sorting until the sorted page replaces it.
  button?.classList.add("sorting");
  button?.closest("th")?.setAttribute("aria-busy", "true");
  const current = state.sort[state.tab];
  state.sort[state.tab] =
    current?.header !== header ? { header, by, descending: false }
    : !current.descending ? { header, by, descending: true }
    : null;
  state.offset = 0;
  state.sorting = state.sort[state.tab] ? header : null;
  renderTab();
}

/** Encodes an output and saves it; what is happening shows beside the button clicked. */
async function download(output) {
  const format = $("#format").value;
  const ext = output === "report" ? "json" : output === "state" ? "parquet" : format;
  const button = $(`[data-download=${output}]`);
  const status = $(`[data-download-status=${output}]`);
  const name = `${output}.${ext}`;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  status.hidden = false;
  status.className = "download-status working";
  const rows = { enriched: state.result?.rows.enriched, snapshot: state.result?.rows.snapshot, diff: state.result?.rows.diff }[output];
  status.textContent = rows != null ? `Encoding ${name}: ${plural(rows, "row")}…` : `Encoding ${name}…`;
  try {
    const started = performance.now();
    const data = await tidemark.encode(output, format);
    const type = ext === "csv" ? "text/csv" : ext === "json" ? "application/json" : "application/vnd.apache.parquet";
    const url = URL.createObjectURL(new Blob([data], { type }));
    const link = el("a", { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    status.className = "download-status done";
    status.textContent = `${name}: ${bytes(data.length)} in ${((performance.now() - started) / 1000).toFixed(1)} s`;
  } catch (error) {
    status.className = "download-status failed";
    status.textContent = `${name} failed`;
    showError(error);
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring

async function loadExample() {
  const seed = await tidemark.example();
  state.files = [];
  await addFiles([...seed.snapshot, ...seed.changes].map(fromBytes));
  await run();
}

function wire() {
  const drop = $("#drop");
  for (const type of ["dragenter", "dragover"]) {
    document.addEventListener(type, (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
  }
  document.addEventListener("dragleave", (e) => {
    if (e.relatedTarget === null) drop.classList.remove("over");
  });
  document.addEventListener("drop", async (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    await addFiles(await droppedFiles(e.dataTransfer));
  });
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      $("#pick-files").click();
    }
  });
  $("#pick-files").addEventListener("change", async (e) => {
    await addFiles([...e.target.files].map((f) => fromFile(f, f.name)));
    e.target.value = "";
  });
  $("#pick-folder").addEventListener("change", async (e) => {
    await addFiles([...e.target.files].filter((f) => DATA_FILE.test(f.name) && !f.name.startsWith(".")).map((f) => fromFile(f)));
    e.target.value = "";
  });
  $("#example").addEventListener("click", loadExample);
  $("[data-action=example]").addEventListener("click", loadExample);
  $("#clear").addEventListener("click", () => {
    state.files = [];
    state.order = [];
    renderFiles();
  });
  $("#apply").addEventListener("click", run);
  // Changing an option after a run applies again: the files are still here.
  $("#options").addEventListener("change", () => {
    if (state.result && !state.running) run();
  });
  $("#options").addEventListener("submit", (e) => e.preventDefault());
  let typing = null;
  const search = () => {
    const q = state.query[state.tab];
    q.key = $("#key-search").value;
    q.prefix = $("#key-prefix").checked;
    state.offset = 0;
    renderTab();
  };
  $("#key-search").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(search, 150);
  });
  $("#key-prefix").addEventListener("change", search);
  $("#filter-op").addEventListener("change", () => {
    $("#filter-max").hidden = $("#filter-op").value !== "range";
  });
  $("#search").addEventListener("submit", (e) => {
    e.preventDefault();
    clearTimeout(typing);
    const q = state.query[state.tab];
    q.key = $("#key-search").value;
    q.prefix = $("#key-prefix").checked;
    // On the diff, a column filter reads the value shown (the new one, a deleted row's old
    // one), the value before the changes, or the value after them.
    const side = state.tab === "diff" ? $("#filter-side").value : "shown";
    const column = side === "shown" ? { name: $("#filter-column").value } : { name: $("#filter-column").value, side };
    const op = $("#filter-op").value;
    const value = $("#filter-value").value.trim();
    const max = $("#filter-max").value.trim();
    let filter = null;
    if (op === "range" && (value || max)) filter = { filter: "range", column, min: value || null, max: max || null };
    else if (op === "contains" && value) filter = { filter: "contains", column, text: value };
    else if (op === "equals" && value) filter = { filter: "equals", column, value };
    if (filter && column.name && !q.filters.some((f) => sameFilter(f, filter))) q.filters.push(filter);
    $("#filter-value").value = "";
    $("#filter-max").value = "";
    state.offset = 0;
    renderTab();
  });
  for (const tab of $$(".tabs [data-tab]")) {
    tab.addEventListener("click", () => {
      state.tab = tab.dataset.tab;
      state.offset = 0;
      renderTab();
    });
  }
  for (const button of $$(".pager [data-page]")) {
    button.addEventListener("click", () => {
      const last = Math.max(0, Math.floor((state.pageTotal - 1) / PAGE_SIZE) * PAGE_SIZE);
      state.offset = { first: 0, prev: Math.max(0, state.offset - PAGE_SIZE), next: state.offset + PAGE_SIZE, last }[button.dataset.page];
      renderTab();
    });
  }
  for (const button of $$("[data-download]")) button.addEventListener("click", () => download(button.dataset.download));
}

async function registerOffline() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return;
  try {
    await navigator.serviceWorker.register("sw.js");
    await navigator.serviceWorker.ready;
    $("#offline").hidden = false;
  } catch {
    // Offline use is a convenience: the page works without it.
  }
}

wire();
renderFiles();
tidemark.version().then((v) => ($("#version").textContent = v), (e) => showError(e));
registerOffline();
document.documentElement.dataset.ready = "true";
