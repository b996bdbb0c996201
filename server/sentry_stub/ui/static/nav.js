// Hash routes: `#/path?name=value`, so every view can be bookmarked and shared.

/** The hash for a route; empty parameter values are left out. */
export function hashFor(path, params = []) {
  const query = new URLSearchParams();
  const entries = Array.isArray(params) ? params : Object.entries(params);
  for (const [name, value] of entries) {
    if (value !== "" && value !== null && value !== undefined) query.append(name, value);
  }
  const text = query.toString();
  return `#${path}${text ? `?${text}` : ""}`;
}

/** Go to a route; going to the current one again renders it again. */
export function navigate(path, params = []) {
  const hash = hashFor(path, params);
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

/** The current route as `{ path, params }`. */
export function currentRoute() {
  const hash = location.hash.replace(/^#/, "");
  const mark = hash.indexOf("?");
  const path = mark === -1 ? hash : hash.slice(0, mark);
  const params = new URLSearchParams(mark === -1 ? "" : hash.slice(mark + 1));
  return { path, params };
}
