// One event: what Sentry's issue page shows, plus the JSON as sent and as Sentry stores it.

import { ApiError, getJSON } from "./api.js";
import { append, display, formatTime, h, jsonBlock, keyValueTable, section, table } from "./dom.js";
import { eventTitle, exceptionValues, filterLink, quoted, traceLink } from "./events.js";
import { logsTable } from "./logs.js";
import { hashFor } from "./nav.js";

export async function renderEvent(view, _params, eventId) {
  const record = await getJSON(`/stub/api/events/${encodeURIComponent(eventId)}`);
  const data = record.data ?? {};
  const exceptions = exceptionValues(record);
  const findings = await piiFindings(record);
  const sourceMaps = await symbolication(record);
  append(
    view,
    h("p", {}, h("a", { href: "#/events" }, "← Events")),
    h("h1", { class: "title" }, eventTitle(record)),
    summary(record),
    notes(record),
    record.type === "transaction" ? await transactionRelated(record) : null,
    piiSection(findings),
    record.tags.length
      ? section("Tags", table(["Tag", "Value"], record.tags, { class: "tags" }))
      : null,
    // The exception raised last first, as Sentry shows them.
    exceptions.length
      ? section(
          "Exception",
          sourceMaps.unavailable ? h("p", { class: "hint" }, sourceMaps.unavailable) : null,
          exceptions
            .map((value, index) => exception(value, sourceMaps.frames, index))
            .reverse(),
        )
      : null,
    isObject(data.user)
      ? section("User", keyValueTable(data.user, flagsUnder(findings, "user")))
      : null,
    isObject(data.request)
      ? section("Request", keyValueTable(data.request, flagsUnder(findings, "request")))
      : null,
    isObject(data.extra) && Object.keys(data.extra).length
      ? section("Extra", keyValueTable(data.extra, flagsUnder(findings, "extra")))
      : null,
    breadcrumbs(data),
    contexts(data, findings),
    section(
      "JSON",
      h(
        "div",
        { class: "json-pair" },
        h(
          "figure",
          {},
          h("figcaption", {}, "As sent"),
          jsonBlock(record.data, { id: "json-sent" }),
        ),
        h(
          "figure",
          {},
          h("figcaption", {}, "As Sentry would store it"),
          record.stored
            ? jsonBlock(record.stored, { id: "json-stored" })
            : h(
                "p",
                { class: "error", id: "json-stored" },
                record.stored_error || "Not normalized.",
              ),
        ),
      ),
    ),
  );
}

function summary(record) {
  // As indexed: the values the search matches (the JSON as sent is below).
  const indexed = record.indexed ?? {};
  const facts = {
    "Event ID": record.event_id,
    Type: record.type,
    Level: indexed.level,
    Project: record.project,
    Environment: filterLink("environment", indexed.environment),
    Release: filterLink("release", indexed.release),
    Transaction: filterLink("transaction", indexed.transaction),
    Trace: traceLink(indexed.trace),
    Platform: indexed.platform,
    Received: formatTime(record.received_at),
    Envelope: `#${record.envelope_id}`,
  };
  return h(
    "dl",
    { class: "facts" },
    Object.entries(facts)
      .filter(([, value]) => value !== undefined && value !== null && value !== "")
      .map(([name, value]) =>
        h(
          "div",
          {},
          h("dt", {}, name),
          h("dd", {}, value instanceof Node ? value : display(value)),
        ),
      ),
  );
}

/** The stub's PII check on this event: values Sentry's scrubbers would have removed. */
async function piiFindings(record) {
  try {
    const report = await getJSON("/stub/api/checks/pii", { item: record.item_id });
    return { leaks: report.leaks };
  } catch (error) {
    if (error instanceof ApiError) return { leaks: [], unavailable: error.message };
    throw error;
  }
}

