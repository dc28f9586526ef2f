// The branch manager's live dashboard: queues against their targets, counters and their
// current customer, alerts, notices, and today's figures — kept live over the websocket.
// The alert rules are the server's (server/domain/alerts.py, in the dashboard's snapshot): the
// page asks for a fresh snapshot after each change and every few seconds, as waits grow by
// themselves. From here the manager posts and clears notices, pauses or closes counters, and suspends or
// resumes services; the lobby console (linked) does the rest.
import { connect } from "/static/common/live.js";
import { drawBreaches } from "/static/manage/breaches.js";
import { api, currentStaff, signInForm, signOut } from "/static/common/signin.js";
import {
  applyWords, both, chosenLanguage, errorText, languageSwitch, nameOf, pageLanguage, showLiveStatus, t,
} from "/static/common/i18n.js";
import { drawEmergency, setUpEmergency } from "/static/manage/emergency.js";
import { drawBookings } from "/static/manage/bookings.js";

const branch = decodeURIComponent(location.pathname.split("/")[2]);
const base = `/api/v1/branches/${encodeURIComponent(branch)}`;
const $ = (id) => document.getElementById(id);
const lowRatings = []; // ratings ≤ 2 seen since the page opened
let live = null;
let kpiTimer = null;
let resyncTimer = null;
let noticesShown = null; // the notices last drawn, so a Clear button is not redrawn under the pointer
/** Alerts on time (a wait past its target) appear within this long without any event. */
const ALERTS_EVERY_MS = 5000;
let lang = pageLanguage(); // the branch's once the live state says it, unless one was chosen
const w = (key, values) => both(lang, key, values);
/** Like w, with values that depend on the language (a service's name in each). */
const say = (key, values) => {
  const one = (l) => t(l, key, values(l));
  return lang === "en" ? one("en") : `${one(lang)} ${one("en")}`;
};

const mmss = (s) => (s === null || s === undefined ? "—" : `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`);
const since = (iso) => (iso ? (Date.now() - Date.parse(iso)) / 1000 : null);

function rows(table, headers, data) {
  table.innerHTML = "";
  const head = table.createTHead().insertRow();
  for (const h of headers) head.insertCell().outerHTML = `<th>${h}</th>`;
  const body = table.createTBody();
  for (const cells of data) {
    const tr = body.insertRow();
    for (const cell of cells) {
      const td = tr.insertCell();
      if (cell && cell.buttons) {
        td.className = "actions";
        td.append(...cell.buttons);
      } else if (cell && typeof cell === "object") {
        td.textContent = cell.text;
        if (cell.className) td.className = cell.className;
        if (cell.title) td.title = cell.title;
      } else td.textContent = cell;
    }
  }
}

/** One line of the server's alerts (server/domain/alerts.py), in the page's language with English beside. */
function alertText(alert, services) {
  const service = services[alert.service];
  const label = (l) => (service ? `${service.code} ${l === "en" ? service.names.en ?? "" : nameOf(service.names, l)}`.trim() : alert.service);
  return say(`dash.alert_${alert.code}`, (l) => ({
    service: label(l), counter: alert.counter, waiting: alert.waiting,
    waited: mmss(alert.waited_s), limit: mmss(alert.limit_s), since: mmss(alert.since_s),
  }));
}

function alertsOf(state) {
  const services = Object.fromEntries(state.services.map((s) => [s.code, s]));
  const alerts = (state.alerts ?? []).map((a) => ({ code: a.code, severity: a.severity, text: alertText(a, services) }));
  const add = (code, text) => alerts.push({ code, severity: "warning", text });
  for (const c of state.counters) {
    const current = c.current;
    const target = current && services[current.service]?.target_service_s;
    const began = current && (current.started_at || current.called_at);
    if (target && since(began) > target * 1.5) {
      add("slow", `🐢 ${w("dash.alert_slow", { counter: c.number, number: current.number, elapsed: mmss(since(began)), target: mmss(target) })}`);
    }
  }
  for (const d of state.devices ?? []) {
    const p = d.status?.printer;
    if (p && (!p.online || p.paper === "out" || p.paper === "near_end")) {
      const what = w(!p.online ? "dash.printer_offline" : p.paper === "out" ? "dash.paper_out" : "dash.paper_low");
      add("printer", `🖨 ${d.name}: ${what}${p.message ? ` (${p.message})` : ""}`);
    }
  }
  // Complaint deadlines (server/services/complaints.py, in the snapshot of a manager's dashboard).
  for (const a of state.complaints?.alerts ?? []) {
    const overdue = a.code === "complaint_overdue";
    alerts.push({
      code: a.code, severity: a.severity,
      text: `⚖ ${w(`complaint-stats.alert_${overdue ? "overdue" : "due_soon"}`, { number: a.number, n: Math.abs(a.days_left) })}`,
    });
  }
  for (const r of lowRatings) add("low_rating", `☹ ${w("dash.low_rating", { number: r.number, score: r.score, counter: r.counter })}`);
  return alerts;
}

