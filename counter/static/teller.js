// The teller's screen: one key per step (call, serve, finish, next), the current customer
// with its timers, the live waiting list, every refusal in plain words.
import { connect, counterQueue } from "/static/common/live.js";
import { api, currentStaff, signInForm, signOut } from "/static/common/signin.js";

// The page's one transport is the websocket: its commands for every action, its live state
// for the counter and the queue. HTTP only reads, once, what the live state does not hold
// (the teller's figures for today, refreshed when a ticket finishes here or the holder
// changes) and, while the snapshot cannot tell this counter's call order, the queue in it.

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let me = null;
let branch = null;
let counter = null;
let first = null; // GET counters/{n}: {counter, ticket, today}, drawn until the live state comes
let today = null; // the counter's holder's figures for today
let targets = {}; // service code → target service seconds
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
    report(e.message);
    return null;
  }
}

function draw() {
  const c = desk();
  if (!c || !$("current-number")) return;
  const badge = $("counter-state");
  badge.textContent = { open: "开启 Open", paused: "暂停 Paused", closed: "关闭 Closed" }[c.state];
  badge.className = `badge ${c.state}`;
  $("pause-reason").textContent = c.pause_reason ?? "";
  $("who").textContent = c.staff ? `${c.staff}` : "";
  const t = c.current;
  $("current-number").textContent = t ? t.number : "—";
  $("current-service").textContent = t ? `${t.service} · ${t.state === "serving" ? "办理中 serving" : "已呼叫 called"}${t.recalls ? ` · 重呼 ${t.recalls}` : ""}` : "等待叫号 Ready";
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
}

function drawQueue(tickets) {
  const body = $("waiting")?.tBodies[0];
  if (!body) return;
  queueDrawn += 1;
  $("waiting-count").textContent = tickets.length;
  body.innerHTML = "";
  for (const t of tickets.slice(0, 50)) {
    const tr = body.insertRow();
    tr.insertCell().textContent = t.number;
    tr.cells[0].className = t.priority === "green" ? "green" : "";
    tr.insertCell().textContent = t.service;
    tr.insertCell().textContent = mmss(since(t.issued_at));
    const button = document.createElement("button");
    button.textContent = "叫 Call";
    button.addEventListener("click", () => act("call", { ticket: t.number }));
    tr.insertCell().append(button);
  }
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
      report(e.message);
    }
  }, 150);
}

async function readToday() {
  try {
    const view = await api("GET", `${base()}/counters/${counter}`);
    if (view.today) today = view.today;
    return view;
  } catch (e) {
    report(e.message);
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
    button.textContent = `${c.number} 号窗口 Counter ${c.number} · ${c.services.join(" ")}${c.green_only ? " · 绿色通道 green" : ""}${c.staff ? ` · ${c.staff}` : ""}`;
    button.disabled = !c.mine;
    button.addEventListener("click", () => { location.search = `?branch=${encodeURIComponent(branch)}&counter=${c.number}`; });
    list.append(button);
  }
  $("app").replaceChildren(section);
}

async function openDesk() {
  $("app").replaceChildren($("desk").content.cloneNode(true));
  $("title").textContent = `${counter} 号窗口 Counter ${counter}`;
  $("switch").hidden = false;
  for (const button of document.querySelectorAll(".actions button")) {
    button.addEventListener("click", () => press(button.dataset.action));
  }
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, select, textarea, dialog[open]") || event.ctrlKey || event.metaKey || event.altKey) return;
    const button = [...document.querySelectorAll(".actions button")].find((b) => b.dataset.key === event.key.toLowerCase());
    if (button) {
      event.preventDefault();
      if (button.disabled) report(`现在不能 Not now: ${button.textContent.replace(/\s+\S+$/, "")}`);
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
    else { event.preventDefault(); report("请选择业务或窗口 Choose a service or a counter"); return; }
    act("transfer", args);
  });
  $("pause-form").addEventListener("submit", (event) => {
    if (event.submitter?.value !== "ok") return;
    const reason = event.target.reason.value.trim();
    act("pause", reason ? { reason } : {});
  });
  live = connect({
    role: "counter",
    branch,
    onChange(state, change) {
      targets = Object.fromEntries(state.services.map((s) => [s.code, s.target_service_s]));
      fillTransferChoices(state);
      showQueue(state);
      if (changesToday(change)) scheduleToday();
      draw();
    },
    onStatus(status, l) {
      const el = $("status");
      el.dataset.status = status;
      el.textContent = { connected: "● 在线 online", connecting: "连接中 connecting…", reconnecting: "连接中断，重新连接中 reconnecting…",
        refused: `✖ ${l.refused ?? ""}` }[status] ?? status;
      if (status === "connected") for (const go of whenConnected.splice(0)) go();
    },
  });
  window.__teller.live = live;
  first = await readToday();
  draw();
  setInterval(tick, 1000);
}

function fillTransferChoices(state) {
  const form = $("transfer-form");
  if (!form || form.dataset.filled) return;
  for (const s of state.services) form.service.add(new Option(`${s.code} ${s.names["zh-CN"]} ${s.names.en}`, s.code));
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
    report(`刚刚叫号 Just called: ${desk().current.number}`);
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

async function main() {
  me = await currentStaff();
  if (!me) {
    await signInForm($("app"), { title: "柜员登录 Teller sign-in" });
    me = await currentStaff();
  }
  $("signout").hidden = false;
  $("signout").addEventListener("click", async () => { await signOut(); location.href = "/counter"; });
  $("switch").addEventListener("click", () => { location.search = `?branch=${encodeURIComponent(branch)}`; });
  branch = params.get("branch") || me.branch || "demo";
  counter = Number(params.get("counter")) || (me.counters.length === 1 ? me.counters[0] : null);
  if (!counter) await chooseCounter();
  else await openDesk();
}

main().catch((e) => report(e.message));
