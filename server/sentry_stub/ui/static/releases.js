// Releases: release health from the sessions the SDKs sent (per release and environment), and
// each release's state as sentry-cli reported it through the web API.

import { getJSON } from "./api.js";
import { display, h, section, table } from "./dom.js";
import { filterLink } from "./events.js";

export async function renderReleases(view) {
  const health = h("div", {});
  const states = h("div", {});
  view.append(
    h("h1", {}, "Releases"),
    section("Release health", health),
    section("Releases created with sentry-cli", states),
  );

  async function refresh() {
    const [sessions, releases] = await Promise.all([
      getJSON("/stub/api/rows/sessions"),
      getJSON("/stub/api/releases"),
    ]);
    const groups = releaseHealth(sessions.data);
    health.replaceChildren(
      groups.length
        ? healthTable(groups)
        : h(
            "p",
            { class: "hint" },
            "No sessions yet: give the SDK a release (sentry_sdk.init(release=...)); it sends " +
              "sessions by default.",
          ),
    );
    states.replaceChildren(
      releases.data.length
        ? releasesTable(releases.data)
        : h("p", { class: "hint" }, "None: sentry-cli releases new VERSION creates one."),
    );
  }
  await refresh();
  return { refresh };
}

/**
 * Sessions counted per release and environment as Sentry's release health counts them: a
 * session's last update decides its outcome (an exited session with errors is errored), and
 * aggregates add their per-status counts. Users are the distinct ids (`did`) of single sessions.
 */
export function releaseHealth(rows) {
  const lastUpdate = new Map(); // sid -> its newest row
  const groups = new Map();
  const groupOf = (row) => {
    const key = JSON.stringify([row.release ?? "", row.environment ?? ""]);
    if (!groups.has(key)) {
      groups.set(key, {
        release: row.release,
        environment: row.environment,
        counts: { healthy: 0, errored: 0, crashed: 0, abnormal: 0 },
        users: new Set(),
        crashedUsers: new Set(),
      });
    }
    return groups.get(key);
  };
  for (const row of rows) {
    if (row.aggregate) {
      const counts = groupOf(row).counts;
      counts.healthy += row.exited ?? 0;
      counts.errored += row.errored ?? 0;
      counts.crashed += row.crashed ?? 0;
      counts.abnormal += row.abnormal ?? 0;
    } else if (row.sid) {
      lastUpdate.set(row.sid, row);
    }
  }
  for (const row of lastUpdate.values()) {
    const group = groupOf(row);
    const outcome = sessionOutcome(row);
    if (outcome) group.counts[outcome] += 1;
    if (row.did) {
      group.users.add(row.did);
      if (outcome === "crashed") group.crashedUsers.add(row.did);
    }
  }
  return [...groups.values()];
}

function sessionOutcome(row) {
  if (row.status === "crashed" || row.status === "abnormal") return row.status;
  if (row.status === "errored" || (row.errors ?? 0) > 0) return "errored";
  if (row.status === "exited" || row.status === "ok") return "healthy";
  return null;
}

function percent(part, whole) {
  return whole ? `${((part / whole) * 100).toFixed(1)}%` : "";
}

function healthTable(groups) {
  const rows = groups.map((group) => {
    const { healthy, errored, crashed, abnormal } = group.counts;
    const total = healthy + errored + crashed + abnormal;
    const users = group.users.size;
    return [
      filterLink("release", group.release) ?? "(none)",
      filterLink("environment", group.environment) ?? "(none)",
      String(total),
      String(healthy),
      String(errored),
      String(crashed),
      String(abnormal),
      percent(total - crashed, total),
      users ? String(users) : "",
      percent(users - group.crashedUsers.size, users),
    ];
  });
  const headings = [
    ...["Release", "Environment", "Sessions", "Healthy", "Errored", "Crashed", "Abnormal"],
    ...["Crash-free sessions", "Users", "Crash-free users"],
  ];
  return table(headings, rows, { class: "release-health" });
}

function releasesTable(releases) {
  const rows = releases.map((release) => [
    filterLink("release", release.version),
    (release.projects ?? []).map(display).join(", "),
    display(release.date_created),
    release.finalized ? `yes (${display(release.date_released)})` : "no",
    (release.deploys ?? []).map((deploy) => display(deploy.environment)).join(", "),
    String((release.files ?? []).length + (release.artifact_bundles ?? []).length),
  ]);
  const headings = ["Version", "Projects", "Created", "Finalized", "Deploys", "Artifacts"];
  return table(headings, rows, { class: "releases" });
}
