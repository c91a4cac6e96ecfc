/* Adding keys: one through the form, or many pasted as lines or as a JSON array. */
import { api, describe, friendly } from "./api.js";
import { $, clearFieldErrors, clearSecret, el, revealButton, setFieldError, setText, showMessage } from "./dom.js";
import { plural, sentence } from "./format.js";
import { flash } from "./keys_table.js";
import { loadProviders, providerInfo, providerName } from "./providers.js";
import { hooks, state } from "./state.js";
import { keptWhere } from "./store_note.js";

export function initAddKeys() {
  $("add-form").addEventListener("submit", addOne);
  $("bulk-form").addEventListener("submit", addMany);
  $("add-provider").addEventListener("change", onProviderChange);
  const secret = $("add-key");
  secret.parentElement.querySelector(".reveal").replaceWith(revealButton(secret));
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    tab.addEventListener("click", () => selectTab(tab, false));
    tab.addEventListener("keydown", onTabKey);
  }
}

/** Fill the provider list from GET /api/providers; the error shows beside the list. */
export async function fillProviders() {
  const select = $("add-provider");
  const fields = addFields();
  try {
    await loadProviders();
  } catch (err) {
    if (err.status !== 401) {
      setFieldError(fields.provider, `The list of providers could not be loaded: ${describe(err)}`, false);
    }
    return false;
  }
  const chosen = select.value || "openai";
  select.replaceChildren(...state.providers.map((p) =>
    el("option", { value: p.name, text: `${providerName(p.name)} (${p.name})` })));
  if (state.providers.length) {
    select.value = state.providers.some((p) => p.name === chosen) ? chosen : state.providers[0].name;
  }
  clearFieldErrors({ provider: fields.provider });
  onProviderChange();
  return true;
}

function onProviderChange() {
  const p = providerInfo($("add-provider").value);
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
  setText(document.querySelector('label[for="add-base-url"] .optional'),
    p.base_url_required ? "(required)" : "(optional)");
}

function addFields() {
  const f = (id) => ({ input: $(id), error: $(`${id}-error`) });
  return {
    provider: f("add-provider"), model: f("add-model"), api_key: f("add-key"), base_url: f("add-base-url"),
    upstream_model: f("add-upstream-model"), api_version: f("add-api-version"), rpm: f("add-rpm"),
    quota_group: f("add-quota-group"),
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
  for (const name of ["upstream_model", "api_version", "quota_group"]) {
    const value = fields[name].input.value.trim();
    if (value) entry[name] = value;
  }
  const rpm = fields.rpm.input.value.trim();
  if (rpm) entry.rpm = /^\d+$/.test(rpm) ? Number(rpm) : rpm; // the API names a bad value
  submit.setAttribute("aria-disabled", "true");
  try {
    const created = await api("POST", "keys", entry);
    clearSecret(fields.api_key.input);
    showMessage(message, `Added ${created.api_key} to ${created.model}. ${keptWhere()}`, "ok");
    await hooks.refresh();
    flash([created.id]);
  } catch (err) {
    // Nothing was saved: the secret stays in its (masked) field so the cause can be fixed.
    const target = err.status === 409 ? fields.api_key : fields[err.param];
    if (target && target.input.closest("details")) target.input.closest("details").open = true;
    if (target) setFieldError(target, describe(err));
    else showMessage(message, describe(err), "error");
  } finally {
    submit.removeAttribute("aria-disabled");
  }
}

class PasteError extends Error {}

/** The pasted text as entries, with where each came from ("Line 3", "Entry 2"). */
export function parsePasted(text) {
  let t = text.trim().replace(/^LLM_KEYS\s*=\s*/, "");
  if (/^'[\s\S]*'$/.test(t)) t = t.slice(1, -1).trim(); // the quoted .env form
  if (!t) throw new PasteError("Paste at least one key first.");
  if (t.startsWith("[") || t.startsWith("{")) {
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
        `found ${plural(parts.length, "comma-separated value", "comma-separated values")}.`);
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
    pasteError(box, message, err.message);
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
    showMessage(message, `Added ${plural(created.length, "key", "keys")}: ${list}. ` +
      keptWhere(created.length), "ok");
    await hooks.refresh();
    flash(created.map((k) => k.id));
  } catch (err) {
    // The API names the entry by its index: say which line of the paste that was.
    const m = /^entry (\d+): ([\s\S]*)$/.exec(err.message);
    const where = m && parsed.where[Number(m[1])];
    const text = where
      ? `${where}: ${err.status === 409 ? sentence(m[2]) : friendly(m[2])} Nothing was added.`
      : `${describe(err)}${err.status === 400 || err.status === 409 ? " Nothing was added." : ""}`;
    pasteError(box, message, text);
  } finally {
    submit.removeAttribute("aria-disabled");
  }
}

function pasteError(box, message, text) {
  showMessage(message, text, "error");
  box.setAttribute("aria-invalid", "true");
  box.focus();
}

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
