// Alerts: the alert rules that fired (issue and metric alerts, with what each action would
// send), and the fault rules the server applies to ingest right now.

import { getJSON } from "./api.js";
import { display, formatTime, h, section, table } from "./dom.js";
import { hashFor } from "./nav.js";

export async function renderAlerts(view) {
  const history = h("div", {});
  const faults = h("div", {});
  view.append(
    h("h1", {}, "Alerts"),
    section("Alerts fired", history),
    section("Fault rules", faults),
  );

  async function refresh() {
    const [alerts, rules] = await Promise.all([
      getJSON("/stub/api/alerts"),
      getJSON("/stub/api/faults"),
    ]);
    history.replaceChildren(
      alerts.data.length
        ? alertsTable(alerts.data)
        : h(
            "p",
            { class: "hint" },
            "No alert fired. Alert rules come from the config file ([[alerts]], see Alert rules " +
              "in the README).",
          ),
    );
    faults.replaceChildren(
      rules.data.length
        ? faultsTable(rules.data)
        : h(
            "p",
            { class: "hint" },
            "No fault rule: add one in the config file or with POST /stub/api/faults.",
          ),
    );
  }
  await refresh();
  return { refresh };
}

function alertsTable(alerts) {
  // Newest first, as Sentry's alert history lists them.
  const rows = alerts
    .slice()
    .reverse()
    .map((alert) => [
      h("span", { class: "nowrap" }, formatTime(alert.fired_at)),
      display(alert.rule),
      display(alert.kind),
      display(alert.status),
      display(alert.project),
      alert.event_id
        ? h("a", { href: hashFor(`/events/${alert.event_id}`) }, display(alert.event_id).slice(0, 8))
        : null,
      display((alert.reasons ?? []).join("; ")),
      display(alert.actions.map((action) => `${display(action.kind)} (${display(action.delivery?.status)})`).join(", ")),
    ]);
  const headings = ["Fired", "Rule", "Kind", "Status", "Project", "Event", "Why", "Actions"];
  return table(headings, rows, { class: "alerts" });
}

function faultsTable(faults) {
  const rows = faults.map(({ id, kind, project, categories, hits, active, expires_in, ...rule }) => [
    String(id),
    display(kind),
    display(project ?? "all"),
    categories.length ? categories.join(", ") : "all",
    String(hits),
    active ? "active" : "expired",
    expires_in === null ? "never" : `${Math.round(expires_in)} s`,
    h("code", {}, JSON.stringify(rule)),
  ]);
  const headings = ["Id", "Kind", "Project", "Categories", "Hits", "State", "Expires in", "Rule"];
  return table(headings, rows, { class: "faults" });
}
