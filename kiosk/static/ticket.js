// The ticket holder's page (the QR code on the ticket): it follows its ticket over the
// branch's websocket (role "phone", the ticket's token), reading the ticket again whenever
// something happens in its branch; only while the socket is down does it poll, slowly.
// The branch's notices show at the top (an emergency in red), as on the board.
import { connect } from "/static/common/live.js";
import { emergencyText, emergencyTitle } from "/static/common/emergency.js";
import { applyWords, both, chosenLanguage, errorText, languageOf, nameOf } from "/static/common/i18n.js";

const token = location.pathname.split("/")[2];
const $ = (id) => document.getElementById(id);
const FALLBACK_POLL_MS = 30000;
const FINAL = { done: "phone.done", no_show: "phone.no_show", cancelled: "phone.cancelled", expired: "phone.expired" };
// Chinese with English beside it, unless this phone reads Traditional Chinese or ?lang= says otherwise.
const lang = chosenLanguage() ?? (/^zh/i.test(navigator.language) ? languageOf(navigator.language) : "zh-CN");
const w = (key, values) => both(lang, key, values);
let live = null;
let finished = false;
let reading = null;
let again = false;
window.__phone = { loads: 0 };

function names(map) {
  const chinese = nameOf(map, lang);
  return lang === "en" || chinese === map.en ? map.en ?? chinese : `${chinese} ${map.en ?? ""}`.trim();
}

async function load() {
  if (reading) { again = true; return reading; }
  reading = (async () => {
    try {
      window.__phone.loads += 1;
      const response = await fetch(`/api/v1/tickets/${token}`);
      const data = await response.json();
      if (data.error?.code === "ticket_expired") {
        // It will not come back: the ticket's business day is over.
        finished = true;
        if (live) { live.close(); live = null; }
      }
      if (!response.ok) throw data.error ?? { message: response.statusText };
      draw(data);
    } catch (e) {
      $("error").textContent = errorText(lang, e);
      $("error").hidden = false;
    }
  })();
  await reading;
  reading = null;
  if (again) { again = false; await load(); }
}

function draw(data) {
  $("error").hidden = true;
  $("branch").textContent = names(data.branch_names);
  $("number").textContent = data.number;
  $("service").textContent = names(data.service_names);
  const called = data.state === "called" || data.state === "serving";
  $("called").hidden = !called;
  $("called").textContent = called ? w("phone.go_to", { counter: data.counter }) : "";
  $("waiting").hidden = data.state !== "waiting";
  $("ahead").textContent = w("phone.ahead", { n: data.ahead });
  const minutes = Math.round(data.estimated_wait_s / 60);
  $("estimate").textContent = data.no_counter_open || data.estimated_wait_s == null ? w("phone.no_counter")
    : minutes ? w("phone.estimate", { m: minutes }) : w("phone.soon");
  $("state").hidden = !FINAL[data.state];
  $("state").textContent = FINAL[data.state] ? w(FINAL[data.state]) : "";
  $("cancel").hidden = data.state !== "waiting";
  $("notify-form").hidden = data.state !== "waiting" || asked !== null;
  if (data.state !== "waiting") $("notify-done").hidden = true;
  nearNow(data);
  // A complaint or suggestion about this visit: the branch's form, linked to this ticket.
  $("complain").href = `/complain/${encodeURIComponent(data.branch)}?ticket=${encodeURIComponent(token)}${lang === "zh-CN" ? "" : `&lang=${lang}`}`;
  $("complain").hidden = false;
  if (called && navigator.vibrate) navigator.vibrate([300, 100, 300]);
  finished = Boolean(FINAL[data.state]);
  if (!live && !finished) follow(data.branch);
  if (finished && live) { live.close(); live = null; }
}

/** Every ticket or counter event in the branch may move this ticket: read it again (once per burst). */
function follow(branch) {
  let timer = null;
  live = connect({
    role: "phone",
    branch,
    token,
    onChange(state, change) {
      // Emergency mode ended while this ticket waits: say that issuing and service resumed.
      if (change.kind === "snapshot" && change.previous?.emergency && !state.emergency) resumed = true;
      if (state.emergency) resumed = false;
      drawNotices(state.notices ?? [], state.emergency ?? null);
      if (change.kind === "snapshot" && !change.resync) return; // just read
      clearTimeout(timer);
      timer = setTimeout(load, 150);
    },
  });
  window.__phone.live = live;
}