function draw(state) {
  if (!state) return;
  $("branch-name").textContent = nameOf(state.branch.names, lang) || state.branch.id;
  const longest = {};
  for (const t of state.queue ?? []) longest[t.service] = Math.max(longest[t.service] ?? 0, since(t.issued_at));
  rows($("services"), ["dash.service", "dash.waiting", "dash.green", "dash.longest", "dash.target", "dash.actions"].map((k) => w(k)),
    state.services.map((s) => {
      const wait = longest[s.code] ?? null;
      const late = wait !== null && wait > s.target_wait_s;
      const name = lang === "en" ? s.names.en : `${nameOf(s.names, lang)} ${s.names.en}`;
      const suspended = s.active === false;
      return [`${s.code} ${name}` + (suspended ? ` · ${w("lobby.suspended")}` : ""), s.waiting, s.green_waiting,
        { text: mmss(wait), className: late ? "late" : "" }, mmss(s.target_wait_s), { buttons: [serviceButton(s)] }];
    }));
  const services = Object.fromEntries(state.services.map((s) => [s.code, s]));
  rows($("counters"), ["dash.counter", "dash.state", "dash.teller", "dash.current", "dash.elapsed", "dash.actions"].map((k) => w(k)),
    state.counters.map((c) => {
      const current = c.current;
      const began = current && (current.started_at || current.called_at);
      const elapsed = since(began);
      const target = current && services[current.service]?.target_service_s;
      const cls = elapsed === null || !target ? "" : elapsed > target * 1.5 ? "late" : elapsed > target ? "amber" : "";
      return [c.number, { text: w(`dash.state_${c.state}`) + (c.pause_reason ? ` (${c.pause_reason})` : ""), className: `state-${c.state}` },
        c.staff ?? "—", current ? `${current.number} ${w(`dash.ticket_${current.state}`)}` : "—", { text: mmss(elapsed), className: cls },
        { buttons: counterButtons(c) }];
    }));
  drawAlerts(alertsOf(state));
  drawDigest(state.complaints?.digest);
  drawBreaches($("breaches"), state.breaches ?? [], services, lang, base);
  drawNotices(state.notices ?? []);
}

/** The daily complaint digest, as the last snapshot has it. */
function drawDigest(digest) {
  const el = $("complaint-digest");
  el.hidden = !digest;
  if (!digest) return;
  el.textContent = w("complaint-stats.digest", {
    overdue: digest.overdue.length, due_soon: digest.due_soon.length, received: digest.received_yesterday,
    decided: digest.decided_yesterday, open: digest.open,
  });
}

/** What holds now; when nothing does, it says there is nothing to report (never "all well" over an alert). */
function drawAlerts(alerts) {
  const items = alerts.map((a) => {
    const li = document.createElement("li");
    li.textContent = a.text;
    li.dataset.code = a.code;
    li.className = `alert ${a.severity}`;
    return li;
  });
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "none";
    li.textContent = w("dash.no_alerts");
    items.push(li);
  }
  $("alerts").replaceChildren(...items);
}

/** The manager's buttons on a counter's row: pause an open counter, close an open or paused one. */
function counterButtons(c) {
  const buttons = [];
  const button = (action, key) => {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.action = action;
    b.dataset.counter = c.number;
    b.textContent = w(key);
    buttons.push(b);
  };
  if (c.state === "open") button("pause", "dash.pause");
  if (c.state !== "closed") button("close", "dash.close");
  return buttons;
}

