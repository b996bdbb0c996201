// The native query API under /stub/api/: the only thing the UI talks to.

export class ApiError extends Error {
  constructor(status, detail, column) {
    super(detail);
    this.status = status;
    this.column = column;
  }
}

/** GET a JSON endpoint; `params` is an object (array values repeat) or URLSearchParams. */
export async function getJSON(path, params = {}, { signal } = {}) {
  return answer(await fetch(withQuery(path, params), { signal }));
}

/**
 * POST to a JSON endpoint. The content type goes with every POST, bodiless ones too: the
 * server refuses any other as a write another site's page could have sent.
 */
export async function postJSON(path, body = undefined) {
  const init = { method: "POST", headers: { "content-type": "application/json" } };
  if (body !== undefined) init.body = JSON.stringify(body);
  return answer(await fetch(path, init));
}

/** Where an item's payload bytes can be downloaded, exactly as received. */
export function contentUrl(itemId) {
  return `/stub/api/items/${Number(itemId)}/content`;
}

function withQuery(path, params) {
  const query = new URLSearchParams();
  const entries = params instanceof URLSearchParams ? params : Object.entries(params);
  for (const [name, value] of entries) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== "" && one !== null && one !== undefined) query.append(name, one);
    }
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

async function answer(response) {
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = { detail: text };
  }
  if (!response.ok) {
    const detail = body?.detail || `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, detail, body?.column);
  }
  return body;
}

/**
 * Follows the receive cursor with the long poll of /stub/api/wait and calls `onChange` each
 * time something new arrived; `onStatus` hears whether the server is reachable.
 */
export class LiveCursor {
  constructor(onChange, onStatus) {
    this.onChange = onChange;
    this.onStatus = onStatus;
    this.controller = null;
  }

  /** (Re)start following from the current cursor, e.g. after a reset moved it back. */
  restart() {
    this.controller?.abort();
    this.controller = new AbortController();
    this.follow(this.controller.signal);
  }

  async follow(signal) {
    let cursor = null;
    while (!signal.aborted) {
      try {
        if (cursor === null) {
          cursor = (await getJSON("/stub/api/cursor", {}, { signal })).cursor;
          this.onStatus(true);
        }
        const next = await getJSON("/stub/api/wait", { after: cursor, timeout: 20 }, { signal });
        this.onStatus(true);
        if (next.cursor !== cursor) {
          cursor = next.cursor;
          this.onChange();
        }
      } catch (error) {
        if (signal.aborted) return;
        this.onStatus(false, error);
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
  }
}
