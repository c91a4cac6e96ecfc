/* The key management page: plain JavaScript over the admin API (/api/keys, /api/providers). */
"use strict";

(function () {
  const REFRESH_MS = 5000;
  const TOKEN_STORE = "llm-proxy.admin-token";
  // Relative to /static/index.html, so the page also works behind a path prefix.
  const API_BASE = new URL("../api/", location.href);

  const FIELD_LABELS = {
    provider: "Provider", model: "Model", api_key: "API key", base_url: "Base URL",
    enabled: "Enabled", entry: "It",
  };
  const STATUS = {
    active: { label: "Active", cls: "status-active" },
    cooling_down: { label: "Cooling down", cls: "status-cooling" },
    invalid: { label: "Invalid", cls: "status-invalid" },
    disabled: { label: "Disabled", cls: "status-disabled" },
  };
  const PROVIDER_NAMES = {
    openai: "OpenAI", anthropic: "Anthropic", gemini: "Google Gemini", deepseek: "DeepSeek",
    grok: "xAI Grok", "openai-compatible": "OpenAI-compatible",
  };
  const FAILURE_KINDS = {
    rate_limited: "rate-limited", auth: "key refused", server_error: "server error",
    network: "unreachable", timeout: "timed out", bad_request: "bad request",
    stream_broken: "stream cut",
  };
  const COLUMNS = [
    ["provider", "Provider"], ["key", "Key"], ["base_url", "Base URL"], ["status", "Status"],
    ["requests", "Requests"], ["successes", "Successes"], ["failures", "Failures"],
    ["tokens", "Tokens"], ["last_used", "Last used"], ["last_error", "Last error"],
    ["actions", "Actions"],
  ];

  const state = {
    token: null,
    signedIn: false,
    keys: [],
    providers: [],
    skewMs: 0,
    refreshTimer: null,
    tickTimer: null,
    seq: 0,
    lastOk: null,
    failingSince: null,
    filter: "",
  };
  const rowsById = new Map();
  const groupsByModel = new Map();
  const rowsByBody = new WeakMap();
  let uid = 0;

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- DOM helpers

  /** An element with attributes and children; strings become text nodes, never markup. */
  function el(tag, props, ...children) {
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
  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  function setAttr(node, name, value) {
    if (value === null || value === undefined) {
      if (node.hasAttribute(name)) node.removeAttribute(name);
    } else if (node.getAttribute(name) !== String(value)) {
      node.setAttribute(name, String(value));
    }
  }

  /** Put `node` at position `index` of `parent` only if it is elsewhere (moving blurs focus). */
  function placeAt(parent, node, index) {
    const current = parent.children[index];
    if (current !== node) parent.insertBefore(node, current || null);
  }

  function showMessage(node, text, kind) {
    node.classList.remove("message-ok", "message-error", "message-info");
    if (!text) {
      node.hidden = true;
      node.textContent = "";
      return;
    }
    node.classList.add(`message-${kind || "info"}`);
    node.textContent = text;
    node.hidden = false;
  }

  // ---------------------------------------------------------------- formatting

  const numberFormat = new Intl.NumberFormat();
  const fmt = (n) => numberFormat.format(n || 0);
  const serverNow = () => Date.now() + state.skewMs;
  const providerName = (name) => PROVIDER_NAMES[name] || name;

  function duration(seconds) {
    const s = Math.max(0, Math.ceil(seconds));
    if (s < 60) return `${s} s`;
    if (s < 3600) {
      const rest = s % 60;
      return rest ? `${Math.floor(s / 60)} min ${rest} s` : `${s / 60} min`;
    }
    const minutes = Math.floor((s % 3600) / 60);
    return `${Math.floor(s / 3600)} h${minutes ? ` ${minutes} min` : ""}`;
  }

  function ago(epochSeconds) {
    const s = Math.max(0, Math.round((serverNow() - epochSeconds * 1000) / 1000));
    if (s < 5) return "just now";
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
    return new Date(epochSeconds * 1000).toLocaleDateString();
  }

  function clockTime(epochSeconds) {
    return new Date(epochSeconds * 1000).toLocaleString();
  }

  function sentence(text) {
    const t = String(text || "").trim();
    if (!t) return "";
    const first = t.charAt(0).toUpperCase() + t.slice(1);
    return /[.!?]$/.test(first) ? first : `${first}.`;
  }

  // ---------------------------------------------------------------- the API

  class ApiError extends Error {
    constructor(status, message, param, code) {
      super(message || "");
      this.status = status;
      this.param = param || null;
      this.code = code || null;
    }
  }

  async function api(method, path, body) {
    const headers = { Authorization: `Bearer ${state.token}`, Accept: "application/json" };
    const init = { method, headers, cache: "no-store", credentials: "omit" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(new URL(path, API_BASE), init);
    } catch (_) {
      throw new ApiError(0, "");
    }
    noteServerClock(resp);
    if (resp.status === 204) return null;
    let data = null;
    try {
      data = await resp.json();
    } catch (_) {
      data = null;
    }
    if (!resp.ok) {
      const e = (data && typeof data.error === "object" && data.error) || {};
      const err = new ApiError(resp.status, typeof e.message === "string" ? e.message : "",
                               e.param, e.code);
      if (resp.status === 401 && state.signedIn) expireSession();
      throw err;
    }
    if (data === null) throw new ApiError(resp.status, "The proxy answered with something that is not JSON.");
    return data;
  }

  function noteServerClock(resp) {
    const date = Date.parse(resp.headers.get("Date") || "");
    if (Number.isNaN(date)) return;
    // The header has one-second resolution: correct only a clock that is clearly off.
    const skew = date - Date.now();
    state.skewMs = Math.abs(skew) > 2000 ? skew : 0;
  }

  /** The server's message made readable: "field 'base_url' must be…" → "Base URL must be…". */
  function friendly(message) {
    const m = /^field '([^']+)' ([\s\S]*)$/.exec(message || "");
    if (m) return sentence(`${FIELD_LABELS[m[1]] || m[1]} ${m[2]}`);
    return sentence(message);
  }

  /** One sentence or two saying what went wrong, in words. */
  function describe(err) {
    const said = friendly(err.message);
    switch (err.status) {
      case 0:
        return "The proxy could not be reached. Check that it is running, then try again.";
      case 401:
        return "The proxy refused the admin token. Sign in again.";
      case 404:
        return "This key no longer exists: it was probably deleted from another window.";
      case 409:
        return said || "This key is already in the pool.";
      case 413:
        return "That is more than the proxy accepts in one request: add the keys in smaller batches.";
      default:
        if (err.status >= 500) {
          return `The proxy failed to do this (HTTP ${err.status}); its log says why.${said ? ` ${said}` : ""}`;
        }
        return said || `The proxy refused this (HTTP ${err.status}).`;
    }
  }

  // ---------------------------------------------------------------- signing in

  function tokensFromLink() {
    const hash = location.hash.replace(/^#/, "");
    if (!hash) return null;
    const parts = hash.split("&");
    const index = parts.findIndex((p) => p.startsWith("token="));
    if (index < 0) return null;
    const raw = parts[index].slice("token=".length).trim();
    parts.splice(index, 1);
    // Take the token out of the address bar (and so out of history and bookmarks) at once.
    const rest = parts.join("&");
    history.replaceState(history.state, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
    if (!raw) return null;
    const candidates = [raw];
    try {
      // The logged link is not URL-encoded, but a browser may have encoded some characters.
      const decoded = decodeURIComponent(raw);
      if (decoded !== raw) candidates.push(decoded);
    } catch (_) { /* keep the raw form */ }
    return candidates;
  }

  async function signIn(candidates, how) {
    const submit = $("signin-submit");
    submit.setAttribute("aria-busy", "true");
    let failure = null;
    for (const token of candidates) {
      state.token = token;
      try {
        const data = await api("GET", "keys");
        submit.removeAttribute("aria-busy");
        sessionStorage.setItem(TOKEN_STORE, token);
        enterApp(data.keys, how);
        return;
      } catch (err) {
        failure = err;
        if (err.status !== 401) break;
      }
    }
    submit.removeAttribute("aria-busy");
    state.token = null;
    if (failure.status === 401) sessionStorage.removeItem(TOKEN_STORE);
    showSignIn(signInError(failure, how), failure.status === 401 ? "" : candidates[0]);
  }

  function signInError(err, how) {
    if (err.status !== 401) return describe(err);
    if (how === "link") {
      return "The proxy refused the token in this link. When ADMIN_TOKEN is not set, the proxy " +
        "makes a new token at every start: open the link from its latest log, or paste the token below.";
    }
    if (how === "stored") {
      return "The proxy no longer accepts the saved token (it may have restarted with a new one). " +
        "Sign in again with the link from its log.";
    }
    return "The proxy refused this admin token. Compare it with ADMIN_TOKEN, or open the link " +
      "the proxy logged at start.";
  }

  function showSignIn(error, prefill) {
    state.signedIn = false;
    stopTimers();
    clearKeys();
    $("app").hidden = true;
    $("session").hidden = true;
    $("copy-area").hidden = true;
    $("copy-fallback").hidden = true;
    $("signin").hidden = false;
    const input = $("signin-token");
    input.value = prefill || "";
    showMessage($("signin-error"), error || "", "error");
    setAttr(input, "aria-invalid", error ? "true" : null);
    input.focus();
  }

  function enterApp(keys, how) {
    state.signedIn = true;
    $("signin").hidden = true;
    $("signin-token").value = "";
    showMessage($("signin-error"), "");
    $("app").hidden = false;
    $("session").hidden = false;
    $("copy-area").hidden = false;
    markConnected();
    render(keys);
    loadProviders();
    scheduleRefresh();
    state.tickTimer = setInterval(tick, 1000);
    if (how === "form") $("main").focus();
  }

  function signOut() {
    state.token = null;
    sessionStorage.removeItem(TOKEN_STORE);
    showSignIn("");
  }

  function expireSession() {
    state.token = null;
    sessionStorage.removeItem(TOKEN_STORE);
    showSignIn("The proxy stopped accepting the admin token (it may have restarted with a new " +
      "one). Sign in again with the link from its log.");
  }

  function stopTimers() {
    clearTimeout(state.refreshTimer);
    clearInterval(state.tickTimer);
    state.refreshTimer = null;
    state.tickTimer = null;
  }

  // ---------------------------------------------------------------- refreshing

  function scheduleRefresh(delay) {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(refresh, delay === undefined ? REFRESH_MS : delay);
  }

  /** Fetch the keys and update the page in place; the newest call wins. */
  async function refresh() {
    if (!state.signedIn) return;
    clearTimeout(state.refreshTimer);
    const seq = ++state.seq;
    try {
      const data = await api("GET", "keys");
      if (seq !== state.seq || !state.signedIn) return;
      render(data.keys);
      markConnected();
      if (!state.providers.length) loadProviders();
    } catch (err) {
      if (seq !== state.seq || err.status === 401) return;
      markDisconnected(err);
    } finally {
      if (seq === state.seq && state.signedIn) scheduleRefresh();
    }
  }

  function markConnected() {
    state.lastOk = Date.now();
    state.failingSince = null;
    const banner = $("connection-error");
    if (!banner.hidden) showMessage(banner, "");
    updateRefreshState();
  }

  function markDisconnected(err) {
    if (state.failingSince === null) state.failingSince = Date.now();
    const since = new Date(state.failingSince).toLocaleTimeString();
    const why = err.status === 0 ? "could not be reached" : `answered HTTP ${err.status}`;
    const banner = $("connection-error");
    setText(banner, `Since ${since} the proxy ${why}, so the list below may be out of date. ` +
      `The page keeps trying every ${REFRESH_MS / 1000} s.`);
    banner.hidden = false;
    updateRefreshState();
  }

  function updateRefreshState() {
    const node = $("refresh-state");
    if (state.failingSince !== null) {
      setText(node, "Not updating");
      node.classList.add("stale");
      return;
    }
    node.classList.remove("stale");
    if (state.lastOk === null) return;
    const s = Math.round((Date.now() - state.lastOk) / 1000);
    setText(node, s < 2 ? "Updated just now" : `Updated ${s} s ago`);
  }

  /** Once a second: countdowns and "x s ago" texts, with no request. */
  function tick() {
    updateRefreshState();
    let cooldownOver = false;
    for (const row of rowsById.values()) {
      if (paintTimes(row)) cooldownOver = true;
    }
    if (cooldownOver) scheduleRefresh(300);
  }

  // ---------------------------------------------------------------- rendering the keys

  function render(keys) {
    state.keys = keys;
    const ids = new Set(keys.map((k) => k.id));
    for (const [id, row] of rowsById) {
      if (ids.has(id)) continue;
      if (row.editing) announce(`The key ${row.key.api_key} you were editing was deleted elsewhere.`, "error");
      row.tbody.remove();
      rowsById.delete(id);
    }
    const models = [...new Set(keys.map((k) => k.model))].sort((a, b) => a.localeCompare(b));
    for (const [model, group] of groupsByModel) {
      if (!models.includes(model)) {
        group.section.remove();
        groupsByModel.delete(model);
      }
    }
    const container = $("groups");
    models.forEach((model, gi) => {
      const group = groupsByModel.get(model) || createGroup(model);
      placeAt(container, group.section, gi);
      const members = keys.filter((k) => k.model === model);
      members.forEach((key, ki) => {
        const row = rowsById.get(key.id) || createRow(key);
        updateRow(row, key);
        placeAt(group.table, row.tbody, ki + 1); // after the thead
      });
      updateGroup(group, members);
    });
    updateSummary(keys);
    updateModelList(models);
    $("empty").hidden = keys.length > 0;
    applyFilter();
  }

  function clearKeys() {
    rowsById.clear();
    groupsByModel.clear();
    $("groups").replaceChildren();
    $("summary").replaceChildren();
    state.keys = [];
  }

  function createGroup(model) {
    const headingId = `group-title-${++uid}`;
    const count = el("span", { class: "group-count" });
    const heading = el("h3", { class: "group-title", id: headingId },
      el("span", { class: "group-model", text: model }), count);
    const headRow = el("tr");
    for (const [name, label] of COLUMNS) {
      headRow.append(el("th", { scope: "col", class: `col-${name}`, text: label }));
    }
    const table = el("table", { class: "keys-table", "aria-labelledby": headingId },
      el("thead", {}, headRow));
    const section = el("section", { class: "group", "aria-labelledby": headingId },
      heading, el("div", { class: "table-wrap" }, table));
    const group = { model, section, table, count };
    groupsByModel.set(model, group);
    return group;
  }

  function updateGroup(group, members) {
    const usable = members.filter((k) => k.status === "active").length;
    const n = members.length;
    setText(group.count, `${n} key${n === 1 ? "" : "s"} · ${usable} active`);
    group.section.classList.toggle("group-down", usable === 0);
  }

  function createRow(key) {
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
    row.failKinds = el("span", { class: "sub" });
    row.failCount = el("span", { class: "num" });
    row.cells.failures.append(row.failCount, row.failKinds);
    row.tokenTotal = el("span", { class: "num" });
    row.tokenSplit = el("span", { class: "sub" });
    row.cells.tokens.append(row.tokenTotal, row.tokenSplit);
    row.lastUsed = el("time", {});
    row.cells.last_used.append(row.lastUsed);
    row.lastError = el("span", { class: "error-text" });
    row.cells.last_error.append(row.lastError);

    row.editBtn = actionButton("Edit", () => openEdit(row));
    row.toggleBtn = actionButton("Disable", () => toggleKey(row));
    row.testBtn = actionButton("Test", () => testKey(row));
    row.resetBtn = actionButton("Reset", () => resetKey(row), "btn-secondary btn-wide");
    row.deleteBtn = actionButton("Delete", () => confirmDelete(row), "btn-danger-quiet");
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
    row.editRow = el("tr", { class: "edit-row", hidden: true },
      el("td", { colspan: COLUMNS.length }, createEditForm(row)));
    row.tbody = el("tbody", { class: "key", "data-key-id": key.id }, tr, row.editRow, row.messageRow);
    rowsByBody.set(row.tbody, row);
    rowsById.set(key.id, row);
    return row;
  }

  function actionButton(text, onclick, extra) {
    return el("button", { type: "button", class: `btn btn-small ${extra || "btn-secondary"}`, text, onclick });
  }

  function updateRow(row, key) {
    row.key = key;
    const who = `${key.api_key} (${providerName(key.provider)}, ${key.model})`;
    setText(row.cells.provider, providerName(key.provider));
    setAttr(row.cells.provider, "title", key.provider);
    setText(row.masked, key.api_key);
    setText(row.origin, key.source === "env" ? `id ${key.id} · from LLM_KEYS` : `id ${key.id} · added here`);
    const defaultUrl = providerDefault(key.provider);
    setText(row.baseUrl, key.base_url || "default");
    row.baseUrl.classList.toggle("muted", !key.base_url);
    setAttr(row.baseUrl, "title", key.base_url ? null : defaultUrl || null);

    const status = STATUS[key.status] || { label: key.status, cls: "status-unknown" };
    row.badge.className = `badge ${status.cls}`;
    row.tbody.dataset.status = key.status;
    const stats = key.stats || {};
    setText(row.cells.requests, fmt(stats.requests));
    setText(row.cells.successes, fmt(stats.successes));
    setText(row.failCount, fmt(stats.failures));
    const kinds = Object.entries(stats.failures_by_kind || {})
      .map(([kind, n]) => `${FAILURE_KINDS[kind] || kind} ${fmt(n)}`).join(", ");
    setText(row.failKinds, kinds);
    const prompt = stats.prompt_tokens || 0;
    const completion = stats.completion_tokens || 0;
    setText(row.tokenTotal, fmt(prompt + completion));
    setText(row.tokenSplit, prompt + completion ? `${fmt(prompt)} in · ${fmt(completion)} out` : "");
    setText(row.lastError, stats.last_error || "—");
    row.lastError.classList.toggle("muted", !stats.last_error);
    setAttr(row.lastError, "title", stats.last_error || null);
    // Focusable when present, so a keyboard can unfold a long message like a hover does.
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

  /** Status countdown and "last used"; true when a cooldown just ran out. */
  function paintTimes(row) {
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
    if (key.status === "cooling_down" && key.cooldown_until) {
      const left = key.cooldown_until - serverNow() / 1000;
      setText(row.badgeText, status.label);
      setText(row.statusDetail, `${duration(left)} left`);
      setAttr(row.statusDetail, "title", `Skipped until ${clockTime(key.cooldown_until)}`);
      return left <= 0;
    }
    setText(row.badgeText, status.label);
    setText(row.statusDetail, "");
    return false;
  }

  function updateSummary(keys) {
    const counts = { active: 0, cooling_down: 0, invalid: 0, disabled: 0 };
    for (const key of keys) counts[key.status] = (counts[key.status] || 0) + 1;
    const models = new Set(keys.map((k) => k.model)).size;
    const chips = [
      el("span", { class: "chip chip-total" },
        el("strong", { text: fmt(keys.length) }), ` key${keys.length === 1 ? "" : "s"} for `,
        el("strong", { text: fmt(models) }), ` model${models === 1 ? "" : "s"}`),
    ];
    for (const [status, info] of Object.entries(STATUS)) {
      chips.push(el("span", { class: `chip ${info.cls}${counts[status] ? "" : " chip-zero"}` },
        el("span", { class: "dot", "aria-hidden": "true" }),
        el("strong", { text: fmt(counts[status]) }), ` ${info.label.toLowerCase()}`));
    }
    $("summary").replaceChildren(...chips);
  }

  function updateModelList(models) {
    const list = $("known-models");
    const current = [...list.children].map((o) => o.value).join("\n");
    if (current !== models.join("\n")) {
      list.replaceChildren(...models.map((m) => el("option", { value: m })));
    }
  }

  function applyFilter() {
    const needle = state.filter.trim().toLowerCase();
    let shown = 0;
    for (const group of groupsByModel.values()) {
      let groupShown = 0;
      for (const tbody of group.table.tBodies) {
        const row = rowsByBody.get(tbody);
        const match = !needle || (row && row.search.includes(needle));
        tbody.hidden = !match;
        if (match) groupShown++;
      }
      group.section.hidden = groupShown === 0;
      shown += groupShown;
    }
    const note = $("empty-filter");
    note.hidden = !(needle && state.keys.length && shown === 0);
    setText(note, note.hidden ? "" : `No key matches “${state.filter.trim()}”.`);
  }

  function announce(text, kind) {
    showMessage($("announce"), text, kind || "ok");
  }

  function rowMessage(row, text, kind) {
    clearTimeout(row.messageTimer);
    row.messageRow.hidden = !text;
    row.message.className = `message row-message message-${kind || "info"}`;
    row.message.setAttribute("role", kind === "error" ? "alert" : "status");
    setText(row.messageText, text || "");
    row.messageClose.hidden = kind !== "error";
    if (text && kind === "ok") row.messageTimer = setTimeout(() => rowMessage(row, ""), 12000);
  }

  function flash(ids) {
    for (const id of ids) {
      const row = rowsById.get(id);
      if (!row) continue;
      row.tbody.classList.add("fresh");
      setTimeout(() => row.tbody.classList.remove("fresh"), 2500);
    }
  }

  // ---------------------------------------------------------------- row actions

  async function busy(row, button, work) {
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

  const keyPath = (row, suffix) => `keys/${encodeURIComponent(row.id)}${suffix || ""}`;

  function toggleKey(row) {
    return busy(row, row.toggleBtn, async () => {
      const enable = !row.key.enabled;
      rowMessage(row, "");
      try {
        const key = await api("PATCH", keyPath(row), { enabled: enable });
        updateRow(row, key);
        rowMessage(row, enable
          ? "Enabled: this key is back in the rotation."
          : `Disabled: requests for ${key.model} skip this key until you enable it.`, "ok");
        refresh();
      } catch (err) {
        rowMessage(row, describe(err), "error");
      }
    });
  }

  function testKey(row) {
    return busy(row, row.testBtn, async () => {
      rowMessage(row, `Testing ${row.key.api_key} with ${providerName(row.key.provider)}…`, "info");
      try {
        const result = await api("POST", keyPath(row, "/test"));
        if (result.key) updateRow(row, result.key);
        if (result.ok) {
          rowMessage(row, `The provider accepted this key (HTTP ${result.status}).`, "ok");
        } else {
          const why = friendly(result.error && result.error.message) || `HTTP ${result.status}`;
          const after = result.invalid
            ? " It is now marked invalid and skipped until it is edited, reset or passes a test."
            : "";
          rowMessage(row, `The test failed (HTTP ${result.status}): ${why}${after}`, "error");
        }
        refresh();
      } catch (err) {
        rowMessage(row, describe(err), "error");
      }
    });
  }

  function resetKey(row) {
    return busy(row, row.resetBtn, async () => {
      try {
        const key = await api("POST", keyPath(row, "/reset"));
        updateRow(row, key);
        rowMessage(row, "Reset: the key is back in the rotation.", "ok");
        row.editBtn.focus();
        refresh();
      } catch (err) {
        rowMessage(row, describe(err), "error");
      }
    });
  }

  let pendingDelete = null;

  function confirmDelete(row) {
    if (row.busy) return;
    const key = row.key;
    pendingDelete = row;
    setText($("delete-text"), `The key ${key.api_key} (${providerName(key.provider)}) leaves the ` +
      `pool of model ${key.model} now; requests stop using it at once.`);
    $("delete-env-note").hidden = key.source !== "env";
    const dialog = $("delete-dialog");
    dialog.returnValue = "";
    dialog.showModal();
  }

  async function onDeleteDialogClose() {
    const row = pendingDelete;
    pendingDelete = null;
    if (!row) return;
    if ($("delete-dialog").returnValue !== "delete") {
      row.deleteBtn.focus();
      return;
    }
    await busy(row, row.deleteBtn, async () => {
      const key = row.key;
      try {
        await api("DELETE", keyPath(row));
        announce(`Deleted the key ${key.api_key} of ${key.model}.`, "ok");
        row.tbody.remove();
        rowsById.delete(row.id);
        $("keys-title").focus();
        await refresh();
      } catch (err) {
        rowMessage(row, describe(err), "error");
        row.deleteBtn.focus();
      }
    });
  }

  // ---------------------------------------------------------------- editing a key

  function createEditForm(row) {
    const n = ++uid;
    const fields = {
      model: editField(n, "model", "Model", el("input", { type: "text", autocomplete: "off", spellcheck: "false", list: "known-models" })),
      api_key: editField(n, "api_key", "New API key", el("input", { type: "password", autocomplete: "off", spellcheck: "false" }), true),
      base_url: editField(n, "base_url", "Base URL", el("input", { type: "url", autocomplete: "off", spellcheck: "false" })),
    };
    const message = el("p", { class: "message", role: "status", hidden: true });
    const save = el("button", { type: "submit", class: "btn btn-primary btn-small", text: "Save changes" });
    const cancel = el("button", { type: "button", class: "btn btn-secondary btn-small", text: "Cancel", onclick: () => closeEdit(row, true) });
    const form = el("form", { class: "edit-form", novalidate: true },
      el("p", { class: "edit-title" }),
      el("div", { class: "edit-grid" }, fields.model.wrap, fields.api_key.wrap, fields.base_url.wrap),
      el("div", { class: "form-foot" }, save, cancel, message));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      saveEdit(row);
    });
    form.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        ev.preventDefault();
        closeEdit(row, true);
      }
    });
    row.edit = { form, fields, message, title: form.firstChild };
    return form;
  }

  function editField(n, name, label, input, secret) {
    const id = `edit-${n}-${name}`;
    input.id = id;
    const hint = el("p", { class: "hint", id: `${id}-hint` });
    const error = el("p", { class: "field-error", id: `${id}-error`, hidden: true });
    input.setAttribute("aria-describedby", `${id}-hint ${id}-error`);
    const control = secret
      ? el("div", { class: "secret" }, input, revealButton(input))
      : input;
    const wrap = el("div", { class: "field" }, el("label", { for: id, text: label }), control, hint, error);
    return { input, hint, error, wrap };
  }

  function openEdit(row) {
    if (row.editing) {
      row.edit.fields.model.input.focus();
      return;
    }
    const key = row.key;
    const { fields, title } = row.edit;
    row.editing = true;
    setText(title, `Edit ${key.api_key} (${providerName(key.provider)}). Only what you change is saved.`);
    fields.model.input.value = key.model;
    setText(fields.model.hint, "Moving the key to another model takes it out of this one's rotation.");
    fields.api_key.input.value = "";
    fields.api_key.input.placeholder = `Leave empty to keep ${key.api_key}`;
    setText(fields.api_key.hint, "Paste a new secret to replace the current one.");
    fields.base_url.input.value = key.base_url || "";
    const def = providerDefault(key.provider);
    fields.base_url.input.placeholder = def || "https://…/v1";
    setText(fields.base_url.hint, def ? `Leave empty for the default, ${def}.` : "Required for this provider.");
    clearFieldErrors(fields);
    showMessage(row.edit.message, "");
    row.editRow.hidden = false;
    row.tbody.classList.add("editing");
    setAttr(row.editBtn, "aria-expanded", "true");
    fields.model.input.focus();
  }

  function closeEdit(row, returnFocus) {
    row.editing = false;
    row.editRow.hidden = true;
    row.tbody.classList.remove("editing");
    const secret = row.edit.fields.api_key.input;
    secret.value = "";
    secret.type = "password";
    setAttr(row.editBtn, "aria-expanded", "false");
    if (returnFocus) row.editBtn.focus();
  }

  async function saveEdit(row) {
    const { fields, message } = row.edit;
    const key = row.key;
    clearFieldErrors(fields);
    showMessage(message, "");
    const changes = {};
    const model = fields.model.input.value.trim();
    if (model !== key.model) changes.model = model;
    if (fields.api_key.input.value) changes.api_key = fields.api_key.input.value;
    const url = fields.base_url.input.value.trim();
    if (url !== (key.base_url || "")) changes.base_url = url || null;
    if (!Object.keys(changes).length) {
      showMessage(message, "Nothing changed: edit the model, the key or the base URL first.", "info");
      return;
    }
    await busy(row, row.editBtn, async () => {
      try {
        const updated = await api("PATCH", keyPath(row), changes);
        closeEdit(row, false);
        updateRow(row, updated);
        const what = Object.keys(changes).map((f) => FIELD_LABELS[f].toLowerCase()).join(", ");
        rowMessage(row, `Saved the new ${what.replace("api key", "API key").replace("base url", "base URL")}. ` +
          "Remember: in memory only.", "ok");
        await refresh();
        row.editBtn.focus();
      } catch (err) {
        if (!showFieldError(fields, err)) showMessage(message, describe(err), "error");
      }
    });
  }

  // ---------------------------------------------------------------- field errors

  function clearFieldErrors(fields) {
    for (const f of Object.values(fields)) {
      f.input.removeAttribute("aria-invalid");
      f.error.hidden = true;
      f.error.textContent = "";
    }
  }

  /** Put the error beside the field it names; false when it names none of `fields`. */
  function showFieldError(fields, err) {
    let name = err.param;
    if (err.status === 409) name = "api_key";
    const field = name && fields[name];
    if (!field) return false;
    field.error.textContent = describe(err);
    field.error.hidden = false;
    field.input.setAttribute("aria-invalid", "true");
    field.input.focus();
    return true;
  }

  function revealButton(input) {
    const button = el("button", { type: "button", class: "btn btn-quiet reveal", "aria-pressed": "false", text: "Show" });
    button.setAttribute("aria-controls", input.id || "");
    button.addEventListener("click", () => {
      const show = input.type === "password";
      input.type = show ? "text" : "password";
      button.textContent = show ? "Hide" : "Show";
      button.setAttribute("aria-pressed", String(show));
    });
    return button;
  }

  // ---------------------------------------------------------------- providers

  function providerDefault(name) {
    const p = state.providers.find((x) => x.name === name);
    return p ? p.default_base_url : null;
  }

  async function loadProviders() {
    const select = $("add-provider");
    try {
      const data = await api("GET", "providers");
      state.providers = data.providers || [];
    } catch (err) {
      if (err.status === 401) return;
      addFields().provider.error.textContent = `The list of providers could not be loaded: ${describe(err)}`;
      addFields().provider.error.hidden = false;
      return;
    }
    const chosen = select.value || "openai";
    select.replaceChildren(...state.providers.map((p) =>
      el("option", { value: p.name, text: `${providerName(p.name)} (${p.name})` })));
    select.value = state.providers.some((p) => p.name === chosen) ? chosen : state.providers[0].name;
    addFields().provider.error.hidden = true;
    onProviderChange();
    // The default URLs fill the table's "default" tooltips.
    for (const row of rowsById.values()) updateRow(row, row.key);
  }

  function onProviderChange() {
    const p = state.providers.find((x) => x.name === $("add-provider").value);
    if (!p) return;
    const url = $("add-base-url");
    if (p.base_url_required) {
      setText($("add-provider-hint"), "Any OpenAI-style endpoint (OpenRouter, Groq, vLLM, Ollama…).");
      setText($("add-base-url-hint"), "Required: the endpoint's URL up to /chat/completions.");
      url.placeholder = "https://…/v1";
    } else {
      setText($("add-provider-hint"), `Default base URL: ${p.default_base_url}`);
      setText($("add-base-url-hint"), "Leave empty for the provider's default.");
      url.placeholder = p.default_base_url;
    }
    document.querySelector('label[for="add-base-url"] .optional').textContent =
      p.base_url_required ? "(required)" : "(optional)";
  }

  // ---------------------------------------------------------------- adding keys

  function addFields() {
    const f = (name, id) => ({ input: $(id), error: $(`${id}-error`), name });
    return {
      provider: f("provider", "add-provider"),
      model: f("model", "add-model"),
      api_key: f("api_key", "add-key"),
      base_url: f("base_url", "add-base-url"),
    };
  }

  async function addOne(ev) {
    ev.preventDefault();
    const fields = addFields();
    const message = $("add-message");
    const submit = $("add-submit");
    if (submit.getAttribute("aria-disabled") === "true") return;
    clearFieldErrors(fields);
    showMessage(message, "");
    const entry = {
      provider: fields.provider.input.value,
      model: fields.model.input.value.trim(),
      api_key: fields.api_key.input.value,
    };
    const url = fields.base_url.input.value.trim();
    if (url) entry.base_url = url;
    submit.setAttribute("aria-disabled", "true");
    try {
      const created = await api("POST", "keys", entry);
      const secret = fields.api_key.input;
      secret.value = "";
      secret.type = "password";
      const reveal = secret.parentElement.querySelector(".reveal");
      reveal.textContent = "Show";
      reveal.setAttribute("aria-pressed", "false");
      showMessage(message, `Added ${created.api_key} to ${created.model}. It lives in memory only ` +
        "until you add it to LLM_KEYS.", "ok");
      await refresh();
      flash([created.id]);
    } catch (err) {
      if (!showFieldError(fields, err)) showMessage(message, describe(err), "error");
    } finally {
      submit.removeAttribute("aria-disabled");
    }
  }

  class PasteError extends Error {}

  /** The pasted text as entries, with where each came from ("Line 3", "Entry 2"). */
  function parsePasted(text) {
    let t = text.trim().replace(/^LLM_KEYS\s*=\s*/, "");
    if (!t) throw new PasteError("Paste at least one key first.");
    if (t.startsWith("[") || t.startsWith("{")) {
      if (/^'[\s\S]*'$/.test(t)) t = t.slice(1, -1);
      let data;
      try {
        data = JSON.parse(t);
      } catch (e) {
        // Never echo the parser's message: it quotes the text, which holds secrets.
        const at = /line (\d+) column (\d+)/.exec(String(e.message));
        throw new PasteError(`This is not valid JSON${at ? ` (line ${at[1]}, column ${at[2]})` : ""}. ` +
          "Check the quotes, commas and brackets, or use one provider,model,key line per key.");
      }
      const entries = Array.isArray(data) ? data : [data];
      if (!entries.length) throw new PasteError("The JSON array is empty.");
      return { entries, where: entries.map((_, i) => `Entry ${i + 1}`) };
    }
    const entries = [];
    const where = [];
    t.split(/\r?\n/).forEach((line, i) => {
      const s = line.trim();
      if (!s || s.startsWith("#")) return;
      const parts = s.split(",").map((p) => p.trim());
      if (parts.length < 3 || parts.length > 4) {
        throw new PasteError(`Line ${i + 1}: expected provider,model,key (and optionally ,base URL), ` +
          `found ${parts.length} comma-separated value${parts.length === 1 ? "" : "s"}.`);
      }
      const entry = { provider: parts[0], model: parts[1], api_key: parts[2] };
      if (parts[3]) entry.base_url = parts[3];
      entries.push(entry);
      where.push(`Line ${i + 1}`);
    });
    return { entries, where };
  }

  async function addMany(ev) {
    ev.preventDefault();
    const box = $("bulk-text");
    const message = $("bulk-message");
    const submit = $("bulk-submit");
    if (submit.getAttribute("aria-disabled") === "true") return;
    showMessage(message, "");
    box.removeAttribute("aria-invalid");
    let parsed;
    try {
      parsed = parsePasted(box.value);
    } catch (err) {
      if (!(err instanceof PasteError)) throw err;
      showMessage(message, err.message, "error");
      box.setAttribute("aria-invalid", "true");
      box.focus();
      return;
    }
    submit.setAttribute("aria-disabled", "true");
    try {
      const result = await api("POST", "keys", parsed.entries);
      box.value = "";
      const created = result.keys || [];
      const perModel = new Map();
      for (const k of created) perModel.set(k.model, (perModel.get(k.model) || 0) + 1);
      const list = [...perModel].map(([m, n]) => `${m} (${n})`).join(", ");
      showMessage(message, `Added ${created.length} key${created.length === 1 ? "" : "s"}: ${list}. ` +
        "They live in memory only until you add them to LLM_KEYS.", "ok");
      await refresh();
      flash(created.map((k) => k.id));
    } catch (err) {
      const m = /^entry (\d+): ([\s\S]*)$/.exec(err.message);
      const text = m && parsed.where[Number(m[1])]
        ? `${parsed.where[Number(m[1])]}: ${err.status === 409 ? sentence(m[2]) : friendly(m[2])} Nothing was added.`
        : `${describe(err)}${err.status === 400 || err.status === 409 ? " Nothing was added." : ""}`;
      showMessage(message, text, "error");
      box.setAttribute("aria-invalid", "true");
      box.focus();
    } finally {
      submit.removeAttribute("aria-disabled");
    }
  }

  // ---------------------------------------------------------------- LLM_KEYS skeleton

  /** The current keys as an LLM_KEYS array, one entry a line, secrets as placeholders. */
  function skeleton(keys) {
    const lines = keys.map((k) => {
      // The placeholder holds spaces, which the proxy refuses in a key: a forgotten one
      // stops the start with a clear line instead of sending a bogus key upstream.
      const entry = { provider: k.provider, model: k.model, api_key: `<paste the key ${k.api_key} here>` };
      if (k.base_url) entry.base_url = k.base_url;
      if (!k.enabled) entry.enabled = false;
      return `  ${JSON.stringify(entry)}`;
    });
    return `[\n${lines.join(",\n")}\n]\n`;
  }

  async function copySkeleton() {
    const result = $("copy-result");
    const fallback = $("copy-fallback");
    const keys = state.keys;
    if (!keys.length) {
      fallback.hidden = true;
      showMessage(result, "There are no keys to copy yet.", "info");
      return;
    }
    const text = skeleton(keys);
    let copied = false;
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        copied = true;
      } catch (_) { /* fall through to the older way */ }
    }
    if (!copied) copied = legacyCopy(text);
    const n = keys.length;
    clearTimeout(state.copyTimer);
    if (copied) {
      fallback.hidden = true;
      showMessage(result, `Copied ${n} entr${n === 1 ? "y" : "ies"}. Replace each ` +
        "<paste the key … here> with its secret, then set LLM_KEYS to it and restart.", "ok");
      state.copyTimer = setTimeout(() => showMessage(result, ""), 15000);
    } else {
      $("copy-fallback-text").value = text;
      fallback.hidden = false;
      $("copy-fallback-text").select();
      showMessage(result, "", "");
    }
  }

  function legacyCopy(text) {
    const area = el("textarea", { readonly: true, class: "offscreen", "aria-hidden": "true" });
    area.value = text;
    const focused = document.activeElement;
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (_) {
      ok = false;
    }
    area.remove();
    if (focused && focused.focus) focused.focus();
    return ok;
  }

  // ---------------------------------------------------------------- tabs

  function selectTab(tab, focus) {
    for (const t of document.querySelectorAll('[role="tab"]')) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !on;
    }
    if (focus) tab.focus();
  }

  function onTabKey(ev) {
    const tabs = [...document.querySelectorAll('[role="tab"]')];
    const i = tabs.indexOf(ev.currentTarget);
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[ev.key];
    if (next === undefined) return;
    ev.preventDefault();
    selectTab(tabs[(next + tabs.length) % tabs.length], true);
  }

  // ---------------------------------------------------------------- start

  function start() {
    $("signin-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const token = $("signin-token").value.trim();
      if (!token) {
        showMessage($("signin-error"), "Paste the admin token first.", "error");
        $("signin-token").setAttribute("aria-invalid", "true");
        $("signin-token").focus();
        return;
      }
      signIn([token], "form");
    });
    $("sign-out").addEventListener("click", signOut);
    $("refresh-now").addEventListener("click", refresh);
    $("copy-keys").addEventListener("click", copySkeleton);
    $("add-form").addEventListener("submit", addOne);
    $("bulk-form").addEventListener("submit", addMany);
    $("add-provider").addEventListener("change", onProviderChange);
    $("delete-dialog").addEventListener("close", onDeleteDialogClose);
    $("filter").addEventListener("input", (ev) => {
      state.filter = ev.target.value;
      applyFilter();
    });
    for (const tab of document.querySelectorAll('[role="tab"]')) {
      tab.addEventListener("click", () => selectTab(tab, false));
      tab.addEventListener("keydown", onTabKey);
    }
    const addKey = $("add-key");
    addKey.parentElement.replaceChild(revealButton(addKey), addKey.parentElement.querySelector(".reveal"));
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && state.signedIn) refresh();
    });
    window.addEventListener("hashchange", () => {
      const fromLink = tokensFromLink();
      if (fromLink) signIn(fromLink, "link");
    });

    const fromLink = tokensFromLink();
    const stored = sessionStorage.getItem(TOKEN_STORE);
    if (fromLink) signIn(fromLink, "link");
    else if (stored) signIn([stored], "stored");
    else showSignIn("");
  }

  start();
}());
