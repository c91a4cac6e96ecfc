/* One key as a table row (a card on narrow screens): its cells, status and message line. */
import { el, setAttr, setText } from "./dom.js";
import { ago, clockTime, duration, fmt, serverNow } from "./format.js";
import { providerDefault, providerName } from "./providers.js";

export const COLUMNS = [
  ["provider", "Provider"], ["key", "Key"], ["base_url", "Base URL"], ["status", "Status"],
  ["requests", "Requests"], ["successes", "Successes"], ["failures", "Failures"],
  ["tokens", "Tokens"], ["last_used", "Last used"], ["last_error", "Last error"],
  ["actions", "Actions"],
];

export const STATUS = {
  active: { label: "Active", cls: "status-active" },
  cooling_down: { label: "Cooling down", cls: "status-cooling" },
  invalid: { label: "Invalid", cls: "status-invalid" },
  disabled: { label: "Disabled", cls: "status-disabled" },
};

const FAILURE_KINDS = {
  rate_limited: "rate-limited", auth: "key refused", server_error: "server error",
  network: "unreachable", timeout: "timed out", bad_request: "bad request",
  stream_broken: "stream cut",
};

/** The row of `key`: a tbody holding the cells, the edit form's row and the message row. */
export function createRow(key, actions) {
  const row = { id: key.id, key, cells: {}, editing: false, busy: false };
  const tr = el("tr", { class: "key-row" });
  for (const [name, label] of COLUMNS) {
    const td = el("td", { class: `col-${name}`, "data-label": label });
    row.cells[name] = td;
    tr.append(td);
  }
  row.masked = el("code", { class: "masked" });
  row.origin = el("span", { class: "origin" });
  row.cells.key.append(row.masked, row.origin);
  row.baseUrl = el("span", { class: "url" });
  row.cells.base_url.append(row.baseUrl);
  row.badgeText = el("span", { class: "badge-text" });
  row.badge = el("span", { class: "badge" }, el("span", { class: "dot", "aria-hidden": "true" }), row.badgeText);
  row.statusDetail = el("span", { class: "status-detail" });
  row.cells.status.append(row.badge, row.statusDetail);
  row.failCount = el("span", { class: "num" });
  row.failKinds = el("span", { class: "sub" });
  row.cells.failures.append(row.failCount, row.failKinds);
  row.tokenTotal = el("span", { class: "num" });
  row.tokenSplit = el("span", { class: "sub" });
  row.cells.tokens.append(row.tokenTotal, row.tokenSplit);
  row.lastUsed = el("time", {});
  row.cells.last_used.append(row.lastUsed);
  row.lastError = el("span", { class: "error-text" });
  row.cells.last_error.append(row.lastError);

  const button = (text, action, cls) => el("button", {
    type: "button", class: `btn btn-small ${cls || "btn-secondary"}`, text,
    onclick: () => action(row),
  });
  row.editBtn = button("Edit", actions.edit);
  row.toggleBtn = button("Disable", actions.toggle);
  row.testBtn = button("Test", actions.test);
  row.deleteBtn = button("Delete", actions.remove, "btn-danger-quiet");
  row.resetBtn = button("Reset", actions.reset, "btn-secondary btn-wide");
  row.cells.actions.append(el("div", { class: "actions" },
    row.editBtn, row.toggleBtn, row.testBtn, row.deleteBtn, row.resetBtn));

  row.messageText = el("span", { class: "row-message-text" });
  row.messageClose = el("button", {
    type: "button", class: "btn btn-quiet btn-small", text: "Dismiss",
    onclick: () => rowMessage(row, ""),
  });
  row.message = el("div", { class: "message row-message", role: "status" }, row.messageText, row.messageClose);
  row.messageRow = el("tr", { class: "message-row", hidden: true },
    el("td", { colspan: COLUMNS.length }, row.message));
  row.editCell = el("td", { colspan: COLUMNS.length });
  row.editRow = el("tr", { class: "edit-row", hidden: true }, row.editCell);
  row.tbody = el("tbody", { class: "key", "data-key-id": key.id }, tr, row.editRow, row.messageRow);
  return row;
}

