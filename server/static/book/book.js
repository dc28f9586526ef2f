// A branch's booking page on the customer's phone (no sign-in). Tab "book": service → day → a slot
// with free places → name, phone or e-mail and consent → the booking code and its QR code, with the
// link to the booking's own page (/b/<token>). Tab "queue now": today's ticket from the phone, with
// the estimated wait and when to set off for the travel time the customer gives; the ticket then
// follows on its phone page (/t/<token>), which keeps the advice.
// A booking is sent once: a second tap while it is on its way does nothing, and a retry after a
// lost answer carries the same Idempotency-Key.
import { applyWords, chosenLanguage, errorText, languageOf, languageSwitch, nameOf, t } from "/static/common/i18n.js";
import {
  RequestError, advice, dayButtonWords, dayLabel, localToday, newKey, nextDays, send, slotTime,
} from "/static/book/common.js";

const branch = decodeURIComponent(location.pathname.split("/")[2]);
const base = `/api/v1/branches/${encodeURIComponent(branch)}`;
const $ = (id) => document.getElementById(id);
let lang = chosenLanguage() ?? (/^zh/i.test(navigator.language) ? languageOf(navigator.language) : "zh-CN");
let services = [];
const chosen = { service: null, day: null, slot: null };
let slots = [];
let key = newKey();
let sending = false;
let made = null;
window.__book = { sent: 0, remote: 0 };

const w = (k, values) => t(lang, k, values);
const serviceName = (s) => `${s.code} ${nameOf(s.names, lang)}`;
const langQuery = () => (lang === "zh-CN" ? "" : `?lang=${lang}`);

function problem(text) {
  $("error").textContent = text ?? "";
  $("error").hidden = !text;
}

function choiceButton(label, note, pressed, onClick, disabled = false) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (note) b.append(Object.assign(document.createElement("small"), { textContent: note }));
  b.setAttribute("aria-pressed", String(pressed));
  b.disabled = disabled;
  b.addEventListener("click", onClick);
  return b;
}

function drawServices() {
  $("services").replaceChildren(...services.map((s) => choiceButton(serviceName(s), "", chosen.service === s.code, () => {
    chosen.service = s.code;
    chosen.slot = null;
    draw();
    if (chosen.day) loadSlots();
  })));
  const select = $("remote-service");
  const before = select.value;
  select.replaceChildren(new Option(w("booking.choose_service"), ""), ...services.map((s) => new Option(serviceName(s), s.code)));
  select.value = before;
}

function drawDays() {
  $("step-day").hidden = !chosen.service;
  $("days").replaceChildren(...nextDays(localToday()).map((day, i) => {
    const { label, note } = dayButtonWords(lang, day, i);
    return choiceButton(label, note, chosen.day === day, () => { chosen.day = day; chosen.slot = null; draw(); loadSlots(); });
  }));
  for (const [i, day] of nextDays(localToday()).entries()) $("days").children[i].dataset.date = day;
}

function drawSlots() {
  $("step-slot").hidden = !chosen.service || !chosen.day;
  const now = Date.now();
  $("slots").replaceChildren(...slots.map((s) => {
    const past = Date.parse(s.start) <= now;
    const note = past ? w("booking.past") : s.free > 0 ? w("booking.free", { n: s.free }) : w("booking.full");
    return choiceButton(slotTime(s), note, chosen.slot?.slot === s.slot, () => { chosen.slot = s; draw(); $("form").elements.name.focus(); },
      past || s.free <= 0);
  }));
  $("slots").dataset.loaded = String(slots.loaded ?? false);
}

function drawForm() {
  $("form").hidden = !chosen.slot;
  const s = services.find((x) => x.code === chosen.service);
  $("chosen").textContent = chosen.slot && s ? `${serviceName(s)} · ${dayLabel(lang, chosen.day)} ${slotTime(chosen.slot)}` : "";
}

function drawMade() {
  $("compose").hidden = true;
  $("done").hidden = false;
  $("code").textContent = made.code;
  $("qr").src = `/b/${encodeURIComponent(made.token)}/qr.svg`;
  $("manage").href = `/b/${encodeURIComponent(made.token)}${langQuery()}`;
  const s = services.find((x) => x.code === chosen.service);
  $("done-slot").textContent = chosen.slot && s ? `${serviceName(s)} · ${dayLabel(lang, chosen.day)} ${slotTime(chosen.slot)}` : "";
}

function drawRemote() {
  const code = $("remote-service").value;
  const s = services.find((x) => x.code === code);
  const travel = Number($("remote").elements.travel.value);
  $("remote-estimate").textContent = !s ? ""
    : s.no_counter_open || s.estimated_wait_s === null ? w("booking.no_counter")
      : w("booking.estimate", { n: s.waiting, m: Math.round(s.estimated_wait_s / 60) });
  const a = s && !s.no_counter_open ? advice(s.estimated_wait_s, travel) : null;
  $("remote-advice").hidden = !a;
  $("remote-advice").className = `advice ${a?.go ? "go" : "wait"}`;
  $("remote-advice").textContent = !a ? "" : a.go ? w("booking.come_now") : w("booking.leave_in", { m: a.in });
  $("take").disabled = Boolean(s && !s.available);
}

