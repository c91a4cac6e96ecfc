/* The admin API over fetch(), and its errors in words. */
import { noteServerClock, sentence } from "./format.js";
import { hooks, state } from "./state.js";

// Relative to /static/index.html, so the page also works behind a path prefix.
const API_BASE = new URL("../api/", location.href);

export const FIELD_LABELS = {
  provider: "Provider", model: "Model", api_key: "API key", base_url: "Base URL",
  enabled: "Enabled", entry: "It", upstream_model: "The upstream name", api_version: "The API version",
  rpm: "Requests per minute", quota_group: "The quota group",
};

export class ApiError extends Error {
  constructor(status, message, param, code) {
    super(message || "");
    this.status = status; // 0: no answer at all
    this.param = param || null;
    this.code = code || null;
  }
}

/** Call the admin API with the session's token; the JSON answer, or an ApiError. */
export async function api(method, path, body) {
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
    if (resp.status === 401 && state.signedIn) hooks.expire();
    throw err;
  }
  if (data === null) throw new ApiError(resp.status, "The proxy answered with something that is not JSON.");
  return data;
}

/** The server's message made readable: "field 'base_url' must be…" → "Base URL must be…". */
export function friendly(message) {
  const m = /^field '([^']+)' ([\s\S]*)$/.exec(message || "");
  if (m) return sentence(`${FIELD_LABELS[m[1]] || m[1]} ${m[2]}`);
  return sentence(message);
}

/** What went wrong, in a sentence or two. */
export function describe(err) {
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