function piiSection(findings) {
  if (findings.unavailable) {
    return section("PII check", h("p", { class: "hint" }, findings.unavailable));
  }
  if (!findings.leaks.length) return null;
  const rows = findings.leaks.map((leak) => [
    h("code", {}, display(leak.path)),
    display(leak.rule),
    display(leak.trigger),
    h("code", {}, display(leak.excerpt)),
  ]);
  return section(
    "PII findings",
    h(
      "p",
      { class: "hint" },
      "Values Sentry's scrubbers would have removed (the stub's PII check):",
    ),
    table(["Field", "Rule", "Trigger", "Excerpt"], rows, { class: "pii-findings" }),
  );
}

/**
 * The keys directly under `prefix` (a JSON path such as `user` or `contexts.payment`) that hold a
 * leak, with the rule that fired.
 */
function flagsUnder(findings, prefix) {
  const flags = new Map();
  for (const leak of findings.leaks) {
    const path = String(leak.path);
    if (!path.startsWith(`${prefix}.`)) continue;
    const [key] = path.slice(prefix.length + 1).split(".");
    if (key) flags.set(key, `${display(leak.rule)}: ${display(leak.trigger)}`);
  }
  return flags;
}

/**
 * A transaction's errors and logs: the errors of its trace or naming it as their `transaction`
 * (as Sentry's transaction summary relates them), and the log entries of its trace.
 */
async function transactionRelated(record) {
  const { trace, transaction } = record.indexed ?? {};
  const matches = [];
  if (trace) matches.push(`trace:${trace}`);
  if (transaction) matches.push(`transaction:${quoted(transaction)}`);
  if (!matches.length) return null;
  const query = `event.type:error (${matches.join(" OR ")})`;
  const [errors, logs] = await Promise.all([
    getJSON("/stub/api/events", { query, order: "desc", limit: 100 }),
    trace ? getJSON("/stub/api/rows/logs", { trace, order: "desc" }) : { data: [] },
  ]);
  const errorRows = errors.data.map((event) => [
    h("span", { class: "nowrap" }, formatTime(event.received_at)),
    h("a", { href: hashFor(`/events/${event.event_id}`) }, eventTitle(event)),
    display(event.project),
  ]);
  return [
    section(
      "Errors of this transaction",
      h("p", { class: "hint" }, h("a", { href: hashFor("/events", { query }) }, query)),
      errorRows.length
        ? table(["Received", "Error", "Project"], errorRows, { class: "related-errors" })
        : h("p", { class: "hint" }, "No error in its trace or naming it."),
    ),
    section(
      "Logs of this trace",
      logs.data.length
        ? logsTable(logs.data)
        : h("p", { class: "hint" }, trace ? "No log entry in its trace." : "It has no trace id."),
    ),
  ];
}

function notes(record) {
  if (!record.notes.length) return null;
  return section(
    "Protocol notes",
    h("p", { class: "hint" }, "What Relay would have refused or changed in what this SDK sent:"),
    h("ul", { class: "notes" }, record.notes.map((note) => h("li", {}, display(note)))),
  );
}

/**
 * How Sentry would show each JavaScript frame with the uploaded source maps (the stub's source
 * map check): a Map from the frame's place in the event to its answer.
 */
async function symbolication(record) {
  const platform = record.data?.platform;
  if (platform !== "javascript" && platform !== "node") return { frames: new Map() };
  try {
    const report = await getJSON("/stub/api/checks/sourcemaps", { item: record.item_id });
    const answers = report.events.flatMap((event) => event.frames);
    return { frames: new Map(answers.map((answer) => [answer.path, answer])) };
  } catch (error) {
    if (error instanceof ApiError) return { frames: new Map(), unavailable: error.message };
    throw error;
  }
}

/** A frame's source map answer: where it resolves to, or why it would stay minified. */
function sourceMapAnswer(answer) {
  if (!answer) return null;
  if (!answer.resolved) {
    return h(
      "div",
      { class: "sourcemap unresolved" },
      h("span", { class: "badge minified" }, "stays minified"),
      " ",
      display(answer.reason),
    );
  }
  return h(
    "div",
    { class: "sourcemap resolved" },
    h("span", { class: "badge resolved" }, "source map"),
    " ",
    h("code", {}, `${display(answer.source)}:${answer.line}:${answer.column}`),
    answer.function ? [" in ", h("code", {}, display(answer.function))] : null,
    ` (by ${display(answer.resolved_by)})`,
    h(
      "pre",
      { class: "code" },
      h(
        "div",
        { class: "line current" },
        h("span", { class: "lineno" }, String(answer.line)),
        display(answer.context_line),
      ),
    ),
  );
}

