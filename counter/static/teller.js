// The teller's screen: one key per step (call, serve, finish, next), the current customer
// with its timers, the live waiting list, every refusal in plain words.
import { connect, counterQueue } from "/static/common/live.js";
import { api, currentStaff, signInForm, signOut } from "/static/common/signin.js";
import { breachLine } from "/static/manage/breaches.js";
import { applyWords, both, chosenLanguage, errorText, languageSwitch, pageLanguage, t } from "/static/common/i18n.js";
import { appointmentTime } from "/static/book/common.js";

// The page's one transport is the websocket: its commands for every action, its live state
// for the counter and the queue. HTTP only reads, once, what the live state does not hold
// (the teller's figures for today, refreshed when a ticket finishes here or the holder
// changes) and, while the snapshot cannot tell this counter's call order, the queue in it.

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let lang = pageLanguage(); // the branch's once the live state says it, unless one was chosen
const w = (key, values) => both(lang, key, values);
let me = null;
let branch = null;
let counter = null;
let first = null; // GET counters/{n}: {counter, ticket, today}, drawn until the live state comes
let today = null; // the counter's holder's figures for today
let targets = {}; // service code → target service seconds
let targetWaits = {}; // service code → target wait seconds: a waiting ticket past it is overdue
let live = null;
let todayTimer = null;
let queueTimer = null;
let queueDrawn = 0; // bumped on every draw of the queue, so a slower answer never draws over a newer one
const whenConnected = []; // actions pressed before the first snapshot, waiting for it

const COMMANDS = {
  open: "counter/open", pause: "counter/pause", close: "counter/close", "call-next": "counter/call_next",
  call: "counter/call", recall: "counter/recall", "no-show": "counter/no_show", start: "counter/start",
  finish: "counter/finish", transfer: "counter/transfer",
};
const CONNECT_WITHIN_MS = 10000;

const mmss = (s) => (s === null || s === undefined || Number.isNaN(s) ? "—"
  : `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`);
const since = (iso) => (iso ? Math.max(0, (Date.now() - Date.parse(iso)) / 1000) : null);
const base = () => `/api/v1/branches/${encodeURIComponent(branch)}`;

function say(text, kind = "error") {
  const box = $("message");
  box.textContent = text;
  box.className = kind === "error" ? "" : "info";
  box.hidden = false;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => { box.hidden = true; }, 6000);
}
window.__teller = { messages: [] };
const origSay = say;
function report(text, kind) { window.__teller.messages.push(text); origSay(text, kind); }
/** A refusal ({code, message}) in the page's words. */
const refusal = (e) => report(errorText(lang, e));

/** This counter as the live state has it (as GET counters/{n} had it, until the first snapshot). */
function desk() {
  return live?.state?.counters?.find((c) => c.number === counter) ?? first?.counter ?? null;
}

function connected() {
  if (live.connected) return Promise.resolve();
  if (live.status === "refused") return Promise.reject({ code: "refused", message: live.refused });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject({ code: "disconnected", message: "not connected to the server" }),
      CONNECT_WITHIN_MS);
    whenConnected.push(() => { clearTimeout(timer); resolve(); });
  });
}

/**
 * Run a counter action as a websocket command; its effects come back as events. Every
 * command says which ticket this page shows as current (`expect`), so a second press of
 * the same key, sent before the first one's effect arrived, changes nothing on the server.
 */
async function act(action, args = {}) {
  try {
    await connected();
    const expect = desk()?.current?.id ?? null;
    const result = await live.command(COMMANDS[action], { ...args, counter, expect });
    if ((action === "call-next" || action === "call") && result?.ticket) {
      justCalled = { id: result.ticket.id, at: performance.now() };
    }
    return result;
  } catch (e) {
    refusal(e);
    return null;
  }
}

