// The stub's own checks per project, on its card of the Projects page: the release-naming
// report (run as the page opens) and the sample-rate report (for the rate the app configured,
// which only its developer knows), as `sentry-stub check releases|sampling` reports them.

import { getJSON } from "./api.js";
import { display, errorBox, h, section, table, textInput } from "./dom.js";
import { hashFor } from "./nav.js";

const CATEGORIES = ["transaction", "profile", "error"];

/** The checks section of a project's card. */
export async function projectChecks(project) {
  return section(
    "Checks",
    await releasesReport(project),
    samplingForm(project),
  );
}

async function releasesReport(project) {
  const report = await getJSON("/stub/api/checks/releases", { project: project.slug });
  const counts = Object.entries(report.releases).map(([name, count]) => `${name} (${count})`);
  const rows = report.problems.map((problem) => [
    h("a", { href: hashFor(`/events/${problem.event_id}`) }, display(problem.event_id).slice(0, 8)),
    display(problem.field),
    h("code", {}, display(problem.value)),
    display(problem.problem),
  ]);
  return h(
    "div",
    { class: "check release-check" },
    h("h3", {}, "Release naming ", verdict(report.passed)),
    h(
      "p",
      { class: "muted" },
      `${report.checked} event(s) checked; pattern `,
      h("code", {}, display(report.pattern)),
      `; environments ${report.allowed_environments.join(", ")}; web API releases: `,
      display(report.web_api_releases),
    ),
    counts.length ? h("p", {}, "Releases seen: ", counts.join(", ")) : null,
    rows.length
      ? table(["Event", "Field", "Value", "Problem"], rows, { class: "release-problems" })
      : null,
  );
}

function samplingForm(project) {
  const rate = textInput("expected", "", "0.1", "Expected sample rate");
  const category = h(
    "select",
    { name: "category", "aria-label": "Category" },
    CATEGORIES.map((name) => h("option", { value: name }, name)),
  );
  const result = h("div", { class: "sampling-result" });
  const form = h(
    "form",
    { class: "inline" },
    rate,
    category,
    h("button", { type: "submit" }, "Check sample rate"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const params = { project: project.slug, expected: rate.value, category: category.value };
    try {
      result.replaceChildren(samplingReport(await getJSON("/stub/api/checks/sampling", params)));
    } catch (error) {
      result.replaceChildren(errorBox(error));
    }
  });
  return h(
    "div",
    { class: "check" },
    h("h3", {}, "Sample rate"),
    h("p", { class: "muted" }, "The rate your SDK is configured with (e.g. traces_sample_rate):"),
    form,
    result,
  );
}

function samplingReport(report) {
  const interval = report.interval
    ? `[${report.interval.map((bound) => bound.toFixed(4)).join(", ")}]`
    : "none";
  const facts = {
    Observed: report.observed === null ? "none" : report.observed.toFixed(4),
    [`${Math.round(report.confidence * 1000) / 10}% interval`]: interval,
    Kept: String(report.kept),
    "Sampled out (client reports)": String(report.discarded_by_sampling),
    Trials: String(report.trials),
    "Declared rates": Object.keys(report.declared).length ? JSON.stringify(report.declared) : "",
  };
  const lines = [report.likely_cause, ...report.problems, ...report.notes].filter(Boolean);
  return h(
    "div",
    { class: "sampling-report" },
    h("p", {}, `${report.category} rate ${report.expected} `, verdict(report.passed)),
    table(
      ["", ""],
      Object.entries(facts).map(([name, value]) => [name, value]),
      { class: "key-value" },
    ),
    lines.length ? h("ul", { class: "notes" }, lines.map((line) => h("li", {}, display(line)))) : null,
  );
}

function verdict(passed) {
  return h("span", { class: passed ? "verdict passed" : "verdict failed" }, passed ? "passed" : "failed");
}
