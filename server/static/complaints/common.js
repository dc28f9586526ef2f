// What the complaint pages share: the categories, channels and states the server names, the
// request that carries an Idempotency-Key, and the dates, read in the branch's zone.
import { t } from "/static/common/i18n.js";

export const CATEGORIES = ["attitude", "waiting", "fees", "mis_selling", "error", "environment", "privacy", "other"];
export const CHANNELS = ["hotline", "branch", "box", "letter", "regulator", "online"];

/**
 * The calendar date of an ISO-8601 instant as written with its offset: the server writes a
 * case's times with the branch's own offset, so this is the branch's date wherever the phone is.
 */
export function branchDate(iso) {
  return iso ? String(iso).slice(0, 10) : "—";
}

/** Date and time (to the minute) of an instant as the server wrote it, in the branch's zone. */
export function branchTime(iso) {
  return iso ? String(iso).slice(0, 16).replace("T", " ") : "—";
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
