// The shell: routes each hash to its page, follows new data live, and offers a reset.

import { renderAlerts } from "./alerts.js";
import { LiveCursor, postJSON } from "./api.js";
import { errorBox, h } from "./dom.js";
import { renderDiscover } from "./discover.js";
import { renderEnvelopes } from "./envelopes.js";
import { renderEvent } from "./event.js";
import { renderEvents } from "./events.js";
import { renderInsights } from "./insights.js";
import { renderIssues } from "./issues.js";
import { renderLogs } from "./logs.js";
import { currentRoute, navigate } from "./nav.js";
import { renderProjects } from "./projects.js";
import { renderReleases } from "./releases.js";
import { renderTrace, renderTraces } from "./traces.js";

// Each page renders into a fresh element and may return `{ refresh }`, which is called
// whenever new data arrives.
const ROUTES = [
  { pattern: /^\/events$/, page: "events", render: renderEvents },
  { pattern: /^\/events\/([0-9a-fA-F-]{32,36})$/, page: "events", render: renderEvent },
  { pattern: /^\/issues$/, page: "issues", render: renderIssues },
  { pattern: /^\/traces$/, page: "traces", render: renderTraces },
  { pattern: /^\/traces\/([0-9a-fA-F-]{32,36})$/, page: "traces", render: renderTrace },
  { pattern: /^\/logs$/, page: "logs", render: renderLogs },
  { pattern: /^\/insights$/, page: "insights", render: renderInsights },
  { pattern: /^\/releases$/, page: "releases", render: renderReleases },
  { pattern: /^\/alerts$/, page: "alerts", render: renderAlerts },
  { pattern: /^\/envelopes$/, page: "envelopes", render: renderEnvelopes },
  { pattern: /^\/discover$/, page: "discover", render: renderDiscover },
  { pattern: /^\/projects$/, page: "projects", render: renderProjects },
];

const main = document.getElementById("main");
let shown = null; // what the current page returned

async function show() {
  const { path, params } = currentRoute();
  const route = ROUTES.find((candidate) => candidate.pattern.test(path));
  if (!route) {
    navigate("/events");
    return;
  }
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("active", link.dataset.page === route.page);
  }
  const view = h("div", { class: "view" });
  main.replaceChildren(view);
  main.setAttribute("aria-busy", "true");
  shown = null;
  try {
    const page = await route.render(view, params, ...path.match(route.pattern).slice(1));
    // A page that is left before it finished rendering stays detached.
    if (view.isConnected) shown = page ?? null;
  } catch (error) {
    view.append(errorBox(error));
  }
  if (view.isConnected) main.setAttribute("aria-busy", "false");
}

async function refresh() {
  try {
    await shown?.refresh?.();
  } catch (error) {
    main.firstChild?.append(errorBox(error));
  }
}

function showLive(connected) {
  const indicator = document.getElementById("live");
  indicator.textContent = connected ? "live" : "offline";
  indicator.classList.toggle("offline", !connected);
}

const live = new LiveCursor(refresh, showLive);

document.getElementById("reset").addEventListener("click", async () => {
  if (!confirm("Delete every envelope and event received? Projects stay.")) return;
  try {
    await postJSON("/stub/api/reset");
  } catch (error) {
    main.firstChild?.prepend(errorBox(error));
    return;
  }
  live.restart();
  await show();
});

window.addEventListener("hashchange", show);
live.restart();
show();
