/* The page's three views (keys, usage, recent requests): switching by link or address, and
   the live refresh of the one on screen. */
import { $ } from "./dom.js";
import { applyFilter, flash } from "./keys_table.js";
import { REFRESH_MS, state } from "./state.js";
import { refreshRequests } from "./requests_view.js";
import { refreshUsage } from "./usage_view.js";

const REFRESHERS = { usage: refreshUsage, requests: refreshRequests };
const HEADINGS = { keys: "keys-title", usage: "usage-title", requests: "requests-title" };
let current = "keys";
let timer = null;

/** The view named in the address (#usage-view, #requests-view), else the keys. */
function fromHash() {
  const m = /(?:^#|&)(keys|usage|requests)-view(?:&|$)/.exec(location.hash);
  return m ? m[1] : "keys";
}

export function showView(name, focus) {
  current = name in HEADINGS ? name : "keys";
  for (const view of document.querySelectorAll(".view")) view.hidden = view.dataset.view !== current;
  for (const link of document.querySelectorAll(".view-link")) {
    if (link.dataset.view === current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const wanted = current === "keys" ? "" : `#${current}-view`;
  if (location.hash !== wanted) {
    history.replaceState(history.state, "", location.pathname + location.search + wanted);
  }
  if (focus) $(HEADINGS[current]).focus();
  refreshView();
}

/** Reload the view on screen now, then every REFRESH_MS while the tab is visible. */
export async function refreshView() {
  clearTimeout(timer);
  timer = null;
  const refresher = REFRESHERS[current];
  if (!refresher || !state.signedIn) return;
  const mine = current;
  try {
    await refresher();
  } finally {
    if (state.signedIn && current === mine && !document.hidden) {
      clearTimeout(timer);
      timer = setTimeout(refreshView, REFRESH_MS);
    }
  }
}

export function stopViews() {
  clearTimeout(timer);
  timer = null;
}

/** The keys view, scrolled to and focused on the row of `keyId`. */
export function openKeyRow(keyId) {
  if (state.filter) {
    state.filter = "";
    $("filter").value = "";
    applyFilter();
  }
  showView("keys", false);
  const tbody = document.querySelector(`tbody.key[data-key-id="${CSS.escape(keyId)}"]`);
  if (!tbody) {
    $("keys-title").focus();
    return false;
  }
  const target = tbody.querySelector(".key-row");
  target.tabIndex = -1;
  target.focus();
  target.scrollIntoView({ block: "center" });
  flash([keyId]);
  return true;
}

export function initViews() {
  for (const link of document.querySelectorAll(".view-link")) {
    link.addEventListener("click", (ev) => {
      ev.preventDefault();
      showView(link.dataset.view, true);
    });
  }
  // A key's id in the usage or requests view links to its row.
  $("app").addEventListener("click", (ev) => {
    const link = ev.target.closest("a[data-key-link]");
    if (!link) return;
    ev.preventDefault();
    openKeyRow(link.dataset.keyLink);
  });
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) stopViews();
    else if (state.signedIn) refreshView();
  });
  window.addEventListener("hashchange", () => {
    if (state.signedIn && fromHash() !== current) showView(fromHash(), false);
  });
}

/** After signing in: the view the address names. */
export function enterViews() {
  showView(fromHash(), false);
}