/** Suspend a service (the kiosks grey it, issuing it is refused) or resume a suspended one. */
function serviceButton(s) {
  const b = document.createElement("button");
  b.type = "button";
  b.dataset.service = s.code;
  b.dataset.switch = s.active === false ? "resume" : "suspend";
  b.textContent = w(s.active === false ? "lobby.resume" : "lobby.suspend");
  return b;
}

async function serviceAction(event) {
  const b = event.target.closest("button[data-switch]");
  if (!b) return;
  const { service, switch: action } = b.dataset;
  if (!window.confirm(w(action === "suspend" ? "lobby.confirm_suspend" : "lobby.confirm_resume", { service }))) return;
  b.disabled = true;
  try {
    await api("POST", `${base}/services/${encodeURIComponent(service)}/${action}`, {});
    $("service-result").textContent = w(action === "suspend" ? "lobby.suspended_now" : "lobby.resumed", { service });
    scheduleResync(0);
  } catch (e) {
    $("service-result").textContent = `${service}: ${errorText(lang, e)}`;
  } finally {
    b.disabled = false;
  }
}

async function counterAction(event) {
  const b = event.target.closest("button[data-action]");
  if (!b) return;
  b.disabled = true;
  try {
    await api("POST", `${base}/counters/${b.dataset.counter}/${b.dataset.action}`, {});
    $("counter-result").textContent = "";
  } catch (e) {
    $("counter-result").textContent = `${w("dash.counter")} ${b.dataset.counter}: ${errorText(lang, e)}`;
  } finally {
    b.disabled = false;
  }
}

function noticeLine(n) {
  const main = nameOf(n.texts, lang);
  const english = n.texts.en && lang !== "en" && n.texts.en !== main ? ` · ${n.texts.en}` : "";
  const until = n.expires_at ? ` (${w("dash.notice_until", { t: new Date(n.expires_at).toLocaleTimeString(lang, { timeZone: zone(), hour: "2-digit", minute: "2-digit", hour12: false }) })})` : "";
  return `${n.level === "emergency" ? "⚠ " : ""}${main}${english}${until}`;
}

function zone() {
  return live?.state?.branch?.timezone || undefined;
}

/** The notices showing now, each with its Clear button (redrawn only when they change). */
function drawNotices(notices) {
  const key = JSON.stringify([lang, notices]);
  if (key === noticesShown) return;
  noticesShown = key;
  const items = notices.map((n) => {
    const li = document.createElement("li");
    li.dataset.notice = n.id;
    li.className = n.level === "emergency" ? "emergency" : "";
    const text = document.createElement("span");
    text.textContent = noticeLine(n);
    const clear = document.createElement("button");
    clear.type = "button";
    clear.dataset.clear = n.id;
    clear.textContent = w("dash.clear_notice");
    li.append(text, " ", clear);
    return li;
  });
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "none";
    li.textContent = w("dash.no_notices");
    items.push(li);
  }
  $("notices").replaceChildren(...items);
}

async function clearNotice(event) {
  const b = event.target.closest("button[data-clear]");
  if (!b) return;
  b.disabled = true;
  try {
    await api("POST", `${base}/notices/${b.dataset.clear}/clear`);
    $("notice-result").textContent = w("dash.done");
  } catch (e) {
    $("notice-result").textContent = errorText(lang, e);
    b.disabled = false;
  }
}

async function postNotice(event) {
  event.preventDefault();
  const form = event.target;
  const texts = {};
  for (const l of ["zh-CN", "en", "zh-TW"]) {
    const text = form.elements[l].value.trim();
    if (text) texts[l] = text;
  }
  const body = { texts, level: form.elements.level.value };
  if (form.elements.minutes.value) body.minutes = Number(form.elements.minutes.value);
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  try {
    await api("POST", `${base}/notices`, body);
    form.reset();
    $("notice-result").textContent = w("dash.done");
  } catch (e) {
    $("notice-result").textContent = errorText(lang, e);
  } finally {
    submit.disabled = false;
  }
}

/** The alerts are the snapshot's: a change asks for a fresh one (once per burst). */
function scheduleResync(delay = 300) {
  clearTimeout(resyncTimer);
  resyncTimer = setTimeout(() => live?.resync(), delay);
}

