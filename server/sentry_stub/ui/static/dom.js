// Building the page from data the stub received: every string becomes a text node or an
// attribute value, never markup, so a payload cannot inject elements or scripts.

/** An element with attributes (`on...` ones are event listeners) and children. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  return append(element, ...children);
}

/** Append children, as `h` takes them: nested arrays are flattened, null and false skipped. */
export function append(parent, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : String(child));
  }
  return parent;
}

/** A query box as the forms have them: plain text, no spelling or autofill help. */
export function textInput(name, value, placeholder, label, type = "text") {
  return h("input", {
    type,
    name,
    value,
    placeholder,
    "aria-label": label,
    spellcheck: "false",
    autocomplete: "off",
  });
}

/** A table; a cell is a string, a number, a node, or null for an empty cell. */
export function table(headings, rows, attributes = {}) {
  return h(
    "table",
    attributes,
    h("thead", {}, h("tr", {}, headings.map((heading) => h("th", {}, heading)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell))))),
  );
}

/** A two-column table of an object's keys and values (nested values as JSON); the keys in
 * `flagged` (a Map of key to note) carry a badge with that note. */
export function keyValueTable(object, flagged = new Map()) {
  const rows = Object.entries(object ?? {}).map(([key, value]) => [
    h(
      "span",
      { class: "key" },
      key,
      flagged.has(key) ? h("span", { class: "badge pii", title: flagged.get(key) }, "PII") : null,
    ),
    display(value),
  ]);
  return table(["Key", "Value"], rows, { class: "key-value" });
}

/** A value as readable text: strings as they are, anything else as JSON. */
export function display(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function jsonBlock(value, attributes = {}) {
  return h("pre", { class: "json", ...attributes }, JSON.stringify(value, null, 2));
}

export function section(title, ...content) {
  return h("section", {}, h("h2", {}, title), ...content);
}

export function copyButton(text, label = "Copy") {
  const button = h("button", { type: "button", class: "copy" }, label);
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Copy blocked: select the text";
    }
    setTimeout(() => (button.textContent = label), 1500);
  });
  return button;
}

/** An API error; a query error also shows the query with a caret under the faulty column. */
export function errorBox(error, queryText = "") {
  const box = h("div", { class: "error", role: "alert" }, h("p", {}, error.message));
  if (error.column && queryText) {
    const caret = " ".repeat(error.column - 1) + "^";
    box.append(h("pre", { class: "caret" }, queryText, "\n", caret));
  }
  return box;
}

/** Fill `list` with a search's warnings (one item each, as text), or empty it. */
export function showWarnings(list, warnings = []) {
  list.replaceChildren(...warnings.map((warning) => h("li", {}, warning)));
}

export function formatTime(seconds) {
  if (typeof seconds !== "number") return display(seconds);
  return new Date(seconds * 1000).toLocaleString(undefined, { hour12: false });
}

export function formatBytes(count) {
  if (count < 1024) return `${count} B`;
  if (count < 1024 * 1024) return `${(count / 1024).toFixed(1)} KiB`;
  return `${(count / 1024 / 1024).toFixed(1)} MiB`;
}
