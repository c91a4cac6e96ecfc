/* Numbers, durations and times as people read them. */
import { state } from "./state.js";

const numberFormat = new Intl.NumberFormat();

export const fmt = (n) => numberFormat.format(n || 0);

/** The server's clock, from the skew measured on its Date header. */
export const serverNow = () => Date.now() + state.skewMs;

export function noteServerClock(resp) {
  const date = Date.parse(resp.headers.get("Date") || "");
  if (Number.isNaN(date)) return;
  // The header has one-second resolution: correct only a clock that is clearly off.
  const skew = date - Date.now();
  state.skewMs = Math.abs(skew) > 2000 ? skew : 0;
}

export function duration(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) {
    const rest = s % 60;
    return rest ? `${Math.floor(s / 60)} min ${rest} s` : `${s / 60} min`;
  }
  const minutes = Math.floor((s % 3600) / 60);
  return `${Math.floor(s / 3600)} h${minutes ? ` ${minutes} min` : ""}`;
}

export function ago(epochSeconds) {
  const s = Math.max(0, Math.round((serverNow() - epochSeconds * 1000) / 1000));
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(epochSeconds * 1000).toLocaleDateString();
}

export const clockTime = (epochSeconds) => new Date(epochSeconds * 1000).toLocaleString();

export const plural = (n, one, many) => `${fmt(n)} ${n === 1 ? one : many}`;

/** Capitalised, with a full stop. */
export function sentence(text) {
  const t = String(text || "").trim();
  if (!t) return "";
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}