/** Bring every cell up to date with `key`, touching only what changed. */
export function updateRow(row, key) {
  row.key = key;
  const who = `${key.api_key} (${providerName(key.provider)}, ${key.model})`;
  setText(row.cells.provider, providerName(key.provider));
  setAttr(row.cells.provider, "title", key.provider);
  setText(row.masked, key.api_key);
  setText(row.origin, key.source === "env" ? `id ${key.id} · from LLM_KEYS` : `id ${key.id} · added here`);
  setText(row.baseUrl, key.base_url || "default");
  row.baseUrl.classList.toggle("muted", !key.base_url);
  setAttr(row.baseUrl, "title", key.base_url ? null : providerDefault(key.provider));

  const status = STATUS[key.status] || { label: key.status, cls: "status-unknown" };
  row.badge.className = `badge ${status.cls}`;
  row.tbody.dataset.status = key.status;
  const stats = key.stats || {};
  setText(row.cells.requests, fmt(stats.requests));
  setText(row.cells.successes, fmt(stats.successes));
  setText(row.failCount, fmt(stats.failures));
  setText(row.failKinds, Object.entries(stats.failures_by_kind || {})
    .map(([kind, n]) => `${FAILURE_KINDS[kind] || kind} ${fmt(n)}`).join(", "));
  const prompt = stats.prompt_tokens || 0;
  const completion = stats.completion_tokens || 0;
  setText(row.tokenTotal, fmt(prompt + completion));
  setText(row.tokenSplit, prompt + completion ? `${fmt(prompt)} in · ${fmt(completion)} out` : "");
  setText(row.lastError, stats.last_error || "—");
  row.lastError.classList.toggle("muted", !stats.last_error);
  setAttr(row.lastError, "title", stats.last_error || null);
  // Focusable when present, so a keyboard can unfold a long message as a hover does.
  setAttr(row.lastError, "tabindex", stats.last_error ? "0" : null);
  paintTimes(row);

  setText(row.toggleBtn, key.enabled ? "Disable" : "Enable");
  row.resetBtn.hidden = !(key.status === "cooling_down" || key.status === "invalid");
  const resetText = key.status === "invalid" ? "Mark as valid" : "End cooldown";
  if (!row.resetBtn.hidden) setText(row.resetBtn, resetText);
  setAttr(row.editBtn, "aria-label", `Edit key ${who}`);
  setAttr(row.toggleBtn, "aria-label", `${key.enabled ? "Disable" : "Enable"} key ${who}`);
  setAttr(row.testBtn, "aria-label", `Test key ${who}`);
  setAttr(row.resetBtn, "aria-label", `${resetText} for key ${who}`);
  setAttr(row.deleteBtn, "aria-label", `Delete key ${who}`);
  row.search = [key.model, key.provider, providerName(key.provider), key.api_key, key.id,
    key.base_url || "", status.label, key.source].join(" ").toLowerCase();
}

/** The cooldown countdown and "last used"; true when a cooldown just ran out. */
export function paintTimes(row) {
  const key = row.key;
  const stats = key.stats || {};
  if (stats.last_used) {
    setText(row.lastUsed, ago(stats.last_used));
    setAttr(row.lastUsed, "datetime", new Date(stats.last_used * 1000).toISOString());
    setAttr(row.lastUsed, "title", clockTime(stats.last_used));
  } else {
    setText(row.lastUsed, "never");
  }
  const status = STATUS[key.status] || { label: key.status };
  setText(row.badgeText, status.label);
  if (key.status === "cooling_down" && key.cooldown_until) {
    const left = key.cooldown_until - serverNow() / 1000;
    setText(row.statusDetail, `${duration(left)} left`);
    setAttr(row.statusDetail, "title", `Skipped until ${clockTime(key.cooldown_until)}`);
    return left <= 0;
  }
  setText(row.statusDetail, "");
  return false;
}

/** A line under the row; errors stay until dismissed or replaced, the rest fade. */
export function rowMessage(row, text, kind) {
  clearTimeout(row.messageTimer);
  row.messageRow.hidden = !text;
  row.message.className = `message row-message message-${kind || "info"}`;
  row.message.setAttribute("role", kind === "error" ? "alert" : "status");
  setText(row.messageText, text || "");
  row.messageClose.hidden = kind !== "error";
  if (text && kind === "ok") row.messageTimer = setTimeout(() => rowMessage(row, ""), 12000);
}

/** Run `work` once at a time per row, showing the row as busy. */
export async function busy(row, button, work) {
  if (row.busy) return;
  row.busy = true;
  // aria-disabled, not disabled: a disabled button drops keyboard focus.
  button.setAttribute("aria-disabled", "true");
  row.tbody.setAttribute("aria-busy", "true");
  try {
    await work();
  } finally {
    row.busy = false;
    button.removeAttribute("aria-disabled");
    row.tbody.removeAttribute("aria-busy");
  }
}

export const keyPath = (row, suffix) => `keys/${encodeURIComponent(row.id)}${suffix || ""}`;