function draw() {
  const c = desk();
  if (!c || !$("current-number")) return;
  const badge = $("counter-state");
  badge.textContent = w(`teller.state_${c.state}`);
  // After a pause the open key gives the counter back: it says so.
  $("open-label").textContent = w(c.state === "paused" ? "teller.resume" : "teller.open");
  badge.className = `badge ${c.state}`;
  $("pause-reason").textContent = c.pause_reason ?? "";
  $("who").textContent = c.staff ? `${c.staff}` : "";
  const t = c.current;
  $("current-number").textContent = t ? t.number : "—";
  $("current-service").textContent = t
    ? `${t.service} · ${w(t.state === "serving" ? "teller.serving" : "teller.called")}${t.recalls ? ` · ${w("teller.recalls", { n: t.recalls })}` : ""}`
    : w("teller.ready");
  const reason = t && reasonOf(t);
  $("current-green").hidden = !reason;
  $("current-green").textContent = reason ? greenWords(reason) : "";
  const slot = t ? appointmentTime(t.appointment, live?.state?.branch?.timezone) : null;
  $("current-booking").hidden = !slot;
  $("current-booking").textContent = slot ? w("booking.appointment", { slot }) : "";
  const mine = c.staff === me.username || me.role !== "teller";
  for (const button of document.querySelectorAll(".actions button")) {
    const a = button.dataset.action;
    const enabled = {
      open: c.state !== "open" || c.staff !== me.username, // a manager may take over
      pause: c.state === "open" && mine,
      close: c.state !== "closed" && !t && mine,
      "call-next": c.state === "open" && mine,
      recall: !!t && t.state === "called" && mine,
      start: !!t && t.state === "called" && mine,
      finish: !!t && mine,
      "no-show": !!t && t.state === "called" && mine,
      transfer: !!t && mine,
    }[a];
    button.disabled = !enabled;
  }
  if (today) {
    $("served").textContent = today.served;
    $("average").textContent = mmss(today.average_service_s);
  }
  tick();
}

function tick() {
  const t = desk()?.current;
  const timer = $("service-timer");
  if (!timer) return;
  $("waited").textContent = t ? mmss((Date.parse(t.called_at) - Date.parse(t.issued_at)) / 1000) : "—";
  const began = t && (t.started_at || t.called_at);
  const elapsed = since(began);
  const target = t && targets[t.service];
  timer.textContent = mmss(elapsed);
  $("service-target").textContent = target ? mmss(target) : "—";
  timer.className = !t || !target ? "" : elapsed > 1.5 * target ? "red" : elapsed > target ? "amber" : "";
  markOverdue();
}

/** Waiting tickets past their service's target wait are marked, as the time passes too. */
function markOverdue() {
  for (const tr of $("waiting")?.tBodies[0]?.rows ?? []) {
    const target = targetWaits[tr.dataset.service];
    const late = Boolean(target) && since(tr.dataset.issued) > target;
    tr.classList.toggle("overdue", late);
    tr.cells[2].textContent = mmss(since(tr.dataset.issued));
    tr.cells[2].title = late ? w("teller.overdue") : "";
    tr.querySelector(".late").hidden = !late;
  }
}

/** Green-channel reasons by ticket id, read from the queue over HTTP: no event carries one. */
const greenReasons = new Map();
const reasonOf = (ticket) => ticket.green_reason ?? greenReasons.get(ticket.id) ?? null;
const reasonWord = (reason) => t(lang, `green.${reason}`);
const greenWords = (reason) => w("teller.green_reason", { reason: reasonWord(reason) });

/** Learn the reasons of green tickets the live state holds without one; redraw once learned. */
async function learnReasons(tickets) {
  const unknown = tickets.filter((e) => e.priority === "green" && !reasonOf(e));
  if (!unknown.length || learnReasons.busy) return;
  learnReasons.busy = true;
  try {
    const queue = await api("GET", `${base()}/queue?counter=${counter}`);
    for (const e of queue.tickets) if (e.green_reason) greenReasons.set(e.id, e.green_reason);
    if (unknown.some((e) => reasonOf(e))) drawQueue(tickets);
  } catch (e) {
    // the reasons stay unshown until the next draw; the queue itself is drawn
  } finally {
    learnReasons.busy = false;
  }
}