/** The notices showing now, above the ticket: the phone's language with the English beside. */
let resumed = false;

function drawNotices(notices, incident = null) {
  let box = $("notices");
  if (!box) {
    box = document.createElement("div");
    box.id = "notices";
    box.setAttribute("role", "status");
    document.querySelector("main").prepend(box);
  }
  const ordered = [...notices];
  const urgent = [];
  if (incident) {
    const p = document.createElement("p");
    p.className = "notice emergency";
    p.setAttribute("role", "alert");
    p.style.cssText = "background:#b3261e;color:#fff;font-weight:bold;border-radius:12px;padding:14px;margin:10px 0";
    const main = emergencyText(incident, lang);
    const english = lang !== "en" && incident.texts?.en && incident.texts.en !== main ? ` ${incident.texts.en}` : "";
    p.textContent = `⚠ ${emergencyTitle(incident, lang)}: ${main}${english}`;
    urgent.push(p);
  } else if (resumed) {
    const p = document.createElement("p");
    p.className = "notice resumed";
    p.style.cssText = "background:#e3f4e1;border:1px solid #2e7d32;border-radius:12px;padding:10px;margin:10px 0";
    p.textContent = w("emergency.resumed");
    urgent.push(p);
  }
  box.replaceChildren(...urgent, ...ordered.map((n) => {
    const p = document.createElement("p");
    const urgent = n.level === "emergency";
    p.className = `notice ${n.level}`;
    p.style.cssText = urgent
      ? "background:#b3261e;color:#fff;font-weight:bold;border-radius:12px;padding:14px;margin:10px 0"
      : "background:#fff7d6;border:1px solid #c9a227;border-radius:12px;padding:10px;margin:10px 0";
    const main = nameOf(n.texts, lang);
    const english = lang !== "en" && n.texts.en && n.texts.en !== main ? ` ${n.texts.en}` : "";
    p.textContent = `${urgent ? `⚠ ${w("display.emergency")}: ` : ""}${main}${english}`;
    return p;
  }));
  box.hidden = !ordered.length && !urgent.length;
}

// --- "tell me when N are ahead": by e-mail or SMS from the server, and here while the page is open ---

let asked = null; // {n, contact} once the server has the wish
let told = false;

/** While this page is open, the phone itself says so too (vibration, a browser notification). */
function nearNow(data) {
  if (!asked || told || data.state !== "waiting" || data.ahead > asked.n) return;
  told = true;
  if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
  if (window.Notification?.permission === "granted") {
    new Notification(w("notify.near", { number: data.number, n: data.ahead }));
  }
}

$("notify-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.target;
  const contact = form.contact.value.trim();
  const n = Number(form.ahead.value);
  const body = { ahead: n, consent: form.consent.checked, language: lang, [contact.includes("@") ? "email" : "phone"]: contact };
  if (window.Notification?.permission === "default") Notification.requestPermission().catch(() => {});
  const response = await fetch(`/api/v1/tickets/${token}/notify`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    $("notify-error").textContent = errorText(lang, answer.error ?? { message: response.statusText });
    $("notify-error").hidden = false;
    return;
  }
  $("notify-error").hidden = true;
  asked = { n, contact: answer.contact };
  $("notify-form").hidden = true;
  $("notify-done").textContent = w("notify.asked", { n, contact: answer.contact });
  $("notify-done").hidden = false;
  load();
});

$("cancel").addEventListener("click", async () => {
  if (!confirm(w("phone.confirm_cancel"))) return;
  const response = await fetch(`/api/v1/tickets/${token}/cancel`, { method: "POST" });
  if (!response.ok) {
    const error = (await response.json().catch(() => ({}))).error ?? { message: response.statusText };
    $("error").textContent = errorText(lang, error);
    $("error").hidden = false;
  }
  load();
});
document.addEventListener("visibilitychange", () => { if (!document.hidden && !finished) load(); });
applyWords(lang);
document.title = `${w("phone.title")} · branchq`;
load();
// The fallback: only while the socket is not there (not yet, or down).
setInterval(() => { if (!finished && !document.hidden && !live?.connected) load(); }, FALLBACK_POLL_MS);
