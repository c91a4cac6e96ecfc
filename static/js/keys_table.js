/* The keys grouped by model, updated in place so a refresh never disturbs the user. */
import { $, announce, el, placeAt, setText } from "./dom.js";
import { fmt, plural } from "./format.js";
import { rowActions } from "./key_actions.js";
import { COLUMNS, createRow, paintTimes, STATUS, updateRow } from "./key_row.js";
import { state } from "./state.js";

const rowsById = new Map();
const rowsByBody = new WeakMap();
const groupsByModel = new Map();
let uid = 0;

/** Show `keys`: add, move, update and drop rows and groups; keep everything else. */
export function render(keys) {
  state.keys = keys;
  const ids = new Set(keys.map((k) => k.id));
  for (const [id, row] of rowsById) {
    if (ids.has(id)) continue;
    if (row.editing) announce(`The key ${row.key.api_key} you were editing was deleted elsewhere.`, "error");
    row.tbody.remove();
    rowsById.delete(id);
  }
  const models = [...new Set(keys.map((k) => k.model))].sort((a, b) => a.localeCompare(b));
  for (const [model, group] of groupsByModel) {
    if (!models.includes(model)) {
      group.section.remove();
      groupsByModel.delete(model);
    }
  }
  const container = $("groups");
  models.forEach((model, gi) => {
    const group = groupsByModel.get(model) || createGroup(model);
    placeAt(container, group.section, gi);
    const members = keys.filter((k) => k.model === model);
    members.forEach((key, ki) => {
      let row = rowsById.get(key.id);
      if (!row) {
        row = createRow(key, rowActions);
        rowsById.set(key.id, row);
        rowsByBody.set(row.tbody, row);
      }
      updateRow(row, key);
      placeAt(group.table, row.tbody, ki + 1); // after the thead
    });
    updateGroup(group, members);
  });
  updateSummary(keys);
  updateModelList(models);
  $("empty").hidden = keys.length > 0;
  applyFilter();
}

/** Forget every row (signing out). */
export function clearKeys() {
  rowsById.clear();
  groupsByModel.clear();
  $("groups").replaceChildren();
  $("summary").replaceChildren();
  state.keys = [];
}

/** Once a second: countdowns and "x s ago"; true when a cooldown ran out. */
export function repaintTimes() {
  let cooldownOver = false;
  for (const row of rowsById.values()) {
    if (paintTimes(row)) cooldownOver = true;
  }
  return cooldownOver;
}

/** Re-label every row (the provider defaults arrived). */
export function repaintRows() {
  for (const row of rowsById.values()) updateRow(row, row.key);
}

/** Briefly highlight rows just added. */
export function flash(ids) {
  for (const id of ids) {
    const row = rowsById.get(id);
    if (!row) continue;
    row.tbody.classList.add("fresh");
    setTimeout(() => row.tbody.classList.remove("fresh"), 2500);
  }
}

export function applyFilter() {
  const needle = state.filter.trim().toLowerCase();
  let shown = 0;
  for (const group of groupsByModel.values()) {
    let groupShown = 0;
    for (const tbody of group.table.tBodies) {
      const row = rowsByBody.get(tbody);
      const match = !needle || Boolean(row && row.search.includes(needle));
      tbody.hidden = !match;
      if (match) groupShown++;
    }
    group.section.hidden = groupShown === 0;
    shown += groupShown;
  }
  const note = $("empty-filter");
  note.hidden = !(needle && state.keys.length && shown === 0);
  setText(note, note.hidden ? "" : `No key matches “${state.filter.trim()}”.`);
}

function createGroup(model) {
  const headingId = `group-title-${++uid}`;
  const count = el("span", { class: "group-count" });
  const heading = el("h3", { class: "group-title", id: headingId },
    el("span", { class: "group-model", text: model }), count);
  const headRow = el("tr");
  for (const [name, label] of COLUMNS) {
    headRow.append(el("th", { scope: "col", class: `col-${name}`, text: label }));
  }
  const table = el("table", { class: "keys-table", "aria-labelledby": headingId },
    el("thead", {}, headRow));
  const section = el("section", { class: "group", "aria-labelledby": headingId },
    heading, el("div", { class: "table-wrap" }, table));
  const group = { model, section, table, count };
  groupsByModel.set(model, group);
  return group;
}

function updateGroup(group, members) {
  const active = members.filter((k) => k.status === "active").length;
  setText(group.count, `${plural(members.length, "key", "keys")} · ${fmt(active)} active`);
  // No active key: requests for this model fail until one recovers.
  group.section.classList.toggle("group-down", active === 0);
}

function updateSummary(keys) {
  const counts = {};
  for (const key of keys) counts[key.status] = (counts[key.status] || 0) + 1;
  const models = new Set(keys.map((k) => k.model)).size;
  const chips = [
    el("span", { class: "chip chip-total" },
      el("strong", { text: fmt(keys.length) }), ` key${keys.length === 1 ? "" : "s"} for `,
      el("strong", { text: fmt(models) }), ` model${models === 1 ? "" : "s"}`),
  ];
  for (const [status, info] of Object.entries(STATUS)) {
    const n = counts[status] || 0;
    chips.push(el("span", { class: `chip ${info.cls}${n ? "" : " chip-zero"}` },
      el("span", { class: "dot", "aria-hidden": "true" }),
      el("strong", { text: fmt(n) }), ` ${info.label.toLowerCase()}`));
  }
  $("summary").replaceChildren(...chips);
}

function updateModelList(models) {
  const list = $("known-models");
  const current = [...list.children].map((o) => o.value).join("\n");
  if (current !== models.join("\n")) {
    list.replaceChildren(...models.map((m) => el("option", { value: m })));
  }
}