function drawQueue(tickets) {
  const body = $("waiting")?.tBodies[0];
  if (!body) return;
  learnReasons(tickets);
  queueDrawn += 1;
  $("waiting-count").textContent = tickets.length;
  body.innerHTML = "";
  for (const t of tickets.slice(0, 50)) {
    const tr = body.insertRow();
    tr.dataset.service = t.service;
    tr.dataset.issued = t.issued_at;
    tr.insertCell().textContent = t.number;
    tr.cells[0].className = t.priority === "green" ? "green" : "";
    if (reasonOf(t)) {
      const why = document.createElement("small");
      why.className = "green-reason";
      why.textContent = ` ${reasonWord(reasonOf(t))}`;
      tr.cells[0].append(why);
    }
    tr.insertCell().textContent = t.service;
    tr.insertCell().textContent = mmss(since(t.issued_at));
    const late = document.createElement("span");
    late.className = "late";
    late.textContent = w("teller.overdue");
    tr.insertCell().append(late);
    const button = document.createElement("button");
    button.textContent = w("teller.call");
    button.addEventListener("click", () => act("call", { ticket: t.number }));
    tr.insertCell().append(button);
  }
  markOverdue();
}

/** The queue from the live state; over HTTP only while the state cannot tell this counter's order. */
function showQueue(state) {
  const tickets = counterQueue(state, counter);
  if (tickets) {
    clearTimeout(queueTimer);
    drawQueue(tickets);
    return;
  }
  clearTimeout(queueTimer);
  queueTimer = setTimeout(async () => {
    const drawn = queueDrawn;
    try {
      const queue = await api("GET", `${base()}/queue?counter=${counter}`);
      if (drawn === queueDrawn) drawQueue(queue.tickets);
    } catch (e) {
      refusal(e);
    }
  }, 150);
}

async function readToday() {
  try {
    const view = await api("GET", `${base()}/counters/${counter}`);
    if (view.today) today = view.today;
    return view;
  } catch (e) {
    refusal(e);
    return null;
  }
}

/** Today's figures are not in the live state: read them again when they may have changed. */
function changesToday(change) {
  if (change.kind === "snapshot") return change.resync;
  const { kind, data } = change.event;
  return data.counter === counter && (kind === "ticket.finished" || kind === "counter.opened");
}

function scheduleToday() {
  clearTimeout(todayTimer);
  todayTimer = setTimeout(async () => { await readToday(); draw(); }, 150);
}

async function chooseCounter() {
  $("switch").hidden = true;
  const counters = await api("GET", `${base()}/counters`);
  const section = $("chooser").content.cloneNode(true);
  const list = section.querySelector(".counters");
  for (const c of counters) {
    const button = document.createElement("button");
    button.textContent = `${w("common.counter_n", { n: c.number })} · ${c.services.join(" ")}${c.green_only ? ` · ${w("teller.green")}` : ""}${c.staff ? ` · ${c.staff}` : ""}`;
    button.disabled = !c.mine;
    button.addEventListener("click", () => { location.search = `?branch=${encodeURIComponent(branch)}&counter=${c.number}`; });
    list.append(button);
  }
  applyWords(lang, { root: section });
  $("app").replaceChildren(section);
}

