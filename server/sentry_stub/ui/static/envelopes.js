// Envelopes as they arrived: headers, items, sizes, and each item's bytes to download.

import { contentUrl, getJSON } from "./api.js";
import { display, formatBytes, formatTime, h, jsonBlock, table } from "./dom.js";
import { hashFor } from "./nav.js";
import { projectSelect } from "./projects.js";

const WINDOW = 100; // items: the envelopes of the newest ones are shown
const ITEM_HEADINGS = ["#", "Type", "Size", "Content type", "File", "Item headers", ""];

export async function renderEnvelopes(view, params) {
  const project = params.get("project") ?? "";
  const select = await projectSelect(project);
  select.addEventListener("change", () => {
    location.hash = hashFor("/envelopes", { project: select.value });
  });
  const results = h("div", { class: "results" });
  view.append(
    h("h1", {}, "Envelopes"),
    h("div", { class: "search" }, select),
    h("p", { class: "hint" }, `The envelopes of the newest ${WINDOW} items, newest first.`),
    results,
  );

  async function refresh() {
    const { cursor } = await getJSON("/stub/api/cursor");
    const after = Math.max(0, cursor - WINDOW);
    const { data } = await getJSON("/stub/api/envelopes", { after, project, limit: WINDOW });
    if (data.length) results.replaceChildren(...data.reverse().map(envelopeCard));
    else results.replaceChildren(h("p", { class: "hint" }, "No envelopes yet."));
  }
  await refresh();
  return { refresh };
}

function envelopeCard(envelope) {
  return h(
    "article",
    { class: "card envelope" },
    h(
      "h2",
      {},
      `Envelope #${envelope.id}`,
      " ",
      h(
        "span",
        { class: "muted" },
        `${formatBytes(base64Length(envelope.raw))} via /${envelope.endpoint}/`,
      ),
    ),
    h(
      "p",
      { class: "muted" },
      [
        formatTime(envelope.received_at),
        envelope.project && `project ${envelope.project}`,
        envelope.client,
        envelope.remote_addr && `from ${envelope.remote_addr}`,
      ]
        .filter(Boolean)
        .join(" · "),
      envelope.derived_event_id
        ? [" · ", h("a", { href: hashFor(`/events/${envelope.derived_event_id}`) }, "event")]
        : null,
    ),
    envelope.forward ? forwardLine(envelope.forward) : null,
    envelope.notes.length
      ? h("ul", { class: "notes" }, envelope.notes.map((note) => h("li", {}, display(note))))
      : null,
    h("details", {}, h("summary", {}, "Envelope headers"), jsonBlock(envelope.headers)),
    table(ITEM_HEADINGS, envelope.items.map(itemRow), { class: "items" }),
  );
}

/** Where forwarding got with this envelope: pending, sent (with status) or dropped (why). */
function forwardLine(forward) {
  const parts = [`Forwarded to ${forward.upstream}: ${forward.state}`];
  if (forward.status !== null) parts.push(`HTTP ${forward.status}`);
  parts.push(`${forward.attempts} attempt${forward.attempts === 1 ? "" : "s"}`);
  if (forward.state === "pending" && forward.next_attempt_at !== null) {
    parts.push(`next at ${formatTime(forward.next_attempt_at)}`);
  }
  if (forward.reason) parts.push(forward.reason);
  return h("p", { class: `forward forward-${forward.state}` }, display(parts.join(" · ")));
}

function itemRow(item) {
  const name = item.filename || `item-${item.item_id}.bin`;
  return [
    String(item.item_id),
    display(item.type),
    formatBytes(item.length),
    display(item.content_type),
    [
      display(item.filename),
      item.attachment_type ? h("span", { class: "muted" }, ` ${item.attachment_type}`) : null,
    ],
    h("details", {}, h("summary", {}, "headers"), jsonBlock(item.headers)),
    h("a", { href: contentUrl(item.item_id), download: name }, "Download"),
  ];
}

/** The number of bytes a base64 text decodes to. */
function base64Length(text) {
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}
