/* What the buttons of a key's row do: enable/disable, test, reset, delete with confirmation. */
import { api, describe, friendly } from "./api.js";
import { $, announce, setText } from "./dom.js";
import { openEdit } from "./key_edit.js";
import { busy, keyPath, rowMessage, updateRow } from "./key_row.js";
import { providerName } from "./providers.js";
import { hooks } from "./state.js";

function toggle(row) {
  return busy(row, row.toggleBtn, async () => {
    const enable = !row.key.enabled;
    rowMessage(row, "");
    try {
      const key = await api("PATCH", keyPath(row), { enabled: enable });
      updateRow(row, key);
      rowMessage(row, enable
        ? "Enabled: this key is back in the rotation."
        : `Disabled: requests for ${key.model} skip this key until you enable it.`, "ok");
      hooks.refresh();
    } catch (err) {
      rowMessage(row, describe(err), "error");
    }
  });
}

function test(row) {
  return busy(row, row.testBtn, async () => {
    rowMessage(row, `Testing ${row.key.api_key} with ${providerName(row.key.provider)}…`, "info");
    try {
      const result = await api("POST", keyPath(row, "/test"));
      if (result.key) updateRow(row, result.key);
      if (result.ok) {
        rowMessage(row, `The provider accepted this key (HTTP ${result.status}).`, "ok");
      } else {
        const why = friendly(result.error && result.error.message) || `HTTP ${result.status}`;
        const after = result.invalid
          ? " It is now marked invalid and skipped until it is edited, reset or passes a test."
          : "";
        rowMessage(row, `The test failed (HTTP ${result.status}): ${why}${after}`, "error");
      }
      hooks.refresh();
    } catch (err) {
      rowMessage(row, describe(err), "error");
    }
  });
}

function reset(row) {
  return busy(row, row.resetBtn, async () => {
    try {
      const key = await api("POST", keyPath(row, "/reset"));
      updateRow(row, key);
      rowMessage(row, "Reset: the key is back in the rotation.", "ok");
      row.editBtn.focus(); // the reset button has just disappeared
      hooks.refresh();
    } catch (err) {
      rowMessage(row, describe(err), "error");
    }
  });
}

let pendingDelete = null;

function confirmDelete(row) {
  if (row.busy) return;
  const key = row.key;
  pendingDelete = row;
  setText($("delete-text"), `The key ${key.api_key} (${providerName(key.provider)}) leaves the ` +
    `pool of model ${key.model} now; requests stop using it at once.`);
  $("delete-env-note").hidden = key.source !== "env";
  const dialog = $("delete-dialog");
  dialog.returnValue = "";
  dialog.showModal();
}

async function onDialogClose() {
  // "close" comes from a queued task: after a quick Escape then Enter it can arrive once the
  // dialog is open again for the next question, which it does not answer. That opening's own
  // close event follows, and finds the answer in returnValue.
  if ($("delete-dialog").open) return;
  const row = pendingDelete;
  pendingDelete = null;
  if (!row) return;
  if ($("delete-dialog").returnValue !== "delete") {
    row.deleteBtn.focus();
    return;
  }
  await busy(row, row.deleteBtn, async () => {
    const key = row.key;
    try {
      await api("DELETE", keyPath(row));
      announce(`Deleted the key ${key.api_key} of ${key.model}.`, "ok");
      row.tbody.remove();
      $("keys-title").focus();
      await hooks.refresh();
    } catch (err) {
      rowMessage(row, describe(err), "error");
      row.deleteBtn.focus();
    }
  });
}

export function initDeleteDialog() {
  $("delete-dialog").addEventListener("close", onDialogClose);
}

export const rowActions = { edit: openEdit, toggle, test, reset, remove: confirmDelete };
