/* The recent-requests view: one row per record of /api/requests, newest first. Records never
   change, so a refresh adds the new rows and drops the old ones, leaving the rest (and the
   focus) alone. */
import { api, describe } from "./api.js";
import { $, el, placeAt, showMessage } from "./dom.js";
import { fmt } from "./format.js";
import { errorText, keyLabel, outcomeText, reasonText } from "./labels.js";

const LIMIT = 200;
const rows = new Map(); // record id → tr

export async function refreshRequests() {
  let data;
  try {
    data = await api("GET", `requests?limit=${LIMIT}`);
  } catch (err) {
    if (err.status !== 401) showMessage($("requests-message"), describe(err), "error");
    return;
  }
  showMessage($("requests-message"), "");
  render(data.requests);
}

function render(records) {
  const body = $("requests-rows");
  const ids = new Set(records.map((r) => r.id));
  for (const [id, tr] of rows) {
    if (!ids.has(id)) {
      tr.remove();
      rows.delete(id);
    }
  }
  records.forEach((record, i) => {
    let tr = rows.get(record.id);
    if (!tr) {
      tr = recordRow(record);
      rows.set(record.id, tr);
    }
    placeAt(body, tr, i);
  });
  $("requests-empty").hidden = records.length > 0;
}

const keyLink = (id) => el("a", { href: "#keys-view", "data-key-link": id, class: "key-link",
  title: keyLabel(id), text: id });

function recordRow(r) {
  const when = new Date(r.time * 1000);
  const time = el("td", { "data-label": "Time" },
    el("time", { datetime: when.toISOString(), text: when.toLocaleTimeString() }),
    el("span", { class: "sub", text: `${r.format}${r.stream ? " · stream" : ""}` }),
    el("span", { class: "sub request-id", text: r.request_id || "" }));
  const served = r.served_model && r.served_model !== r.model ? `→ ${r.served_model}` : "";
  const model = el("td", { "data-label": "Model" }, el("code", { class: "model-name", text: r.model }),
    el("span", { class: "sub", text: served }));
  const tried = el("td", { "data-label": "Keys tried" });
  const triedList = el("ol", { class: "trail" });
  for (const a of r.attempts) {
    triedList.append(el("li", { class: `outcome outcome-${a.outcome === "ok" ? "ok" : "bad"}` },
      keyLink(a.key), " ", el("span", { class: "outcome-text", text: outcomeText(a.outcome) })));
  }
  if (r.attempts.length) tried.append(triedList);
  else tried.append(el("span", { class: "muted", text: "none" }));
  const skipped = el("td", { "data-label": "Skipped" });
  if (r.skipped.length) {
    const list = el("ul", { class: "trail" });
    for (const s of r.skipped) {
      const until = s.until ? ` until ${new Date(s.until * 1000).toLocaleTimeString()}` : "";
      list.append(el("li", { class: "skip" }, keyLink(s.key), " ",
        el("span", { class: "skip-reason", "data-reason": s.reason, text: reasonText(s.reason) + until })));
    }
    skipped.append(list);
  } else {
    skipped.append(el("span", { class: "muted", text: "none" }));
  }
  const failed = r.status >= 400 || r.error;
  const status = el("td", { "data-label": "Status", class: failed ? "status-bad" : "status-ok" },
    el("span", { class: "num", text: String(r.status) }),
    el("span", { class: "sub", text: r.error ? errorText(r.error) : "" }));
  const ms = r.latency_ms < 10 ? r.latency_ms.toFixed(1) : fmt(Math.round(r.latency_ms));
  const latency = el("td", { "data-label": "Latency", class: "col-num", text: `${ms} ms` });
  const tokens = el("td", { "data-label": "Tokens", class: "col-num" },
    el("span", { class: "num", text: fmt(r.prompt_tokens + r.completion_tokens) }),
    el("span", { class: "sub", text: `${fmt(r.prompt_tokens)} in · ${fmt(r.completion_tokens)} out` }));
  const tr = el("tr", { class: "request-row", "data-record-id": r.id, "data-status": String(r.status) },
    time, model, tried, skipped, status, latency, tokens);
  return tr;
}
