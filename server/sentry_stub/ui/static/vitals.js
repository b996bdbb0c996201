// Web vitals for the Insights page: the p75 of each vital per page (transaction), from the
// `measurements` browser SDKs put on pageload transactions, rated as Sentry's Web Vitals docs
// rate them (web.dev's thresholds: good up to the first, poor above the second).

import { getJSON } from "./api.js";
import { display, h, table } from "./dom.js";
import { filterLink } from "./events.js";

const VITALS = [
  { name: "lcp", label: "LCP", good: 2500, poor: 4000, unit: "ms" },
  { name: "fcp", label: "FCP", good: 1800, poor: 3000, unit: "ms" },
  { name: "cls", label: "CLS", good: 0.1, poor: 0.25, unit: "" },
  { name: "ttfb", label: "TTFB", good: 800, poor: 1800, unit: "ms" },
  { name: "inp", label: "INP", good: 200, poor: 500, unit: "ms" },
];
const QUERY = "event.type:transaction transaction.op:pageload";
const LIMIT = 1000; // the newest pageloads

/** The web vitals table, or null when no pageload carried a measurement. */
export async function webVitals() {
  const answer = await getJSON("/stub/api/events", { query: QUERY, order: "desc", limit: LIMIT });
  const pages = new Map(); // transaction -> { count, values: vital name -> values }
  for (const event of answer.data) {
    const measurements = event.data?.measurements;
    if (!measurements || typeof measurements !== "object") continue;
    const name = display(event.indexed?.transaction);
    const page = pages.get(name) ?? { count: 0, values: new Map() };
    pages.set(name, page);
    page.count += 1;
    for (const vital of VITALS) {
      const value = measurements[vital.name]?.value;
      if (typeof value !== "number") continue;
      page.values.set(vital.name, [...(page.values.get(vital.name) ?? []), value]);
    }
  }
  if (!pages.size) return null;
  const rows = [...pages].map(([name, page]) => [
    filterLink("transaction", name),
    String(page.count),
    ...VITALS.map((vital) => vitalCell(vital, page.values.get(vital.name))),
  ]);
  const headings = ["Page", "Pageloads", ...VITALS.map((vital) => `p75 ${vital.label}`)];
  return table(headings, rows, { class: "web-vitals" });
}

function vitalCell(vital, values) {
  if (!values?.length) return null;
  const p75 = quantile(values, 0.75);
  const rating = p75 <= vital.good ? "good" : p75 <= vital.poor ? "needs improvement" : "poor";
  const shown = vital.unit ? `${Math.round(p75)} ${vital.unit}` : p75.toFixed(3);
  return h("span", { class: `vital ${rating.replace(" ", "-")}` }, `${shown} (${rating})`);
}

/** Linear interpolation between the two nearest ranks, as the stub's `p75()` computes it. */
function quantile(values, level) {
  const ordered = values.slice().sort((a, b) => a - b);
  const position = level * (ordered.length - 1);
  const lower = Math.floor(position);
  if (lower + 1 >= ordered.length) return ordered[lower];
  const fraction = position - lower;
  return ordered[lower] * (1 - fraction) + ordered[lower + 1] * fraction;
}
