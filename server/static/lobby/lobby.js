// The lobby manager's console: find a ticket by its number and requeue, cancel or move it;
// issue a ticket on a customer's behalf (a green channel the branch has staff confirm, too);
// suspend and resume services; close counters. Live over the websocket as the dashboard.
// Every action asks for confirmation, runs once (its button waits for the answer), and the
// server changes nothing twice (an issue carries one Idempotency-Key per confirmation).
import { connect } from "/static/common/live.js";
import { currentStaff, signInForm, signOut } from "/static/common/signin.js";
import {
  applyWords, both, chosenLanguage, errorText, languageSwitch, nameOf, pageLanguage, showLiveStatus,
} from "/static/common/i18n.js";

const branch = decodeURIComponent(location.pathname.split("/")[2]);
const $ = (id) => document.getElementById(id);
let live = null;
let lang = pageLanguage();
let found = null; // the ticket found, as staff see it (TicketAnswer)
let pending = false; // an action is being confirmed or is on its way: others wait
const w = (key, values) => both(lang, key, values);

function say(text) {
  $("message").textContent = text;
}

/** The confirmation dialog: resolves true once for "confirm", false for "back" (or Escape). */
function ask(text) {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  return new Promise((resolve) => {
    const done = (answer) => {
      $("confirm-yes").onclick = $("confirm-no").onclick = dialog.oncancel = null;
      dialog.close();
      resolve(answer);
    };
    $("confirm-yes").onclick = () => done(true);
    $("confirm-no").onclick = () => done(false);
    dialog.oncancel = () => done(false);
    dialog.showModal();
  });
}

/** Confirm, then send the command once; ``after`` gets its result. */
async function act(question, type, args, after) {
  if (pending || !live) return;
  pending = true;
  document.body.classList.add("busy");
  try {
    if (!(await ask(question))) return;
    const result = await live.command(type, typeof args === "function" ? args() : args);
    after?.(result);
  } catch (e) {
    say(errorText(lang, e));
  } finally {
    pending = false;
    document.body.classList.remove("busy");
  }
}

const serviceName = (s) => (lang === "en" ? s.names.en : `${nameOf(s.names, lang)} ${s.names.en}`);
const stateWord = (state) => w(`lobby.state_${state}`);

function showFound(ticket) {
  found = ticket;
  $("found").hidden = !ticket;
  if (!ticket) return;
  $("found-number").textContent = ticket.number;
  $("found-service").textContent = ticket.service;
  $("found-state").textContent = stateWord(ticket.state);
  $("found-state").dataset.state = ticket.state;
  $("found-green").hidden = !ticket.green_reason;
  $("found-green").textContent = ticket.green_reason ? `${w("lobby.green")} · ${w(`green.${ticket.green_reason}`)}` : "";
  $("requeue").disabled = !["no_show", "cancelled"].includes(ticket.state);
  $("cancel").disabled = ticket.state !== "waiting";
  $("change-service").disabled = ticket.state !== "waiting";
  $("reprint").disabled = !["waiting", "called"].includes(ticket.state);
  $("to-service").disabled = ticket.state !== "waiting";
}

/** Show today's ticket ``number``; ``refresh``: the one shown moved, keep the last message. */
async function find(number, { refresh = false } = {}) {
  try {
    showFound(await live.command("ticket/find", { number }));
    if (!refresh) say("");
  } catch (e) {
    showFound(null);
    say(errorText(lang, e));
  }
}

function fillSelect(select, services, keep) {
  const before = select.value;
  select.innerHTML = "";
  for (const s of services) {
    const option = document.createElement("option");
    option.value = s.code;
    option.textContent = `${s.code} ${serviceName(s)}${s.active === false ? ` · ${w("lobby.suspended")}` : ""}`;
    select.append(option);
  }
  if (keep && services.some((s) => s.code === before)) select.value = before;
}

function table(el, headers, rows) {
  el.innerHTML = "";
  const head = el.createTHead().insertRow();
  for (const h of headers) {
    const th = document.createElement("th");
    th.textContent = h;
    head.append(th);
  }
  const body = el.createTBody();
  for (const cells of rows) {
    const tr = body.insertRow();
    for (const cell of cells) {
      const td = tr.insertCell();
      if (cell instanceof Node) td.append(cell);
      else if (cell && typeof cell === "object") {
        td.textContent = cell.text;
        td.className = cell.className ?? "";
      } else td.textContent = cell ?? "—";
    }
  }
}

function button(label, onClick, data = {}) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  Object.assign(b.dataset, data);
  b.addEventListener("click", onClick);
  return b;
}

