// What the ticket's phone page adds for customers who need not stand in the lobby, on every
// reading of the ticket (the "ticket" event of ticket.js):
// - "notify me when N ahead": by e-mail or SMS through the server (the notify route), and, while
//   this page is open, a browser notification and a vibration when N or fewer are ahead and when
//   the ticket is called (the permission is asked on the tap that arms it);
// - "come now" advice for a ticket taken from the phone: the wait against the travel time the
//   customer gave (?travel=, kept for this ticket);
// - an appointment's slot, for a ticket checked in from a booking.
import { both, chosenLanguage, errorText, languageOf } from "/static/common/i18n.js";
import { advice, appointmentTime, send } from "/static/book/common.js";

const token = location.pathname.split("/")[2];
const $ = (id) => document.getElementById(id);
const lang = chosenLanguage() ?? (/^zh/i.test(navigator.language) ? languageOf(navigator.language) : "zh-CN");
const w = (key, values) => both(lang, key, values);
const ARMED_KEY = `branchq.notify.${token}`;
const TRAVEL_KEY = `branchq.travel.${token}`;
const AHEAD_CHOICES = Array.from({ length: 20 }, (_, i) => i + 1);
window.__phone = Object.assign(window.__phone ?? {}, { alerts: [] });

function stored(key) {
  try {
    return JSON.parse(localStorage.getItem(key) ?? "null");
  } catch {
    return null; // storage disabled, or not ours
  }
}

function store(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // storage disabled: this visit only
  }
}

let armed = stored(ARMED_KEY); // {ahead, called: bool, near: bool}
const asked = Number.parseInt(new URLSearchParams(location.search).get("travel") ?? "", 10);
if (Number.isInteger(asked) && asked >= 0 && asked <= 240) store(TRAVEL_KEY, asked);
const travel = stored(TRAVEL_KEY);

/** A browser notification (when allowed) and a vibration; said once per occasion. */
function alertCustomer(text) {
  window.__phone.alerts.push(text);
  if (navigator.vibrate) navigator.vibrate([400, 150, 400, 150, 400]);
  if ("Notification" in window && Notification.permission === "granted") {
    try {
      new Notification("branchq", { body: text, tag: `branchq-${token}`, renotify: true });
    } catch {
      // Some phones allow notifications only from a service worker: the vibration and the page remain.
    }
  }
}

function follow(ticket) {
  if (!armed) return;
  const called = ticket.state === "called" || ticket.state === "serving";
  if (called && !armed.called) {
    armed.called = true;
    alertCustomer(w("phone.go_to", { counter: ticket.counter }));
  } else if (ticket.state === "waiting" && ticket.ahead <= armed.ahead && !armed.near) {
    armed.near = true;
    alertCustomer(w("booking.alert_near", { n: ticket.ahead }));
  }
  store(ARMED_KEY, armed);
}

/** "Come now": the server's word when it holds the travel time (a remote ticket), else this page's. */
function drawAdvice(ticket) {
  const waiting = ticket.state === "waiting" && !ticket.no_counter_open;
  const minutes = ticket.travel_min ?? travel;
  let a = waiting && minutes !== null && minutes !== undefined ? advice(ticket.estimated_wait_s, minutes) : null;
  if (a && typeof ticket.come_now === "boolean" && ticket.come_now !== a.go) {
    a = ticket.come_now ? { go: true, in: 0 } : { go: false, in: Math.max(1, a.in) };
  }
  $("advice").hidden = !a;
  $("advice").className = `advice ${a?.go ? "go" : "wait"}`;
  $("advice").textContent = !a ? "" : a.go ? w("booking.come_now") : w("booking.leave_in", { m: a.in });
}

function drawAppointment(ticket) {
  const slot = appointmentTime(ticket.appointment);
  $("appointment").hidden = !slot;
  $("appointment").textContent = slot ? w("booking.appointment", { slot }) : "";
}

function drawNotify(ticket) {
  const form = $("notify");
  form.hidden = ticket.state !== "waiting";
  if (form.hidden) return;
  const select = form.elements.ahead;
  if (!select.options.length) {
    select.replaceChildren(...AHEAD_CHOICES.map((n) => new Option(String(n), String(n))));
    select.value = String(armed?.ahead ?? 3);
  }
  if (armed) {
    $("notify-result").textContent = w("booking.notify_armed", { n: armed.ahead });
    $("notify-result").className = "ok";
    $("notify-result").hidden = false;
  }
}

let sending = false;

async function arm(event) {
  event.preventDefault();
  if (sending) return;
  const f = event.target.elements;
  const ahead = Number(f.ahead.value);
  const contact = f.contact.value.trim();
  const say = (text, ok) => {
    $("notify-result").textContent = text;
    $("notify-result").className = ok ? "ok" : "error";
    $("notify-result").hidden = false;
  };
  if (contact && !f.consent.checked) {
    say(w("booking.need_consent"), false);
    f.consent.focus();
    return;
  }
  sending = true;
  $("notify-submit").disabled = true;
  try {
    // Asked on this tap: browsers allow the question only from a person's gesture.
    if ("Notification" in window && Notification.permission === "default") await Notification.requestPermission();
    if (contact) {
      const body = { ahead, consent: true, language: lang, ...(contact.includes("@") ? { email: contact } : { phone: contact }) };
      await send("POST", `/api/v1/tickets/${encodeURIComponent(token)}/notify`, body);
    }
    armed = { ahead, called: armed?.called ?? false, near: false };
    store(ARMED_KEY, armed);
    say(w("booking.notify_armed", { n: ahead }), true);
    if (last) follow(last);
  } catch (e) {
    say(errorText(lang, e), false);
  } finally {
    sending = false;
    $("notify-submit").disabled = false;
  }
}

let last = null;

function onTicket(ticket) {
  last = ticket;
  drawAdvice(last);
  drawAppointment(last);
  drawNotify(last);
  follow(last);
}

window.addEventListener("ticket", (event) => onTicket(event.detail));
if (window.__phone.ticket) onTicket(window.__phone.ticket); // read before this module started
$("notify").addEventListener("submit", arm);
