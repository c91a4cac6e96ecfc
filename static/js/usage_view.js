/* The usage view: requests and errors per minute by model, tokens per minute by key, drawn
   by the vendored uPlot (static/vendor/uplot). Each chart's element holds its uPlot
   instance as `.uplot`. */
import { api, describe } from "./api.js";
import { $, setText, showMessage } from "./dom.js";
import { fmt, plural } from "./format.js";
import { keyLabel } from "./labels.js";

const HEIGHT = 260;
// Tableau 10: told apart in light and dark, and by most colour-blind readers.
const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
  "#ff9da7", "#9c755f", "#bab0ac"];
const dark = matchMedia("(prefers-color-scheme: dark)");
const charts = {};

export async function refreshUsage() {
  const minutes = $("usage-minutes").value;
  let data;
  try {
    data = await api("GET", `usage?minutes=${encodeURIComponent(minutes)}`);
  } catch (err) {
    if (err.status !== 401) showMessage($("usage-message"), describe(err), "error");
    return;
  }
  showMessage($("usage-message"), "");
  const span = minutes === "60" ? "the last hour" : `the last ${minutes} minutes`;
  drawRequests(data, span);
  drawTokens(data, span);
}

function sumRows(rows, n) {
  const out = new Array(n).fill(0);
  for (const row of rows) row.forEach((v, i) => { out[i] += v; });
  return out;
}

const total = (row) => row.reduce((a, b) => a + b, 0);

function drawRequests(data, span) {
  const n = data.times.length;
  const series = [];
  const models = Object.keys(data.models);
  models.forEach((model, i) => {
    const s = data.models[model];
    const color = PALETTE[i % PALETTE.length];
    series.push({ label: `${model} requests`, values: s.requests, color });
    series.push({ label: `${model} errors`, values: sumRows(Object.values(s.errors), n), color, dash: [6, 4] });
  });
  // Requests for models the pool has no key for are in the total only.
  const known = sumRows(models.map((m) => data.models[m].requests), n);
  const unknown = data.total.requests.map((v, i) => v - known[i]);
  if (total(unknown) > 0) {
    series.push({ label: "unknown models", values: unknown, color: PALETTE[models.length % PALETTE.length], dash: [2, 3] });
  }
  const requests = total(data.total.requests);
  const errors = total(sumRows(Object.values(data.total.errors), n));
  setText($("chart-requests-summary"), `${plural(requests, "request", "requests")} and ` +
    `${plural(errors, "error", "errors")} in ${span}, over ${plural(models.length, "model", "models")}.`);
  draw("chart-requests", data.times, series);
}

function drawTokens(data, span) {
  const keys = Object.keys(data.keys);
  const series = keys.map((id, i) => {
    const s = data.keys[id];
    return { label: keyLabel(id), values: s.prompt_tokens.map((v, j) => v + s.completion_tokens[j]),
      color: PALETTE[i % PALETTE.length] };
  });
  const tokens = total(data.total.prompt_tokens) + total(data.total.completion_tokens);
  setText($("chart-tokens-summary"), `${fmt(tokens)} tokens (prompt and completion) in ${span}, ` +
    `over ${plural(keys.length, "key", "keys")}.`);
  draw("chart-tokens", data.times, series);
}

/** Draw `series` over `times` in the chart element `id`: new data into the same chart, a new
    chart when the series or the colour scheme changed. */
function draw(id, times, series) {
  const node = $(id);
  const data = [times, ...series.map((s) => s.values)];
  const shape = `${dark.matches}|${series.map((s) => s.label).join("\n")}`;
  const chart = charts[id];
  if (chart && chart.shape === shape) {
    chart.plot.setData(data);
    return;
  }
  if (chart) chart.plot.destroy();
  const plot = new window.uPlot(options(node, series), data, node);
  charts[id] = { plot, shape };
  node.uplot = plot;
}

function options(node, series) {
  const css = getComputedStyle(document.documentElement);
  const text = css.getPropertyValue("--muted").trim();
  const grid = css.getPropertyValue("--border").trim();
  const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  return {
    width: Math.max(node.clientWidth, 240),
    height: HEIGHT,
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(max, 1)] } },
    axes: [axis, { ...axis, size: 50 }],
    series: [{ label: "Time" }, ...series.map((s) => ({
      label: s.label, stroke: s.color, width: 2, dash: s.dash, points: { show: false },
      value: (u, v) => (v === null || v === undefined ? "–" : fmt(v)),
    }))],
    legend: { live: true },
  };
}

export function initUsage() {
  $("usage-minutes").addEventListener("change", refreshUsage);
  // The charts follow their card's width (phones, rotated screens, a resized window).
  const resize = new ResizeObserver(() => {
    for (const [id, chart] of Object.entries(charts)) {
      const width = Math.max($(id).clientWidth, 240);
      if (width !== chart.plot.width) chart.plot.setSize({ width, height: HEIGHT });
    }
  });
  for (const id of ["chart-requests", "chart-tokens"]) resize.observe($(id));
  dark.addEventListener("change", () => { if (!$("usage-view").hidden) refreshUsage(); });
}
