// Issues: events grouped as the stub groups them (by fingerprint, see rules/grouping), with the
// alert rules each one fired and its owners by the project's ownership rules.

import { getJSON } from "./api.js";
import { display, formatTime, h, table } from "./dom.js";
import { levelBadge } from "./events.js";
import { hashFor } from "./nav.js";
import { emptyState } from "./projects.js";

export async function renderIssues(view) {
  const results = h("div", { class: "results" });
  view.append(h("h1", {}, "Issues"), results);

  async function refresh() {
    const [issues, alerts] = await Promise.all([
      getJSON("/stub/api/issues"),
      getJSON("/stub/api/alerts"),
    ]);
    const newestFirst = issues.data.slice().sort((a, b) => b.last_seen - a.last_seen);
    const owners = await Promise.all(newestFirst.map(ownersOf));
    results.replaceChildren(
      newestFirst.length
        ? issuesTable(newestFirst, alertsByIssue(alerts.data), owners)
        : await emptyState("No issues yet: errors and messages are grouped here as they arrive."),
    );
  }
  await refresh();
  return { refresh };
}

async function ownersOf(issue) {
  if (!issue.last_event_id) return [];
  try {
    const answer = await getJSON(`/stub/api/owners/${encodeURIComponent(issue.last_event_id)}`);
    return answer.owners ?? [];
  } catch {
    return []; // an issue whose last event is gone has no owners to show
  }
}

function alertsByIssue(firings) {
  const byIssue = new Map();
  for (const firing of firings) {
    if (firing.issue_id === null || firing.issue_id === undefined) continue;
    byIssue.set(firing.issue_id, [...(byIssue.get(firing.issue_id) ?? []), firing.rule]);
  }
  return byIssue;
}

function issuesTable(issues, alerts, owners) {
  const rows = issues.map((issue, index) => [
    h("code", {}, display(issue.short_id)),
    issue.last_event_id
      ? h("a", { href: hashFor(`/events/${issue.last_event_id}`) }, display(issue.title))
      : display(issue.title),
    issue.level ? levelBadge(issue.level) : null,
    String(issue.times_seen),
    String(issue.users ?? ""),
    h("span", { class: "nowrap" }, formatTime(issue.first_seen)),
    h("span", { class: "nowrap" }, formatTime(issue.last_seen)),
    display(issue.status),
    display(issue.project),
    [...new Set(alerts.get(issue.id) ?? [])].join(", "),
    owners[index].map((owner) => display(owner.identifier)).join(", "),
  ]);
  const headings = [
    "ID",
    "Title",
    "Level",
    "Events",
    "Users",
    "First seen",
    "Last seen",
    "Status",
    "Project",
    "Alerts fired",
    "Owners",
  ];
  return table(headings, rows, { class: "issues" });
}
