// The events list: a Sentry search, newest first, refreshed as events arrive.

import { getJSON } from "./api.js";
import { display, errorBox, formatTime, h, textInput, showWarnings, table } from "./dom.js";
import { hashFor, navigate } from "./nav.js";
import { projectSelect } from "./projects.js";

const LIMIT = 100;

export async function renderEvents(view, params) {
  const query = params.get("query") ?? "";
  const project = params.get("project") ?? "";
  const example = "event.type:error environment:production";
  const input = textInput("query", query, example, "Search", "search");
  const select = await projectSelect(project);
  const button = h("button", { type: "submit" }, "Search");
  const form = h("form", { class: "search" }, input, select, button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate("/events", { query: input.value, project: select.value });
  });
  const warnings = h("ul", { class: "query-warnings", "aria-label": "Query warnings" });
  const results = h("div", { class: "results" });
  view.append(h("h1", {}, "Events"), form, warnings, results);

  async function refresh() {
    try {
      const search = { query, project, order: "desc", limit: LIMIT };
      const answer = await getJSON("/stub/api/events", search);
      showWarnings(warnings, answer.warnings);
      results.replaceChildren(answer.data.length ? eventsTable(answer.data) : emptyHint(query));
    } catch (error) {
      showWarnings(warnings);
      results.replaceChildren(errorBox(error, query));
    }
  }
  await refresh();
  return { refresh };
}

function eventsTable(events) {
  const rows = events.map((event) => {
    const indexed = event.indexed ?? {};
    return [
      h("span", { class: "nowrap" }, formatTime(event.received_at)),
      h("a", { href: hashFor(`/events/${event.event_id}`) }, eventTitle(event)),
      event.type,
      indexed.level ? levelBadge(indexed.level) : null,
      event.project,
      filterLink("environment", indexed.environment),
      filterLink("release", indexed.release),
    ];
  });
  const headings = ["Received", "Title", "Type", "Level", "Project", "Environment", "Release"];
  return table(headings, rows, { class: "events" });
}

function emptyHint(query) {
  if (query) return h("p", { class: "hint" }, "No event matches this search.");
  return h(
    "p",
    { class: "hint" },
    "No events yet. Point an SDK at a DSN from the ",
    h("a", { href: "#/projects" }, "Projects"),
    " page; events appear here as they arrive.",
  );
}

/** Sentry's title as the server indexed it (what `title:` searches): a transaction's name, an
 * error's `Type: value`, otherwise the message. */
export function eventTitle(event) {
  return display(event.indexed?.title) || `<${event.type} without a title>`;
}

/** The exception values as the server reads the container (values, a bare list, one object). */
export function exceptionValues(record) {
  const values = record.indexed?.exception;
  return Array.isArray(values) ? values.filter((value) => value && typeof value === "object") : [];
}

/** A value quoted as Sentry's search syntax quotes it: `release:"shop@1.2.3"`. */
export function quoted(value) {
  return `"${display(value).replace(/(["\\])/g, "\\$1")}"`;
}

/** A link to the events that share a value, e.g. every event of a release. */
export function filterLink(field, value) {
  if (value === null || value === undefined || value === "") return null;
  const query = `${field}:${quoted(value)}`;
  return h("a", { href: hashFor("/events", { query }) }, display(value));
}

/** A trace id as a link to its trace page. */
export function traceLink(traceId, text = traceId) {
  if (!traceId) return null;
  return h("a", { class: "trace-id", href: hashFor(`/traces/${traceId}`) }, display(text));
}

export function levelBadge(level) {
  const known = ["fatal", "error", "warning", "info", "debug"].includes(level);
  return h("span", { class: `level level-${known ? level : "other"}` }, display(level));
}
