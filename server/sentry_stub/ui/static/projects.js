// Projects with their DSNs, and how to point an SDK at them.

import { getJSON, postJSON } from "./api.js";
import { projectChecks } from "./checks.js";
import { append, copyButton, errorBox, h, section } from "./dom.js";
import { navigate } from "./nav.js";

const SNIPPETS = {
  Python: (dsn) => `import sentry_sdk

sentry_sdk.init(
    dsn="${dsn}",
    environment="development",
    traces_sample_rate=1.0,
)`,
  React: (dsn) => `import * as Sentry from "@sentry/react";

Sentry.init({
  dsn: "${dsn}",
  environment: "development",
  integrations: [Sentry.browserTracingIntegration()],
  tracesSampleRate: 1.0,
});`,
};

export async function renderProjects(view) {
  const { data: projects, strict } = await getJSON("/stub/api/projects");
  append(
    view,
    h("h1", {}, "Projects"),
    h(
      "p",
      { class: "hint" },
      strict
        ? "Strict mode: only the projects and keys of the config file are accepted."
        : "Open mode: any key and numeric project id is accepted; new projects appear here.",
    ),
    await Promise.all(projects.map(projectCard)),
    strict ? null : createForm(view),
  );
}

async function projectCard(project) {
  return h(
    "article",
    { class: "card project" },
    h("h2", {}, project.slug, " ", h("span", { class: "muted" }, `#${project.id}`)),
    h("div", { class: "dsn" }, h("code", {}, project.dsn), copyButton(project.dsn, "Copy DSN")),
    h("p", { class: "muted" }, "Public keys: ", project.keys.join(", ")),
    section(
      "Point your SDK here",
      h(
        "div",
        { class: "snippets" },
        Object.entries(SNIPPETS).map(([language, snippet]) => {
          const code = snippet(project.dsn);
          return h(
            "figure",
            { class: "snippet" },
            h("figcaption", {}, language, copyButton(code)),
            h("pre", {}, code),
          );
        }),
      ),
    ),
    await projectChecks(project),
  );
}

function createForm(view) {
  const slug = h("input", {
    name: "slug",
    required: true,
    placeholder: "my-app",
    "aria-label": "Slug",
  });
  const result = h("div");
  const form = h("form", { class: "inline" }, slug, h("button", { type: "submit" }, "Add project"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await postJSON("/stub/api/projects", { slug: slug.value });
      navigate("/projects");
    } catch (error) {
      result.replaceChildren(errorBox(error));
    }
  });
  return section("New project", form, result);
}

/** A project filter for the other pages: all projects, or one by slug. */
export async function projectSelect(selected) {
  const { data: projects } = await getJSON("/stub/api/projects");
  return h(
    "select",
    { name: "project", "aria-label": "Project" },
    h("option", { value: "" }, "All projects"),
    projects.map((project) =>
      h("option", { value: project.slug, selected: project.slug === selected }, project.slug),
    ),
  );
}

/**
 * What a newcomer sees on an empty page: why it is empty, the DSN to paste, and the Python
 * `init` line with the options this page needs (e.g. `traces_sample_rate=1.0`).
 */
export async function emptyState(why, options = "", after = "") {
  const { data: projects } = await getJSON("/stub/api/projects");
  const box = h("div", { class: "empty-state" }, h("p", { class: "hint" }, why));
  const [project] = projects;
  if (!project) {
    const link = h("a", { href: "#/projects" }, "Projects");
    return append(box, h("p", {}, "Add a project on the ", link, " page."));
  }
  const init = `sentry_sdk.init(dsn="${project.dsn}"${options ? `, ${options}` : ""})${after}`;
  return append(
    box,
    h("div", { class: "dsn" }, h("code", {}, project.dsn), copyButton(project.dsn, "Copy DSN")),
    h(
      "figure",
      { class: "snippet" },
      h("figcaption", {}, "Python", copyButton(init)),
      h("pre", {}, init),
    ),
    h(
      "p",
      { class: "muted" },
      "Other projects and a React snippet: ",
      h("a", { href: "#/projects" }, "Projects"),
      ".",
    ),
  );
}