async function openDesk() {
  $("app").replaceChildren($("desk").content.cloneNode(true));
  applyWords(lang);
  $("title").textContent = w("common.counter_n", { n: counter });
  $("switch").hidden = false;
  for (const button of document.querySelectorAll(".actions button")) {
    button.addEventListener("click", () => press(button.dataset.action));
  }
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, select, textarea, dialog[open]") || event.ctrlKey || event.metaKey || event.altKey) return;
    const button = [...document.querySelectorAll(".actions button")].find((b) => b.dataset.key === event.key.toLowerCase());
    if (button) {
      event.preventDefault();
      if (button.disabled) report(whyNot(button.dataset.action) ?? notNow(button.querySelector("[data-t]").dataset.t));
      else press(button.dataset.action);
    }
  });
  $("transfer-cancel").addEventListener("click", () => $("transfer-dialog").close());
  $("pause-cancel").addEventListener("click", () => $("pause-dialog").close());
  $("transfer-form").addEventListener("submit", (event) => {
    const form = event.target;
    if (event.submitter?.value !== "ok") return;
    const args = { position: form.position.value };
    if (form.counter.value) args.to_counter = Number(form.counter.value);
    else if (form.service.value) args.service = form.service.value;
    else { event.preventDefault(); report(w("teller.choose_target")); return; }
    act("transfer", args);
  });
  $("pause-form").addEventListener("submit", (event) => {
    if (event.submitter?.value !== "ok") return;
    // The fixed reason goes to the lobby's screens; the teller's own words stay with the staff.
    const reason = event.target.reason.value.trim();
    act("pause", { code: event.target.code.value, ...(reason ? { reason } : {}) });
  });
  live = connect({
    role: "counter",
    branch,
    onChange(state, change) {
      if (change.kind === "snapshot" && !chosenLanguage() && state.branch.language !== lang) setLanguage(state.branch.language);
      targets = Object.fromEntries(state.services.map((s) => [s.code, s.target_service_s]));
      targetWaits = Object.fromEntries(state.services.map((s) => [s.code, s.target_wait_s]));
      fillTransferChoices(state);
      showQueue(state);
      if (changesToday(change)) scheduleToday();
      if (change.kind === "event" && change.event.kind.startsWith("alert.")) live.resync(); // the open breaches are the snapshot's
      drawBreachBanner(state);
      draw();
    },
    onStatus(status, l) {
      drawStatus();
      if (status === "connected") for (const go of whenConnected.splice(0)) go();
    },
  });
  window.__teller.live = live;
  first = await readToday();
  draw();
  setInterval(tick, 1000);
}

/** A small banner of the branch's open service-standard breaches (the manager acts on them). */
function drawBreachBanner(state) {
  const banner = $("breach-banner");
  const open = state.breaches ?? [];
  banner.hidden = open.length === 0;
  if (!open.length) return;
  const services = Object.fromEntries(state.services.map((s) => [s.code, s]));
  const first = breachLine(open[0], services, lang);
  banner.textContent = `⚠ ${w("assessment.breaches_open", { n: open.length })}: ${first}${open.length > 1 ? " …" : ""}`;
  banner.dataset.count = String(open.length);
  banner.classList.toggle("severe", open.some((b) => b.severity === "severe"));
}

function fillTransferChoices(state) {
  const form = $("transfer-form");
  if (!form || form.dataset.filled) return;
  for (const s of state.services) form.service.add(new Option(`${s.code} ${serviceName(s)}`, s.code));
  for (const c of state.counters) if (c.number !== counter) form.counter.add(new Option(`${c.number}`, String(c.number)));
  form.dataset.filled = "1";
}

/** Call-next moments after a call that was not started is a second press, not a wish to finish. */
const CALL_GUARD_MS = 2000;
let justCalled = { id: null, at: -Infinity };

function secondPress() {
  const current = desk()?.current;
  return current?.state === "called" && current.id === justCalled.id
    && performance.now() - justCalled.at < CALL_GUARD_MS;
}

function press(action) {
  if (action === "call-next" && secondPress()) {
    report(w("teller.just_called", { number: desk().current.number }));
    return;
  }
  if (action === "transfer") {
    $("transfer-number").textContent = desk()?.current?.number ?? "";
    $("transfer-dialog").showModal();
  } else if (action === "pause") {
    $("pause-dialog").showModal();
  } else {
    act(action);
  }
}

/** The status in the header: online, (re)connecting, or the server's refusal. */
function drawStatus() {
  const el = $("status");
  const status = live?.status ?? "connecting";
  el.dataset.status = status;
  el.textContent = {
    connected: w("common.online"), connecting: w("common.connecting_short"),
    reconnecting: w("common.reconnecting_short"), refused: `✖ ${live?.refused ?? ""}`,
  }[status] ?? status;
}

