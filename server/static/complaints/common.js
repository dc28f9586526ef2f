// What the complaint pages share: the categories, channels and states the server names, the
// request that carries an Idempotency-Key, and the dates, read in the branch's zone.
import { t } from "/static/common/i18n.js";

export const CATEGORIES = ["attitude", "waiting", "fees", "mis_selling", "error", "environment", "privacy", "other"];
export const CHANNELS = ["hotline", "branch", "box", "letter", "regulator", "online"];

/** The UTC offset (minutes) an ISO-8601 instant is written with: "…+08:00" → 480, "…Z" → 0. */
export function offsetOf(iso) {
  const m = /([+-])(\d{2}):?(\d{2})$/.exec(String(iso ?? ""));
  return m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

/**
 * An instant on the branch's wall clock, "2026-12-02 19:38" (the date alone with `dateOnly`).
 * The customer's pages know the branch's zone only through the server's times: a case's deadline
 * ends its day in the branch's zone and is written with the branch's offset, so `zoneOf` (the
 * deadline) gives the offset every other time of the case is shown in.
 */
export function branchTime(iso, zoneOf = iso, { dateOnly = false } = {}) {
  if (!iso) return "—";
  const shifted = new Date(Date.parse(iso) + offsetOf(zoneOf) * 60000).toISOString();
  return dateOnly ? shifted.slice(0, 10) : shifted.slice(0, 16).replace("T", " ");
}

/** The branch's calendar date of an instant (see branchTime). */
export function branchDate(iso, zoneOf = iso) {
  return branchTime(iso, zoneOf, { dateOnly: true });
}

/** A fresh key for one submission; a retry of the same form sends the same key. */
export function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

export class RequestError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** JSON over fetch; throws RequestError (status 0, code "offline" when nothing came back). */
export async function send(method, url, body, headers = {}) {
  const options = { method, credentials: "same-origin", headers: { ...headers } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch {
    throw new RequestError(0, "offline", "the server cannot be reached");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = data?.error ?? {};
    throw new RequestError(response.status, error.code ?? `http_${response.status}`, error.message ?? response.statusText);
  }
  return data;
}

/** The words of a value of one of the server's lists (`complaint.cat_fees`), or the value itself. */
export function named(lang, prefix, value) {
  const key = `complaint.${prefix}_${value}`;
  const words = t(lang, key);
  return words === key ? String(value ?? "—") : words;
}
