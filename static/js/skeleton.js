/* The "Copy LLM_KEYS skeleton" button: the current keys as LLM_KEYS, secrets left out. */
import { $, el, showMessage } from "./dom.js";
import { state } from "./state.js";

let hideTimer = null;

/** The keys as an LLM_KEYS array, one entry a line, each secret a placeholder. */
export function skeleton(keys) {
  const lines = keys.map((k) => {
    // The placeholder holds spaces, which the proxy refuses in a key: one left in place
    // stops the start with a clear line instead of sending a bogus key upstream.
    const entry = { provider: k.provider, model: k.model, api_key: `<paste the key ${k.api_key} here>` };
    if (k.base_url) entry.base_url = k.base_url;
    if (!k.enabled) entry.enabled = false;
    return `  ${JSON.stringify(entry)}`;
  });
  return `[\n${lines.join(",\n")}\n]\n`;
}

export async function copySkeleton() {
  const result = $("copy-result");
  const fallback = $("copy-fallback");
  const keys = state.keys;
  clearTimeout(hideTimer);
  fallback.hidden = true;
  if (!keys.length) {
    showMessage(result, "There are no keys to copy yet.", "info");
    return;
  }
  const text = skeleton(keys);
  let copied = false;
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch (_) { /* fall back to the older way */ }
  }
  if (!copied) copied = legacyCopy(text);
  if (copied) {
    const n = keys.length;
    showMessage(result, `Copied ${n} entr${n === 1 ? "y" : "ies"}. Replace each ` +
      "<paste the key … here> with its secret, then set LLM_KEYS to it and restart.", "ok");
    hideTimer = setTimeout(() => showMessage(result, ""), 15000);
  } else {
    // Plain http on another host has no clipboard API: let the user copy by hand.
    showMessage(result, "");
    $("copy-fallback-text").value = text;
    fallback.hidden = false;
    $("copy-fallback-text").select();
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