function exception(value, sourceMaps = new Map(), index = 0) {
  const frames = Array.isArray(value.stacktrace?.frames) ? value.stacktrace.frames : [];
  const mechanism = value.mechanism?.type;
  const unhandled = value.mechanism?.handled === false ? " (unhandled)" : "";
  return h(
    "div",
    { class: "exception" },
    h("h3", {}, display(value.type), value.value ? `: ${display(value.value)}` : ""),
    mechanism ? h("p", { class: "muted" }, `mechanism: ${display(mechanism)}${unhandled}`) : null,
    // Most recent call first, as Sentry shows them.
    frames
      .map((value, position) => {
        const answer = sourceMaps.get(`exception.values.${index}.stacktrace.frames.${position}`);
        return frame(value, position === frames.length - 1, answer);
      })
      .reverse(),
  );
}

/** A frame; the most recent one and the app's own frames open. */
function frame(value, mostRecent, sourceMap = undefined) {
  const place = [value.filename || value.abs_path || value.module, value.lineno, value.colno]
    .filter((part) => part !== undefined && part !== null && part !== "")
    .map(display)
    .join(":");
  const heading = h(
    "summary",
    {},
    h("code", {}, display(value.function) || "?"),
    " in ",
    h("code", {}, place || "?"),
    value.in_app ? h("span", { class: "badge" }, "in app") : null,
  );
  return h(
    "details",
    { class: "frame", open: mostRecent || value.in_app === true },
    heading,
    sourceMapAnswer(sourceMap),
    frameContext(value),
    frameVars(value),
  );
}

function frameContext(value) {
  if (value.context_line === undefined || value.context_line === null) return null;
  const before = Array.isArray(value.pre_context) ? value.pre_context : [];
  const after = Array.isArray(value.post_context) ? value.post_context : [];
  const first = typeof value.lineno === "number" ? value.lineno - before.length : null;
  const line = (text, index, current) =>
    h(
      "div",
      { class: current ? "line current" : "line" },
      h("span", { class: "lineno" }, first === null ? "" : String(first + index)),
      display(text),
    );
  return h(
    "pre",
    { class: "code" },
    before.map((text, index) => line(text, index, false)),
    line(value.context_line, before.length, true),
    after.map((text, index) => line(text, before.length + 1 + index, false)),
  );
}

function frameVars(value) {
  return isObject(value.vars) && Object.keys(value.vars).length ? keyValueTable(value.vars) : null;
}

function breadcrumbs(data) {
  const crumbs = Array.isArray(data.breadcrumbs) ? data.breadcrumbs : data.breadcrumbs?.values;
  if (!Array.isArray(crumbs) || !crumbs.length) return null;
  const rows = crumbs.map((crumb) => [
    h("span", { class: "nowrap" }, formatTime(crumb.timestamp)),
    display(crumb.category ?? crumb.type),
    display(crumb.level),
    display(crumb.message ?? crumb.data),
  ]);
  const headings = ["Time", "Category", "Level", "Message"];
  return section("Breadcrumbs", table(headings, rows, { class: "breadcrumbs" }));
}

function contexts(data, findings) {
  if (!isObject(data.contexts) || !Object.keys(data.contexts).length) return null;
  return section(
    "Contexts",
    h(
      "div",
      { class: "contexts" },
      Object.entries(data.contexts).map(([name, context]) =>
        h(
          "div",
          {},
          h("h3", {}, name),
          isObject(context)
            ? keyValueTable(context, flagsUnder(findings, `contexts.${name}`))
            : display(context),
        ),
      ),
    ),
  );
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