function draw() {
  applyWords(lang, { words: t });
  document.title = `${w("booking.title")} · branchq`;
  $("branch").textContent = branch;
  drawServices();
  drawDays();
  drawSlots();
  drawForm();
  drawRemote();
  if (made) drawMade();
}

async function loadServices() {
  try {
    services = await send("GET", `${base}/services`);
  } catch (e) {
    problem(errorText(lang, e));
  }
  draw();
}

async function loadSlots() {
  const asked = `${chosen.service}/${chosen.day}`;
  slots = [];
  drawSlots();
  $("slots-note").hidden = true;
  try {
    const query = new URLSearchParams({ service: chosen.service, date: chosen.day });
    const answer = await send("GET", `${base}/slots?${query}`);
    if (asked !== `${chosen.service}/${chosen.day}`) return; // another day was chosen meanwhile
    slots = answer.slots ?? [];
    slots.loaded = true;
    problem("");
  } catch (e) {
    problem(errorText(lang, e));
  }
  $("slots-note").textContent = slots.length ? "" : w("booking.no_slots");
  $("slots-note").hidden = slots.length > 0;
  drawSlots();
}

/** What the form asks for, or the first field's problem (the server checks again). */
function body(form) {
  const f = form.elements;
  const contact = { name: f.name.value.trim() };
  if (f.phone.value.trim()) contact.phone = f.phone.value.trim();
  if (f.email.value.trim()) contact.email = f.email.value.trim();
  if (!contact.name) return { missing: f.name, why: "booking.need_name" };
  if (!contact.phone && !contact.email) return { missing: f.phone, why: "booking.need_contact" };
  if (!f.consent.checked) return { missing: f.consent, why: "booking.need_consent" };
  return { out: { service: chosen.service, slot: chosen.slot.slot, contact, consent: true, language: lang } };
}

async function submit(event) {
  event.preventDefault();
  if (sending || made) return; // a second tap while the first is on its way
  const { out, missing, why } = body(event.target);
  if (!out) {
    problem(w(why));
    missing.focus();
    return;
  }
  sending = true;
  $("submit").disabled = true;
  $("submit").textContent = w("booking.sending");
  problem("");
  try {
    window.__book.sent += 1;
    made = await send("POST", `${base}/bookings`, out, { "Idempotency-Key": key });
    drawMade();
  } catch (e) {
    problem(e instanceof RequestError && e.status === 0 ? w("booking.offline") : errorText(lang, e));
    if (e.status >= 400 && e.status < 500 && e.code !== "rate_limited") key = newKey(); // refused: nothing was made
    if (e.code === "slot_full" || e.code === "too_late") loadSlots(); // the place went meanwhile: show what is left
  } finally {
    sending = false;
    $("submit").disabled = false;
    $("submit").textContent = w("booking.submit");
  }
}

let taking = false;

async function takeRemote(event) {
  event.preventDefault();
  if (taking) return;
  const service = $("remote-service").value;
  const travel = Number($("remote").elements.travel.value);
  if (!service) {
    problem(w("booking.need_service"));
    $("remote-service").focus();
    return;
  }
  if (!Number.isInteger(travel) || travel < 0 || travel > 240) {
    problem(w("booking.need_travel"));
    $("remote").elements.travel.focus();
    return;
  }
  taking = true;
  $("take").disabled = true;
  problem("");
  try {
    window.__book.remote += 1;
    const answer = await send("POST", `${base}/remote-tickets`, { service, travel_min: travel, language: lang });
    const ticket = answer.ticket ?? answer;
    const query = new URLSearchParams({ travel: String(travel) });
    if (lang !== "zh-CN") query.set("lang", lang);
    location.assign(`/t/${encodeURIComponent(ticket.token)}?${query}`);
  } catch (e) {
    problem(e instanceof RequestError && e.status === 0 ? w("booking.offline") : errorText(lang, e));
    $("take").disabled = false;
  } finally {
    taking = false;
  }
}

function showTab(name) {
  for (const tab of ["book", "queue"]) {
    $(tab).hidden = tab !== name;
    $(`tab-${tab}`).setAttribute("aria-selected", String(tab === name));
  }
  problem("");
  if (name === "queue") loadServices(); // the estimate of now
}

languageSwitch($("lang"), lang, (next) => { lang = next; draw(); });
$("form").addEventListener("submit", submit);
$("remote").addEventListener("submit", takeRemote);
$("remote-service").addEventListener("change", drawRemote);
$("remote").elements.travel.addEventListener("input", drawRemote);
$("tab-book").addEventListener("click", () => showTab("book"));
$("tab-queue").addEventListener("click", () => showTab("queue"));
if (new URLSearchParams(location.search).get("tab") === "queue") showTab("queue");
draw();
await loadServices();
// The estimate follows the queue while the customer decides.
setInterval(() => { if (!document.hidden && !$("queue").hidden) loadServices(); }, 20000);