function draw(state) {
  if (!state) return;
  $("branch-name").textContent = nameOf(state.branch.names, lang) || state.branch.id;
  fillSelect($("issue-service"), state.services, true);
  fillSelect($("to-service"), state.services, true);
  drawKiosks(state);
  table($("services"), ["lobby.service", "lobby.waiting", "lobby.state", ""].map((k) => (k ? w(k) : "")),
    state.services.map((s) => {
      const suspended = s.active === false;
      const toggle = suspended
        ? button(w("lobby.resume"), () => act(w("lobby.confirm_resume", { service: s.code }), "service/resume",
          { service: s.code }, () => say(w("lobby.resumed", { service: s.code }))), { service: s.code, action: "resume" })
        : button(w("lobby.suspend"), () => act(w("lobby.confirm_suspend", { service: s.code }), "service/suspend",
          { service: s.code }, () => say(w("lobby.suspended_now", { service: s.code }))), { service: s.code, action: "suspend" });
      return [`${s.code} ${serviceName(s)}`, s.waiting,
        { text: suspended ? w("lobby.suspended") : w("lobby.active"), className: suspended ? "suspended" : "" }, toggle];
    }));
  table($("counters"), ["lobby.counter", "lobby.state", "lobby.teller", "lobby.current", ""].map((k) => (k ? w(k) : "")),
    state.counters.map((c) => {
      const current = c.current;
      const reason = current?.green_reason ? ` · ${w(`green.${current.green_reason}`)}` : "";
      const close = c.state === "closed" ? "" : button(w("lobby.close"), () => act(
        w("lobby.confirm_close", { counter: c.number }), "counter/close", { counter: c.number },
        () => say(w("lobby.closed", { counter: c.number }))), { counter: String(c.number), action: "close" });
      return [c.number, w(`dash.state_${c.state}`), c.staff ?? "—", current ? `${current.number}${reason}` : "—", close];
    }));
}

function drawKiosks(state) {
  const select = $("reprint-kiosk");
  const kiosks = (state?.devices ?? []).filter((d) => d.kind === "kiosk");
  const keep = select.value;
  select.replaceChildren(new Option(w("reprint.issuing_kiosk"), ""),
    ...kiosks.map((d) => new Option(d.name, String(d.id))));
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
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
  if (found) showFound(found);
}

function wire() {
  $("find-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const number = $("find-number").value.trim().toUpperCase();
    if (number) find(number);
  });
  $("requeue").addEventListener("click", () => found && act(w("lobby.confirm_requeue", { number: found.number }),
    "ticket/requeue", { ticket: found.id }, (t) => { showFound(t); say(w("lobby.requeued", { number: t.number })); }));
  $("cancel").addEventListener("click", () => found && act(w("lobby.confirm_cancel", { number: found.number }),
    "ticket/cancel", { ticket: found.id }, (t) => { showFound(t); say(w("lobby.cancelled", { number: t.number })); }));
  $("reprint").addEventListener("click", () => {
    if (!found) return;
    const chosen = $("reprint-kiosk").value;
    const kiosk = chosen ? Number(chosen) : null;
    const where = chosen ? $("reprint-kiosk").selectedOptions[0].textContent : w("reprint.issuing_kiosk");
    act(w("reprint.confirm", { number: found.number, kiosk: where }), "ticket/reprint",
      { ticket: found.id, ...(kiosk ? { kiosk } : {}) },
      (r) => say(w("reprint.sent", { number: r.number, kiosk: r.kiosk_name, n: r.reprints })));
  });
  $("change-service").addEventListener("click", () => found && act(
    w("lobby.confirm_change", { number: found.number, service: $("to-service").value }),
    "ticket/change_service", { ticket: found.id, service: $("to-service").value },
    (t) => { showFound(t); say(w("lobby.changed", { number: t.number, service: t.service })); }));
  $("issue").addEventListener("click", () => {
    const service = $("issue-service").value;
    const reason = $("issue-reason").value;
    const key = crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
    const question = reason
      ? w("lobby.confirm_issue_green", { service, reason: w(`green.${reason}`) })
      : w("lobby.confirm_issue", { service });
    act(question, "ticket/issue",
      { service, idempotency_key: key, ...(reason ? { priority: "green", green_reason: reason } : {}) },
      (t) => { $("issued").textContent = t.number; say(w("lobby.issued", { number: t.number })); });
  });
}

async function main() {
  languageSwitch($("lang"), lang, setLanguage);
  applyWords(lang);
  const me = await currentStaff();
  if (!me) {
    await signInForm($("app"), { title: w("lobby.title"), lang });
    location.reload();
    return;
  }
  $("to-dashboard").href = `/manage/${encodeURIComponent(branch)}`;
  $("signout").addEventListener("click", async () => { await signOut(); location.reload(); });
  wire();
  live = connect({
    role: "dashboard",
    branch,
    onChange(state, change) {
      if (change.kind === "snapshot" && !chosenLanguage() && state.branch.language !== lang) {
        setLanguage(state.branch.language);
      }
      if (change.kind === "event" && found && change.event.data?.id === found.id && change.event.kind.startsWith("ticket.")) {
        find(found.number, { refresh: true }); // the ticket found moved: show its state now
      }
      draw(state);
    },
    onStatus: drawStatus,
  });
  window.__lobby = live;
}

main();
