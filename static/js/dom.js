/* Building and updating the page without ever parsing data as markup. */

export const $ = (id) => document.getElementById(id);

/** An element with attributes and children; strings become text nodes, never markup. */
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

/** Set text only when it changed, so a refresh leaves selections and screen readers alone. */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

export function setAttr(node, name, value) {
  if (value === null || value === undefined) {
    if (node.hasAttribute(name)) node.removeAttribute(name);
  } else if (node.getAttribute(name) !== String(value)) {
    node.setAttribute(name, String(value));
  }
}

/** Put `node` at position `index` of `parent` only if it is elsewhere (moving blurs focus). */
export function placeAt(parent, node, index) {
  const current = parent.children[index];
  if (current !== node) parent.insertBefore(node, current || null);
}

/** Show `text` in a message box styled by `kind` (ok, error, info); no text hides it. */
export function showMessage(node, text, kind) {
  node.classList.remove("message-ok", "message-error", "message-info");
  if (!text) {
    node.hidden = true;
    node.textContent = "";
    return;
  }
  node.classList.add("message", `message-${kind || "info"}`);
  node.textContent = text;
  node.hidden = false;
}

/** A Show/Hide button for a password field. */
export function revealButton(input) {
  const button = el("button", {
    type: "button", class: "btn btn-quiet reveal", "aria-pressed": "false", text: "Show",
    "aria-controls": input.id || null,
  });
  button.addEventListener("click", () => setRevealed(input, button, input.type === "password"));
  return button;
}

export function setRevealed(input, button, show) {
  input.type = show ? "text" : "password";
  button.textContent = show ? "Hide" : "Show";
  button.setAttribute("aria-pressed", String(show));
}

/** Clear a password field and mask it again. */
export function clearSecret(input) {
  input.value = "";
  const button = input.parentElement.querySelector(".reveal");
  if (button) setRevealed(input, button, false);
  else input.type = "password";
}

/** Field errors: `fields` maps an API field name to {input, error}. */
export function clearFieldErrors(fields) {
  for (const f of Object.values(fields)) {
    f.input.removeAttribute("aria-invalid");
    f.error.hidden = true;
    f.error.textContent = "";
  }
}

export function setFieldError(field, text, focus = true) {
  field.error.textContent = text;
  field.error.hidden = false;
  field.input.setAttribute("aria-invalid", "true");
  if (focus) field.input.focus();
}

/** A page-wide notice under the keys heading, for what has no row left to show it on. */
export function announce(text, kind) {
  showMessage($("announce"), text, kind || "ok");
}
