// Traces: the list, and one trace's span waterfall across projects with its errors and logs.
// Spans come from the spans rows, which hold both transactions' spans and streamed spans
// (JS SDK 11 sends span v2 items instead of transactions), so both draw the same way.

import { getJSON } from "./api.js";
import { display, formatTime, h, keyValueTable, section, table } from "./dom.js";
import { eventTitle, filterLink, levelBadge, traceLink } from "./events.js";
import { logsTable } from "./logs.js";
import { hashFor } from "./nav.js";
import { emptyState } from "./projects.js";

export async function renderTraces(view) {
  const results = h("div", { class: "results" });
  view.append(h("h1", {}, "Traces"), results);

  async function refresh() {
    const answer = await getJSON("/stub/api/traces", { limit: 200 });
    results.replaceChildren(
      answer.data.length
        ? tracesTable(answer.data)
        : await emptyState(
            "No traces yet. Send transactions or spans with tracing on:",
            "traces_sample_rate=1.0",
          ),
    );
  }
  await refresh();
  return { refresh };
}

function tracesTable(traces) {
  const rows = traces.map((trace) => [
    h("span", { class: "nowrap" }, formatTime(trace.received_at)),
    traceLink(trace.trace_id, trace.root ? display(trace.root) : trace.trace_id),
    display(trace.root_op),
    formatDuration(trace.duration),
    String(trace.span_count),
    trace.errors ? h("span", { class: "level level-error" }, String(trace.errors)) : "0",
    trace.projects.join(", "),
  ]);
  const headings = ["Received", "Root", "Op", "Duration", "Spans", "Errors", "Projects"];
  return table(headings, rows, { class: "traces" });
}

export async function renderTrace(view, _params, traceId) {
  const id = traceId.replaceAll("-", "").toLowerCase();
  const heading = h("h1", { class: "title" }, "Trace ", h("code", {}, id));
  const body = h("div", {});
  view.append(h("p", {}, h("a", { href: "#/traces" }, "← Traces")), heading, body);

  async function refresh() {
    const [spans, events, logs] = await Promise.all([
      getJSON("/stub/api/rows/spans", { trace: id }),
      getJSON("/stub/api/events", { query: `trace:${id}`, limit: 1000 }),
      getJSON("/stub/api/rows/logs", { trace: id }),
    ]);
    const errors = events.data.filter((event) => event.type !== "transaction");
    const detail = h("div", { class: "span-detail", "aria-live": "polite" });
    body.replaceChildren(
      section(
        "Spans",
        spans.data.length
          ? waterfall(spans.data, detail)
          : h("p", { class: "hint" }, "No spans of this trace have arrived."),
        detail,
      ),
      section("Errors", errors.length ? errorsTable(errors) : h("p", { class: "hint" }, "None.")),
      section("Logs", logs.data.length ? logsTable(logs.data) : h("p", { class: "hint" }, "None.")),
    );
  }
  await refresh();
  return { refresh };
}

/** Spans in tree order (a child under its parent, siblings by start), with their depth. */
export function spanTree(spans) {
  const byId = new Map(spans.map((span) => [span.span_id, span]));
  const children = new Map();
  const roots = [];
  for (const span of spans) {
    const parent = byId.has(span.parent_span_id) ? span.parent_span_id : null;
    if (parent === null) roots.push(span);
    else children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const byStart = (a, b) => (a.start_timestamp ?? 0) - (b.start_timestamp ?? 0);
  const ordered = [];
  const seen = new Set();
  const visit = (span, depth) => {
    if (seen.has(span.span_id)) return; // a cycle sent by a client must not hang the page
    seen.add(span.span_id);
    ordered.push({ span, depth });
    for (const child of (children.get(span.span_id) ?? []).sort(byStart)) visit(child, depth + 1);
  };
  for (const root of roots.sort(byStart)) visit(root, 0);
  return ordered;
}

function waterfall(spans, detail) {
  const starts = spans.map((span) => span.start_timestamp).filter((t) => typeof t === "number");
  const ends = spans.map((span) => span.timestamp).filter((t) => typeof t === "number");
  const start = Math.min(...starts);
  const total = Math.max(Math.max(...ends) - start, 1e-6);
  const list = h("ol", { class: "waterfall", "aria-label": "Span waterfall" });
  for (const { span, depth } of spanTree(spans)) {
    const bar = h("span", { class: span.is_transaction ? "bar segment" : "bar" });
    // Positions through the CSSOM: the CSP refuses style attributes, not style properties.
    const offset = typeof span.start_timestamp === "number" ? span.start_timestamp - start : 0;
    bar.style.marginLeft = `${(offset / total) * 100}%`;
    bar.style.width = `${Math.max(((span.duration ?? 0) / 1000 / total) * 100, 0.3)}%`;
    const label = h(
      "button",
      { type: "button", class: "span-label" },
      h("span", { class: "op" }, display(span.op) || "(no op)"),
      " ",
      h("span", { class: "description" }, display(span.description ?? span.segment_name)),
    );
    label.style.paddingLeft = `${depth * 1.1}rem`;
    label.addEventListener("click", () => detail.replaceChildren(spanDetail(span)));
    list.append(
      h(
        "li",
        { class: "span-row" },
        label,
        h("span", { class: "project" }, display(span.project)),
        h("span", { class: "track" }, bar),
        h("span", { class: "duration" }, formatDuration(span.duration)),
      ),
    );
  }
  return list;
}

function spanDetail(span) {
  const facts = {
    Op: span.op,
    Description: span.description,
    Duration: formatDuration(span.duration),
    Status: span.status,
    Project: span.project,
    "Span ID": span.span_id,
    "Parent span ID": span.parent_span_id,
    Segment: span.segment_name,
    Environment: span.environment,
    Release: span.release,
  };
  return h(
    "div",
    {},
    h(
      "h3",
      {},
      display(span.op) || "Span",
      span.description ? `: ${display(span.description)}` : "",
    ),
    keyValueTable(
      Object.fromEntries(Object.entries(facts).filter(([, value]) => display(value) !== "")),
    ),
    span.data && typeof span.data === "object" && Object.keys(span.data).length
      ? h("div", {}, h("h3", {}, "Data"), keyValueTable(span.data))
      : null,
  );
}

function errorsTable(errors) {
  const rows = errors.map((event) => [
    h("span", { class: "nowrap" }, formatTime(event.received_at)),
    h("a", { href: hashFor(`/events/${event.event_id}`) }, eventTitle(event)),
    event.indexed?.level ? levelBadge(event.indexed.level) : null,
    event.project,
    filterLink("transaction", event.indexed?.transaction),
  ]);
  return table(["Received", "Title", "Level", "Project", "Transaction"], rows, { class: "errors" });
}

export function formatDuration(milliseconds) {
  if (typeof milliseconds !== "number") return "";
  if (milliseconds < 1000) return `${milliseconds.toFixed(milliseconds < 10 ? 2 : 0)} ms`;
  return `${(milliseconds / 1000).toFixed(2)} s`;
}
