/* Editing one key in place: model, a new secret, base URL, routing; only what changed is sent. */
import { api, describe } from "./api.js";
import { clearFieldErrors, clearSecret, el, revealButton, setAttr, setFieldError, setText, showMessage } from "./dom.js";
import { busy, keyPath, rowMessage, updateRow } from "./key_row.js";
import { providerDefault, providerName } from "./providers.js";
import { hooks, state } from "./state.js";

const SAVED_NAMES = {
  model: "model", api_key: "API key", base_url: "base URL", upstream_model: "upstream model",
  api_version: "API version", rpm: "requests per minute", quota_group: "quota group",
};
const ROUTING = ["upstream_model", "api_version", "rpm", "quota_group"];
let uid = 0;

export function openEdit(row) {
  if (!row.edit) row.edit = buildForm(row);
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
  clearSecret(fields.api_key.input);
  fields.api_key.input.placeholder = `Leave empty to keep ${key.api_key}`;
  setText(fields.api_key.hint, "Paste a new secret to replace the current one.");
  fields.base_url.input.value = key.base_url || "";
  const def = providerDefault(key.provider);
  fields.base_url.input.placeholder = def || "https://…/v1";
  setText(fields.base_url.hint, def ? `Leave empty for the default, ${def}.` : "Required for this provider.");
  for (const name of ROUTING) fields[name].input.value = key[name] == null ? "" : String(key[name]);
  setText(fields.upstream_model.hint, key.provider === "azure" ? "The deployment's name; empty: the model."
    : "Sent upstream instead of the model; empty: the model.");
  setText(fields.api_version.hint, key.provider === "azure" ? "Empty for the current GA version." : "Used by Azure keys only.");
  setText(fields.rpm.hint, "Most requests in any 60 s; empty for no limit.");
  setText(fields.quota_group.hint, "A 429 on one key of the group cools them all.");
  clearFieldErrors(fields);
  showMessage(row.edit.message, "");
  row.editRow.hidden = false;
  row.tbody.classList.add("editing");
  setAttr(row.editBtn, "aria-expanded", "true");
  fields.model.input.focus();
}

export function closeEdit(row, returnFocus) {
  row.editing = false;
  row.editRow.hidden = true;
  row.tbody.classList.remove("editing");
  if (row.edit) clearSecret(row.edit.fields.api_key.input);
  setAttr(row.editBtn, "aria-expanded", "false");
  if (returnFocus) row.editBtn.focus();
}

function buildForm(row) {
  const n = ++uid;
  const fields = {
    model: field(n, "model", "Model", el("input", { type: "text", autocomplete: "off", spellcheck: "false", list: "known-models" })),
    api_key: field(n, "api_key", "New API key", el("input", { type: "password", autocomplete: "off", spellcheck: "false" }), true),
    base_url: field(n, "base_url", "Base URL", el("input", { type: "url", autocomplete: "off", spellcheck: "false" })),
    upstream_model: field(n, "upstream_model", "Sent upstream as", el("input", { type: "text", autocomplete: "off", spellcheck: "false" })),
    api_version: field(n, "api_version", "API version", el("input", { type: "text", autocomplete: "off", spellcheck: "false" })),
    rpm: field(n, "rpm", "Requests per minute", el("input", { type: "number", min: "1", step: "1", inputmode: "numeric", autocomplete: "off" })),
    quota_group: field(n, "quota_group", "Quota group", el("input", { type: "text", autocomplete: "off", spellcheck: "false" })),
  };
  const title = el("p", { class: "edit-title" });
  const message = el("p", { class: "message", role: "status", hidden: true });
  const form = el("form", { class: "edit-form", novalidate: true },
    title,
    el("div", { class: "edit-grid" }, fields.model.wrap, fields.api_key.wrap, fields.base_url.wrap,
      ...ROUTING.map((name) => fields[name].wrap)),
    el("div", { class: "form-foot" },
      el("button", { type: "submit", class: "btn btn-primary btn-small", text: "Save changes" }),
      el("button", { type: "button", class: "btn btn-secondary btn-small", text: "Cancel", onclick: () => closeEdit(row, true) }),
      message));
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
  row.editCell.append(form);
  return { form, fields, message, title };
}

function field(n, name, label, input, secret) {
  const id = `edit-${n}-${name}`;
  input.id = id;
  const hint = el("p", { class: "hint", id: `${id}-hint` });
  const error = el("p", { class: "field-error", id: `${id}-error`, hidden: true });
  input.setAttribute("aria-describedby", `${id}-hint ${id}-error`);
  const control = secret ? el("div", { class: "secret" }, input, revealButton(input)) : input;
  const wrap = el("div", { class: "field" }, el("label", { for: id, text: label }), control, hint, error);
  return { input, hint, error, wrap };
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
  for (const name of ROUTING) {
    const value = fields[name].input.value.trim();
    if (value === (key[name] == null ? "" : String(key[name]))) continue;
    if (!value) changes[name] = null;
    else if (name === "rpm") changes.rpm = /^\d+$/.test(value) ? Number(value) : value;
    else changes[name] = value;
  }
  if (!Object.keys(changes).length) {
    showMessage(message, "Nothing changed: edit a field first.", "info");
    return;
  }
  await busy(row, row.editBtn, async () => {
    try {
      const updated = await api("PATCH", keyPath(row), changes);
      closeEdit(row, false);
      updateRow(row, updated);
      const what = Object.keys(changes).map((f) => SAVED_NAMES[f]).join(", ");
      const where = state.store && state.store.kind === "redis" ? "Shared through Redis."
        : "Remember: in memory only.";
      rowMessage(row, `Saved the new ${what}. ${where}`, "ok");
      await hooks.refresh();
      row.editBtn.focus();
    } catch (err) {
      const target = err.status === 409 ? fields.api_key : fields[err.param];
      if (target) setFieldError(target, describe(err));
      else showMessage(message, describe(err), "error");
    }
  });
}
