/* The key management page: signing in, the refresh loop, and wiring the parts together
   (keys, usage and recent-requests views). */
import { fillProviders, initAddKeys } from "./js/add_keys.js";
import { api, describe } from "./js/api.js";
import { $, setAttr, setText, showMessage } from "./js/dom.js";
import { initDeleteDialog } from "./js/key_actions.js";
import { applyFilter, clearKeys, render, repaintRows, repaintTimes } from "./js/keys_table.js";
import { hooks, REFRESH_MS, state } from "./js/state.js";
import { copySkeleton } from "./js/skeleton.js";
import { renderStoreNote } from "./js/store_note.js";
import { initUsage } from "./js/usage_view.js";
import { enterViews, initViews, refreshView, stopViews } from "./js/views.js";

const TOKEN_STORE = "llm-proxy.admin-token";

const timers = { refresh: null, tick: null };
let seq = 0;
let lastOk = null;
let failingSince = null;

// ---------------------------------------------------------------- signing in

/** The token of a `#token=…` link, taken out of the address bar at once; null if none. */
function tokensFromLink() {
  const hash = location.hash.replace(/^#/, "");
  if (!hash) return null;
  const parts = hash.split("&");
  const index = parts.findIndex((p) => p.startsWith("token="));
  if (index < 0) return null;
  const raw = parts[index].slice("token=".length).trim();
  parts.splice(index, 1);
  // replaceState keeps the token out of history and bookmarks; it never reached the server.
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
  const refused = failure.status === 401;
  if (refused) sessionStorage.removeItem(TOKEN_STORE);
  // A proxy that is down keeps the token in the field, ready for another try.
  showSignIn(signInError(failure, how), refused ? "" : candidates[0]);
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
  stopViews();
  clearKeys();
  $("app").hidden = true;
  $("session").hidden = true;
  $("copy-area").hidden = true;
  $("copy-fallback").hidden = true;
  showMessage($("copy-result"), "");
  $("signin").hidden = false;
  const input = $("signin-token");
  input.value = prefill || "";
  showMessage($("signin-error"), error || "", "error");
  setAttr(input, "aria-invalid", error ? "true" : null);
  input.focus();
}

function enterApp(keys, how) {
  stopTimers(); // a second link opened in the same tab signs in again
  state.signedIn = true;
  $("signin").hidden = true;
  $("signin-token").value = "";
  showMessage($("signin-error"), "");
  $("app").hidden = false;
  $("session").hidden = false;
  $("copy-area").hidden = false;
  markConnected();
  render(keys);
  fillProviders().then((ok) => { if (ok) repaintRows(); });
  scheduleRefresh();
  timers.tick = setInterval(tick, 1000);
  enterViews();
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
  clearTimeout(timers.refresh);
  clearInterval(timers.tick);
  timers.refresh = null;
  timers.tick = null;
}

// ---------------------------------------------------------------- refreshing

function scheduleRefresh(delay) {
  clearTimeout(timers.refresh);
  timers.refresh = setTimeout(refresh, delay === undefined ? REFRESH_MS : delay);
}

/** Fetch the keys and update the page in place; the newest call wins. */
async function refresh() {
  if (!state.signedIn) return;
  clearTimeout(timers.refresh);
  const mine = ++seq;
  try {
    const data = await api("GET", "keys");
    if (mine !== seq || !state.signedIn) return;
    renderStoreNote(data.store);
    render(data.keys);
    markConnected();
    if (!state.providers.length) fillProviders().then((ok) => { if (ok) repaintRows(); });
  } catch (err) {
    if (mine !== seq || err.status === 401) return;
    markDisconnected(err);
  } finally {
    if (mine === seq && state.signedIn) scheduleRefresh();
  }
}

function markConnected() {
  lastOk = Date.now();
  failingSince = null;
  const banner = $("connection-error");
  if (!banner.hidden) showMessage(banner, "");
  updateRefreshState();
}

function markDisconnected(err) {
  if (failingSince === null) failingSince = Date.now();
  const since = new Date(failingSince).toLocaleTimeString();
  const why = err.status === 0 ? "could not be reached" : `answered HTTP ${err.status}`;
  const banner = $("connection-error");
  setText(banner, `Since ${since} the proxy ${why}, so the list below may be out of date. ` +
    `The page keeps trying every ${REFRESH_MS / 1000} s.`);
  banner.hidden = false;
  updateRefreshState();
}

function updateRefreshState() {
  const node = $("refresh-state");
  node.classList.toggle("stale", failingSince !== null);
  if (failingSince !== null) {
    setText(node, "Not updating");
  } else if (lastOk !== null) {
    const s = Math.round((Date.now() - lastOk) / 1000);
    setText(node, s < 2 ? "Updated just now" : `Updated ${s} s ago`);
  }
}

/** Once a second: countdowns and "x s ago" texts, with no request. */
function tick() {
  updateRefreshState();
  if (repaintTimes()) scheduleRefresh(300);
}

// ---------------------------------------------------------------- start

function start() {
  hooks.refresh = refresh;
  hooks.expire = expireSession;
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
  $("refresh-now").addEventListener("click", () => { refresh(); refreshView(); });
  $("copy-keys").addEventListener("click", copySkeleton);
  $("filter").addEventListener("input", (ev) => {
    state.filter = ev.target.value;
    applyFilter();
  });
  initAddKeys();
  initDeleteDialog();
  initViews();
  initUsage();
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