/** "Not now: Finish", in the page's Chinese and in English. */
function notNow(key) {
  const say = (l) => t(l, "teller.not_now", { what: t(l, key) });
  return lang === "en" ? say("en") : `${say(lang)} ${say("en")}`;
}

/** Why a key is off now, as the server would refuse it ({code} in the page's words), or null. */
function whyNot(action) {
  const c = desk();
  if (!c) return null;
  const calling = ["call-next", "call"].includes(action);
  const code = calling && c.state === "paused" ? "counter_paused"
    : (calling || action === "pause") && c.state === "closed" ? "counter_closed"
    : action === "close" && c.current ? "counter_busy"
    : ["recall", "start", "no-show", "finish", "transfer"].includes(action) && !c.current ? "no_current_ticket"
    : null;
  return code ? errorText(lang, { code }) : null;
}

/**
 * Sign out from the desk. With a customer called or served here, ask first: finished,
 * no-show, put back at the head of the queue, or keep (the server pauses the counter with
 * code `system` and puts a called customer back itself). A free counter of mine closes.
 */
async function signOutFromDesk() {
  const c = desk();
  const mine = c && c.staff === me.username;
  if (mine && c.current) {
    const choice = await askOnSignOut(c.current);
    if (choice === "cancel") return;
    const steps = {
      finish: () => act("finish"),
      no_show: () => act("no-show"),
      put_back: () => act("transfer", { service: c.current.service, position: "first" }),
    }[choice];
    if (steps && (await steps()) !== null) await act("close");
  } else if (mine && c.state !== "closed") {
    await act("close");
  }
  try { await signOut(); } catch (e) { refusal(e); return; }
  location.href = "/counter";
}

function askOnSignOut(ticket) {
  return new Promise((resolve) => {
    const dialog = document.createElement("dialog");
    dialog.id = "signout-dialog";
    const title = document.createElement("p");
    title.textContent = w("teller.signout_title", { number: ticket.number });
    dialog.append(title);
    const choices = ticket.state === "called"
      ? ["finish", "no_show", "put_back", "keep", "cancel"] : ["finish", "keep", "cancel"];
    for (const choice of choices) {
      const button = document.createElement("button");
      button.type = "button";
      button.value = choice;
      button.textContent = w(`teller.signout_${choice}`);
      button.addEventListener("click", () => { dialog.close(); dialog.remove(); resolve(choice); });
      dialog.append(button);
    }
    dialog.addEventListener("cancel", () => { dialog.remove(); resolve("cancel"); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A service's name in the page's Chinese and in English. */
function serviceName(s) {
  const chinese = s.names[lang] ?? s.names["zh-CN"];
  return lang === "en" ? s.names.en : `${chinese} ${s.names.en}`;
}

function setLanguage(next) {
  lang = next;
  $("lang").value = lang;
  applyWords(lang);
  if (counter) $("title").textContent = w("common.counter_n", { n: counter });
  const form = $("transfer-form");
  if (form && live?.state) {
    for (const option of [...form.service.options].slice(1)) {
      const s = live.state.services.find((x) => x.code === option.value);
      if (s) option.textContent = `${s.code} ${serviceName(s)}`;
    }
  }
  drawStatus();
  draw();
  if (live?.state) showQueue(live.state);
}

async function main() {
  languageSwitch($("lang"), lang, setLanguage);
  applyWords(lang);
  me = await currentStaff();
  if (!me) {
    await signInForm($("app"), { title: w("teller.sign_in_title"), lang });
    me = await currentStaff();
  }
  $("signout").hidden = false;
  $("signout").addEventListener("click", signOutFromDesk);
  $("switch").addEventListener("click", () => { location.search = `?branch=${encodeURIComponent(branch)}`; });
  branch = params.get("branch") || me.branch || "demo";
  $("my-assessment").href = `/manage/${encodeURIComponent(branch)}/assessment`;
  $("my-assessment").hidden = false;
  counter = Number(params.get("counter")) || (me.counters.length === 1 ? me.counters[0] : null);
  if (!counter) await chooseCounter();
  else await openDesk();
}

main().catch((e) => refusal(e));
