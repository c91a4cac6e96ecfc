/* How keys, outcomes and skip reasons read on the usage and requests views. */
import { state } from "./state.js";

const OUTCOMES = {
  ok: "ok", client_closed: "client left", rate_limited: "rate-limited", auth: "refused the key",
  server_error: "server error", network: "unreachable", timeout: "timed out",
  stream_broken: "stream broke", bad_request: "bad request", proxy_error: "proxy error",
  loop: "loops back", not_sent: "not sent",
};

const REASONS = {
  cooling: "cooling down", invalid: "invalid", disabled: "disabled",
  over_rpm: "over its rpm limit", quota_group: "its quota group is cooling",
};

const ERRORS = {
  all_keys_cooling: "every key cooling", no_usable_key: "no usable key",
  model_not_found: "unknown model",
};

export const outcomeText = (kind) => OUTCOMES[kind] || String(kind || "").replace(/_/g, " ");
export const reasonText = (kind) => REASONS[kind] || String(kind || "").replace(/_/g, " ");
export const errorText = (kind) => ERRORS[kind] || outcomeText(kind);

/** "a81c0e55f2d9 (gpt-4o, openai)" for a key the page knows, else its id. */
export function keyLabel(id) {
  const key = state.keys.find((k) => k.id === id);
  return key ? `${id} (${key.model}, ${key.provider})` : id;
}
