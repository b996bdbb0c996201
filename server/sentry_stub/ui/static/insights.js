// Insights: the slowest database queries, from the db spans grouped by description (Discover
// over spans, as Sentry's Queries insight groups them), and the pages' web vitals.

import { getJSON } from "./api.js";
import { display, h, section, table } from "./dom.js";
import { emptyState } from "./projects.js";
import { formatDuration } from "./traces.js";
import { webVitals } from "./vitals.js";

const QUERIES = {
  field: [
    "span.description",
    "span.op",
    "count()",
    "avg(span.duration)",
    "max(span.duration)",
    "sum(span.duration)",
  ],
  query: "span.op:db*",
  sort: "-avg(span.duration)",
  per_page: 50,
};

export async function renderInsights(view) {
  const results = h("div", { class: "results" });
  const vitals = h("div", {});
  view.append(
    h("h1", {}, "Insights"),
    section("Slowest database queries", results),
    section("Web vitals", vitals),
  );

  async function refresh() {
    const [answer, vitalsTable] = await Promise.all([
      getJSON("/stub/api/discover", QUERIES),
      webVitals(),
    ]);
    vitals.replaceChildren(
      vitalsTable ??
        h(
          "p",
          { class: "hint" },
          "No web vitals yet: they come from the browser SDK's pageload transactions " +
            "(browserTracingIntegration). p75 per page, rated good / needs improvement / poor " +
            "by Sentry's thresholds.",
        ),
    );
    results.replaceChildren(
      answer.data.length
        ? queriesTable(answer.data)
        : await emptyState(
            "No database spans yet: they come from transactions with db spans (op db or db.*).",
            "traces_sample_rate=1.0",
          ),
    );
  }
  await refresh();
  return { refresh };
}

function queriesTable(rows) {
  const cells = rows.map((row) => [
    h("code", {}, display(row["span.description"])),
    display(row["span.op"]),
    String(row["count()"]),
    formatDuration(row["avg(span.duration)"]),
    formatDuration(row["max(span.duration)"]),
    formatDuration(row["sum(span.duration)"]),
  ]);
  const headings = ["Query", "Op", "Count", "Average", "Slowest", "Total time"];
  return table(headings, cells, { class: "db-queries" });
}
