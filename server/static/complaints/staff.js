// What the staff's complaint pages share: the header (branch name, language, sign-out), the
// sign-in gate, the branch's configuration (names, time zone, services) and its staff, times
// drawn on the branch's wall clock, and a refusal in the page's words.
import { api, currentStaff, signInForm, signOut } from "/static/common/signin.js";
import { applyWords, both, errorText, languageSwitch, nameOf, pageLanguage, t } from "/static/common/i18n.js";

export const branch = decodeURIComponent(location.pathname.split("/")[2]);
export const base = `/api/v1/branches/${encodeURIComponent(branch)}`;
export const desk = `/manage/${encodeURIComponent(branch)}/complaints`;
export const $ = (id) => document.getElementById(id);

export const page = {
  lang: pageLanguage(),
  config: null, // the branch's configuration: names, timezone, services
  staff: [], // the branch's staff accounts: {id, username, display_name, role}
  me: null,
};

export const w = (key, values) => both(page.lang, key, values);

/** A value of one of the server's lists in both languages (`complaint.cat_fees`), or the value. */
export function named(prefix, value) {
  if (value === null || value === undefined) return "—";
  const key = `complaint.${prefix}_${value}`;
  return t("en", key) === key ? String(value) : w(key);
}

/** An instant on the branch's wall clock: "2026-12-02 19:38" (its date alone with `dateOnly`). */
export function when(iso, { dateOnly = false } = {}) {
  if (!iso) return "—";
  const zone = page.config?.timezone ?? "Asia/Shanghai";
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-CA", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  const day = `${parts.year}-${parts.month}-${parts.day}`;
  return dateOnly ? day : `${day} ${parts.hour}:${parts.minute}`;
}

export function staffName(id) {
  if (id === null || id === undefined) return "—";
  const s = page.staff.find((x) => x.id === id);
  return s ? `${s.display_name} (${s.username})` : `#${id}`;
}

/** A refusal in the page's words: a complaint rule's own words where the table has them. */
export function refusal(error) {
  const key = `complaint.err_${error?.code}`;
  if (error?.code && t("en", key) !== key) return `${w(key)} · ${error.message ?? ""}`.trim();
  return errorText(page.lang, error);
}

export function showError(id, error) {
  const el = $(id);
  el.textContent = error ? (typeof error === "string" ? error : refusal(error)) : "";
  el.hidden = !error;
}

/** Options of a <select>: [value, words] pairs, the first one chosen unless `value` says. */
export function fill(select, options, value = select.value) {
  select.replaceChildren(...options.map(([v, words]) => new Option(words, v)));
  if (options.some(([v]) => v === value)) select.value = value;
}

export function serviceName(code) {
  const s = page.config?.services?.find((x) => x.code === code);
  return s ? `${code} ${nameOf(s.names, page.lang)}` : code ?? "—";
}

/**
 * Sign in (a form in `main` when not yet), then load the branch's configuration and staff and
 * set up the header; `redraw` runs whenever the language changes. Resolves with the staff member,
 * or null when this account may not see the page (the page says so).
 */
export async function start(titleKey, redraw) {
  const words = () => {
    applyWords(page.lang);
    document.title = `${w(titleKey)} · branchq`;
    const name = page.config ? nameOf(page.config.names, page.lang) : branch;
    $("branch-name").textContent = name;
  };
  languageSwitch($("lang"), page.lang, (next) => { page.lang = next; words(); redraw(); });
  $("signout").addEventListener("click", async () => { await signOut().catch(() => null); location.reload(); });
  for (const [id, href] of [["to-dashboard", `/manage/${encodeURIComponent(branch)}`], ["to-desk", desk], ["to-new", `${desk}/new`]]) {
    if ($(id)) $(id).href = href;
  }
  words();
  page.me = await currentStaff();
  if (!page.me) {
    await signInForm($("app"), { title: w(titleKey), lang: page.lang });
    location.reload();
    return null;
  }
  try {
    [page.config, page.staff] = await Promise.all([
      api("GET", `/api/v1/admin/branches/${encodeURIComponent(branch)}`),
      api("GET", `/api/v1/admin/staff?branch=${encodeURIComponent(branch)}`),
    ]);
  } catch (e) {
    if (e.status === 403 || e.status === 404) {
      $("app").replaceChildren(Object.assign(document.createElement("p"), { className: "error", id: "no-access", textContent: `${w("complaint.no_access")} · ${e.message}` }));
      return null;
    }
    throw e;
  }
  words();
  return page.me;
}