async function refreshKpis() {
  try {
    const today = await api("GET", `${base}/reports/summary`);
    const t = today.total;
    const pct = (x) => (x === null ? "—" : `${(x * 100).toFixed(0)}%`);
    const cards = [
      ["dash.issued", t.issued], ["dash.served", t.served], ["dash.no_show", t.no_show],
      ["dash.wait_avg", mmss(t.wait_avg_s)], ["dash.sla", pct(t.sla_share)],
      ["dash.rating", t.rating_mean === null ? "—" : t.rating_mean.toFixed(2)],
    ];
    $("kpis").innerHTML = cards.map(([k, v]) => `<div class="card"><div>${w(k)}</div><div class="value">${v}</div></div>`).join("");
  } catch (e) {
    $("kpis").textContent = errorText(lang, e);
  }
}

function scheduleKpis() {
  clearTimeout(kpiTimer);
  kpiTimer = setTimeout(refreshKpis, 1000); // a burst of events refreshes once
}

function drawStatus() {
  showLiveStatus($("status"), live, lang);
}

function setLanguage(next) {
  lang = next;
  $("lang").value = lang;
  applyWords(lang);
  drawStatus();
  draw(live?.state);
  refreshKpis();
  if (bookingsShown) drawBookings($("bookings"), bookingsShown, lang);
}

async function main() {
  languageSwitch($("lang"), lang, setLanguage);
  applyWords(lang);
  let me = await currentStaff();
  if (!me) {
    await signInForm($("app"), { title: w("dash.title"), lang });
    location.reload();
    return;
  }
  $("to-reports").href = `/manage/${encodeURIComponent(branch)}/reports`;
  $("to-lobby").href = `/lobby/${encodeURIComponent(branch)}`;
  $("to-complaints").href = `/manage/${encodeURIComponent(branch)}/complaints`;
  $("to-inspections").href = `/manage/${encodeURIComponent(branch)}/inspections`;
  $("signout").addEventListener("click", async () => { await signOut(); location.reload(); });
  $("counters").addEventListener("click", counterAction);
  $("services").addEventListener("click", serviceAction);
  $("notices").addEventListener("click", clearNotice);
  $("notice-form").addEventListener("submit", postNotice);
  live = connect({
    role: "dashboard",
    branch,
    onChange(state, change) {
      if (change.kind === "snapshot" && !chosenLanguage() && state.branch.language !== lang) {
        lang = state.branch.language;
        $("lang").value = lang;
        applyWords(lang);
        drawStatus();
        refreshKpis();
      }
      if (change.kind === "event") {
        const e = change.event;
        if (e.kind === "feedback.given" && e.data.score <= 2) lowRatings.push(e.data);
        if (e.kind.startsWith("ticket.") || e.kind === "feedback.given") scheduleKpis();
        if (e.kind.startsWith("ticket.") || e.kind.startsWith("counter.")) scheduleResync();
        if (e.kind.startsWith("alert.")) scheduleResync(0); // the open breaches are the snapshot's
        if (e.kind.startsWith("complaint.")) scheduleResync(); // so are the complaint deadlines
        if (e.kind.startsWith("booking.") || e.kind.startsWith("ticket.")) scheduleBookings();
      }
      draw(state);
      drawEmergency(state);
    },
    onStatus() {
      drawStatus();
    },
  });
  window.__dashboard = live;
  setUpEmergency({ base, lang: () => lang, state: () => live.state });
  await refreshKpis();
  setInterval(() => draw(live.state), 1000); // the timers tick
  setInterval(() => { if (live.connected) live.resync(); }, ALERTS_EVERY_MS);
  setInterval(refreshKpis, 30000);
  await refreshBookings();
  setInterval(refreshBookings, 60000); // "late" grows by itself as slots begin
}

let bookingsTimer = null;
let bookingsShown = null;

function scheduleBookings() {
  clearTimeout(bookingsTimer);
  bookingsTimer = setTimeout(refreshBookings, 500);
}

/** Today's bookings per service and slot, on the branch's calendar (the server's default day). */
async function refreshBookings() {
  try {
    const zone = live?.state?.branch?.timezone || undefined;
    let date;
    try {
      date = new Intl.DateTimeFormat("en-CA", { timeZone: zone }).format(new Date());
    } catch {
      date = new Intl.DateTimeFormat("en-CA").format(new Date());
    }
    bookingsShown = await api("GET", `${base}/bookings?date=${date}`);
    drawBookings($("bookings"), bookingsShown, lang);
  } catch (e) {
    $("bookings").textContent = errorText(lang, e);
  }
}

main();
