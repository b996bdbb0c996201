// Discover: fields, query and sort as Sentry's Discover takes them, or the one-line pipe form.

import { getJSON } from "./api.js";
import { display, errorBox, h, showWarnings, table, textInput } from "./dom.js";
import { navigate } from "./nav.js";
import { projectSelect } from "./projects.js";

export async function renderDiscover(view, params) {
  const fields = params.getAll("field");
  const query = params.get("query") ?? "";
  const sort = params.get("sort") ?? "";
  const project = params.get("project") ?? "";
  const pipe = params.get("q") ?? "";

  const fieldsInput = textInput("fields", fields.join(", "), "environment, count()", "Fields");
  const queryInput = textInput("query", query, "event.type:error", "Query");
  const sortInput = textInput("sort", sort, "-count()", "Sort");
  const select = await projectSelect(project);
  const form = h(
    "form",
    { class: "discover", id: "discover-form" },
    labelled("Fields", fieldsInput),
    labelled("Query", queryInput),
    labelled("Sort", sortInput),
    labelled("Project", select),
    h("button", { type: "submit" }, "Run"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = splitFields(fieldsInput.value).map((field) => ["field", field]);
    navigate("/discover", [
      ...chosen,
      ["query", queryInput.value],
      ["sort", sortInput.value],
      ["project", select.value],
    ]);
  });

  const pipeExample = "event.type:error | count() by transaction | sort by count DESC";
  const pipeInput = textInput("q", pipe, pipeExample, "Pipe query");
  const pipeForm = h(
    "form",
    { class: "discover", id: "pipe-form" },
    labelled("Pipe query", pipeInput),
    h("button", { type: "submit" }, "Run"),
  );
  pipeForm.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate("/discover", { q: pipeInput.value });
  });

  const warnings = h("ul", { class: "query-warnings", "aria-label": "Query warnings" });
  const results = h("div", { class: "results" });
  const or = h("p", { class: "or" }, "or");
  view.append(h("h1", {}, "Discover"), form, or, pipeForm, warnings, results);

  async function refresh() {
    try {
      let answer = null;
      if (pipe) {
        answer = await getJSON("/stub/api/query", { q: pipe });
      } else if (fields.length) {
        answer = await getJSON("/stub/api/discover", { field: fields, query, sort, project });
      }
      if (answer) {
        showWarnings(warnings, answer.warnings);
        results.replaceChildren(resultTable(answer));
      }
    } catch (error) {
      showWarnings(warnings);
      results.replaceChildren(errorBox(error, pipe || query));
    }
  }
  await refresh();
  return { refresh };
}

function labelled(text, control) {
  return h("label", {}, h("span", {}, text), control);
}

/** Split a comma-separated field list, keeping the commas inside a call like `count_if(a,b,c)`. */
function splitFields(text) {
  const fields = [];
  let depth = 0;
  let current = "";
  for (const character of text) {
    if (character === "," && depth === 0) {
      fields.push(current);
      current = "";
      continue;
    }
    if (character === "(") depth += 1;
    if (character === ")") depth = Math.max(0, depth - 1);
    current += character;
  }
  fields.push(current);
  return fields.map((field) => field.trim()).filter(Boolean);
}

function resultTable({ data, meta }) {
  const columns = Object.keys(meta?.fields ?? data[0] ?? {});
  const headings = columns.map((column) => {
    const type = meta?.fields?.[column];
    return h("span", {}, column, type ? h("span", { class: "type" }, ` ${type}`) : null);
  });
  const rows = data.map((row) => columns.map((column) => display(row[column])));
  return h(
    "div",
    {},
    h("p", { class: "hint" }, `${data.length} row${data.length === 1 ? "" : "s"}`),
    table(headings, rows, { class: "discover-result" }),
  );
}
