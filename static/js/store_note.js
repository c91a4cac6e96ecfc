/* Where the keys live (this process's memory, or Redis shared by every process), in words. */
import { $, setText } from "./dom.js";
import { state } from "./state.js";

/** Where `count` keys just added are kept, as a sentence. */
export function keptWhere(count = 1) {
  const one = count === 1;
  if (state.store && state.store.kind === "redis") {
    return `${one ? "It is" : "They are"} shared by every proxy process through Redis.`;
  }
  return one ? "It lives in memory only until you add it to LLM_KEYS."
    : "They live in memory only until you add them to LLM_KEYS.";
}

/** The note at the top of the page, for the store `/api/keys` reported. */
export function renderStoreNote(store) {
  state.store = store || null;
  const title = $("memory-note-title");
  const text = $("memory-note-detail");
  if (!title || !text || !store) return;
  if (store.kind !== "redis") {
    setText(title, "Changes made here live in memory only.");
    setText(text, "Keys added, edited, disabled or deleted on this page are lost when the " +
      "proxy restarts. To keep them, put them in LLM_KEYS (an environment variable or a line " +
      "of the .env file) and restart the proxy.");
  } else if (store.shared) {
    setText(title, "Keys live in Redis, shared by every proxy process.");
    setText(text, "Changes made here reach every worker and host on the same Redis at once, " +
      "and stay as long as Redis keeps its data. Keys in LLM_KEYS are merged in again at " +
      "each start.");
  } else {
    setText(title, "Redis cannot be reached: changes are refused until it is back.");
    setText(text, "Requests are still served from the keys this process knew last, with its " +
      "own rotation; the list below is that copy.");
  }
}
