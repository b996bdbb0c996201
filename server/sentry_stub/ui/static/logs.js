// Logs: every log entry (the `log` items of sentry_sdk.logger and Sentry.logger), newest first,
// with a level filter, a text search, and a link to each entry's trace.

import { getJSON } from "./api.js";
import { display, formatTime, h, textInput, table } from "./dom.js";
import { levelBadge, traceLink } from "./events.js";
import { navigate } from "./nav.js";
import { emptyState } from "./projects.js";

// The levels of Sentry's log protocol, most verbose first.
const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"];
const LIMIT = 2000; // the newest entries; the filter and the search look at these

export async function renderLogs(view, params) {
  const level = params.get("level") ?? "";
  const search = params.get("search") ?? "";
  const input = textInput("search", search, "text in the message", "Search logs", "search");
  const select = h(
    "select",
    { name: "level", "aria-label": "Level" },
    h("option", { value: "" }, "All levels"),
    LEVELS.map((name) => h("option", { value: name, selected: name === level }, name)),
  );
  const button = h("button", { type: "submit" }, "Filter");
  const form = h("form", { class: "search" }, input, select, button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate("/logs", { level: select.value, search: input.value });
  });
  const results = h("div", { class: "results" });
  view.append(h("h1", {}, "Logs"), form, results);

  async function refresh() {
    const answer = await getJSON("/stub/api/rows/logs", { order: "desc", limit: LIMIT });
    const needle = search.toLowerCase();
    const shown = answer.data
      .filter((log) => !level || log.level === level)
      .filter((log) => !needle || display(log.body).toLowerCase().includes(needle));
    results.replaceChildren(
      shown.length
        ? logsTable(shown)
        : answer.data.length
          ? h("p", { class: "hint" }, "No log entry matches this filter.")
          : await emptyState(
              "No logs yet. Turn logs on and log through the SDK's logger:",
              "enable_logs=True",
              '\nsentry_sdk.logger.info("checkout started")',
            ),
    );
  }
  await refresh();
  return { refresh };
}

/** Log entries as a table; also the logs section of a trace's page. */
export function logsTable(logs) {
  const rows = logs.map((log) => [
    h("span", { class: "nowrap" }, formatTime(log.timestamp ?? log.received_at)),
    log.level ? levelBadge(log.level) : null,
    h("span", { class: "message" }, display(log.body)),
    display(log.project),
    traceLink(log.trace_id, log.trace_id ? log.trace_id.slice(0, 8) : ""),
  ]);
  return table(["Time", "Level", "Message", "Project", "Trace"], rows, { class: "logs" });
}
