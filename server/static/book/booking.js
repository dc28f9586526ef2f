// One booking on the customer's phone (/b/<token>): its service, slot, state, code and QR code
// (for the kiosk); check in from the phone from the branch's window before the slot (the server
// says whether it is open: the page only offers it); reschedule to another slot with free places;
// cancel. Once checked in, the ticket's own page follows the queue.
import { applyWords, chosenLanguage, errorText, languageOf, languageSwitch, nameOf, t } from "/static/common/i18n.js";
import {
  appointmentTime, dayButtonWords, dayLabel, localToday, nextDays, send, slotDate, slotOf, slotTime,
} from "/static/book/common.js";

const token = location.pathname.split("/")[2];
const $ = (id) => document.getElementById(id);
let lang = chosenLanguage() ?? (/^zh/i.test(navigator.language) ? languageOf(navigator.language) : "zh-CN");
let booking = null;
let busy = false;
let day = null;
let slots = [];
const w = (k, values) => t(lang, k, values);
window.__booking = { loads: 0 };
/** A booking that can still be checked in, moved or cancelled (the server's BookingState). */
const OPEN = new Set(["booked"]);

function problem(text) {
  $("error").textContent = text ?? "";
  $("error").hidden = !text;
}

const serviceLabel = () => (booking.service_names ? `${booking.service} ${nameOf(booking.service_names, lang)}` : booking.service);

function draw() {
  applyWords(lang, { words: t });
  document.title = `${w("booking.my_booking")} · branchq`;
  if (!booking) return;
  $("view").hidden = false;
  $("branch").textContent = booking.branch_names ? nameOf(booking.branch_names, lang) : booking.branch ?? "";
  const slot = slotOf(booking);
  $("service").textContent = serviceLabel();
  $("slot").textContent = slot.start ? `${dayLabel(lang, slotDate(slot))} ${slotTime(slot)}` : "";
  // How it stands now: "late" or "missed" once the slot has begun without a check-in.
  const state = OPEN.has(booking.state) && ["late", "no_show", "due"].includes(booking.attendance)
    ? booking.attendance : booking.state;
  $("state").textContent = w(`booking.state_${state}`);
  $("state").className = ["cancelled", "cancelled_by_branch", "no_show", "late"].includes(state) ? "error" : "ok";
  $("code").textContent = booking.code;
  $("qr").src = `/b/${encodeURIComponent(token)}/qr.svg`;
  const open = OPEN.has(state);
  $("qr").hidden = $("kiosk-hint").hidden = !open;
  $("actions").hidden = !open;
  for (const b of document.querySelectorAll("#actions button")) b.disabled = busy;
  const ticket = booking.ticket;
  $("ticket").hidden = !ticket;
  if (ticket) {
    $("ticket-link").textContent = w("booking.ticket_link", { number: ticket.number });
    $("ticket-link").href = `/t/${encodeURIComponent(ticket.token)}${lang === "zh-CN" ? "" : `?lang=${lang}`}`;
  }
  // The window opens some minutes before the slot (the server's rule); before it the key says when.
  const opensAt = booking.check_in_from ? Date.parse(booking.check_in_from) : null;
  const early = opensAt !== null && Date.now() < opensAt;
  $("check-in-note").hidden = !early;
  $("check-in-note").textContent = early ? w("booking.check_in_from", { t: appointmentTime(booking.check_in_from) }) : "";
  $("check-in").disabled = busy || early;
  clearTimeout(draw.opens);
  if (early) draw.opens = setTimeout(draw, Math.min(opensAt - Date.now() + 500, 2 ** 31 - 1)); // the key turns on by itself
  drawMove();
}

function drawMove() {
  if ($("move").hidden) return;
  const choice = (label, note, pressed, onClick, disabled = false) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    if (note) b.append(Object.assign(document.createElement("small"), { textContent: note }));
    b.setAttribute("aria-pressed", String(pressed));
    b.disabled = disabled;
    b.addEventListener("click", onClick);
    return b;
  };
  $("days").replaceChildren(...nextDays(localToday()).map((d, i) => {
    const { label, note } = dayButtonWords(lang, d, i);
    return choice(label, note, d === day, () => { day = d; loadSlots(); });
  }));
  const now = Date.now();
  const current = slotOf(booking).slot;
  $("slots").replaceChildren(...slots.map((s) => {
    const mine = s.slot === current;
    const past = Date.parse(s.start) <= now;
    const note = mine ? w("booking.current_slot") : past ? w("booking.past") : s.free > 0 ? w("booking.free", { n: s.free }) : w("booking.full");
    return choice(slotTime(s), note, mine, () => reschedule(s), mine || past || s.free <= 0);
  }));
}

/** Read the booking again; a refusal just shown stays (`keepProblem`), the customer must read it. */
async function load({ keepProblem = false } = {}) {
  window.__booking.loads += 1;
  try {
    booking = await send("GET", `/api/v1/bookings/${encodeURIComponent(token)}`);
    if (!keepProblem) problem("");
  } catch (e) {
    problem(errorText(lang, e));
  }
  draw();
}

async function loadSlots() {
  slots = [];
  drawMove();
  try {
    const query = new URLSearchParams({ service: booking.service, date: day });
    slots = (await send("GET", `/api/v1/branches/${encodeURIComponent(booking.branch)}/slots?${query}`)).slots ?? [];
  } catch (e) {
    problem(errorText(lang, e));
  }
  $("slots-note").textContent = slots.length ? "" : w("booking.no_slots");
  $("slots-note").hidden = slots.length > 0;
  drawMove();
}

/** One action at a time: a second tap while the first is on its way does nothing. */
async function act(path, body) {
  if (busy) return false;
  busy = true;
  for (const b of document.querySelectorAll("#actions button, #slots button")) b.disabled = true;
  try {
    const answer = await send("POST", path, body);
    problem("");
    return answer ?? true;
  } catch (e) {
    problem(errorText(lang, e));
    return false;
  } finally {
    busy = false;
    await load({ keepProblem: true });
  }
}

async function reschedule(slot) {
  if (await act(`/api/v1/bookings/${encodeURIComponent(token)}/reschedule`, { slot: slot.slot })) {
    $("move").hidden = true;
  }
}

$("cancel").addEventListener("click", async () => {
  if (!confirm(w("booking.confirm_cancel"))) return;
  await act(`/api/v1/bookings/${encodeURIComponent(token)}/cancel`);
});
$("reschedule").addEventListener("click", () => {
  $("move").hidden = false;
  day = slotDate(slotOf(booking));
  loadSlots();
});
$("move-back").addEventListener("click", () => { $("move").hidden = true; });
$("check-in").addEventListener("click", async () => {
  const branch = encodeURIComponent(booking.branch);
  const answer = await act(`/api/v1/branches/${branch}/bookings/${encodeURIComponent(booking.code)}/check-in`,
    { token, language: lang });
  const ticket = answer?.ticket;
  if (ticket?.token) location.assign(`/t/${encodeURIComponent(ticket.token)}${lang === "zh-CN" ? "" : `?lang=${lang}`}`);
});
languageSwitch($("lang"), lang, (next) => { lang = next; draw(); });
draw();
await load();
