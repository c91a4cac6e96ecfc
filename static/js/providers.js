/* Provider names as people know them, and the defaults the proxy reports. */
import { api } from "./api.js";
import { state } from "./state.js";

const NAMES = {
  openai: "OpenAI", anthropic: "Anthropic", gemini: "Google Gemini", deepseek: "DeepSeek",
  grok: "xAI Grok", "openai-compatible": "OpenAI-compatible",
  azure: "Azure OpenAI",
};

export const providerName = (name) => NAMES[name] || name;

export const providerInfo = (name) => state.providers.find((p) => p.name === name) || null;

export function providerDefault(name) {
  const p = providerInfo(name);
  return p ? p.default_base_url : null;
}

/** Fetch GET /api/providers into the shared state. */
export async function loadProviders() {
  const data = await api("GET", "providers");
  state.providers = Array.isArray(data.providers) ? data.providers : [];
  return state.providers;
}
