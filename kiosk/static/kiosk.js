// The kiosk's touch screen: big service buttons with live waiting counts and estimates,
// languages, the green channel, and a result with the number, people ahead, the wait and
// a QR code for the phone page. Greyed services say why; a service no counter serves is not
// offered; with no counter open for a service it says so instead of an estimate. Idle
// screens go back to start in the branch's language, as does every finished ticket. Taps
// are ignored for a moment after each change of screen (a double tap never lands twice),
// and while the connection is down the buttons are off and the banner says why. The branch's
// notices run in a strip under the header; an emergency one covers the whole screen with
// every button off (the server refuses kiosk tickets meanwhile), until it is cleared.
// "I have a booking" checks a booking in: its code typed on a big keypad, or its QR code shown to
// the camera where the browser has BarcodeDetector; the ticket it becomes is shown and printed
// as a walk-in's is.
import { connect } from "/static/common/live.js";
import { deviceTokenOrEnroll } from "/static/common/device.js";
import { errorText, t, wordsOf } from "/static/common/i18n.js";
import { emergencyText, emergencyTitle, stopsAll, stopsService } from "/static/common/emergency.js";

const branch = decodeURIComponent(location.pathname.split("/")[2]);
let enrollProblem = null; // a refused ?code=…, shown in the banner
const token = await deviceTokenOrEnroll("kiosk", { onProblem: (message) => { enrollProblem = message; } });
const $ = (id) => document.getElementById(id);
const IDLE_MS = { start: 60000, "green-reasons": 30000, booking: 45000, result: 20000, print_failed: 60000 };
/** The characters of booking codes (server/services/bookings.py CODE_ALPHABET: no 0/O, 1/I/L) and their longest. */
const CODE_KEYS = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const CODE_MAX = 12;
/** Taps this soon after a change of screen are ignored: the second tap of a double tap. */
const GUARD_MS = 700;

/** The kiosk's words, from the one table of every page (i18n.js: kiosk.*, and day.kiosk_*). */
const WORDS = Object.fromEntries(["zh-CN", "en", "zh-TW"].map((l) => [l, { ...wordsOf(l, "kiosk."), ...wordsOf(l, "day.kiosk_") }]));

let lang = "zh-CN";
let services = [];
let state = null;
let greenReason = null;
let idleTimer = null;
let busy = false;
let screen = "start";
let screenChangedAt = -Infinity;
/** The ticket on the result screen, and what became of its printing: null (nothing to say),
 * "failed", "reprinting" (a copy asked for), "on_screen" (the customer takes it by phone). */
let shown = null;
let printing = null;
window.__kiosk = { issued: [] };

const w = (key, params = {}) => (WORDS[lang][key] ?? WORDS["zh-CN"][key] ?? key)
  .replace(/\{(\w+)\}/g, (_, k) => params[k] ?? "");
const nameOf = (names) => names?.[lang] ?? names?.["zh-CN"] ?? "";

function show(id) {
  if (id !== screen) settle();
  if (id !== "result") { shown = null; printing = null; }
  screen = id;
  for (const s of ["start", "green-reasons", "booking", "result"]) $(s).hidden = s !== id;
  if (id !== "booking") stopScan();
  armIdle();
}

/** A new screen takes no taps for GUARD_MS (body.settling turns pointer events off meanwhile). */
function settle() {
  screenChangedAt = performance.now();
  document.body.classList.add("settling");
  clearTimeout(settle.timer);
  settle.timer = setTimeout(() => document.body.classList.remove("settling"), GUARD_MS);
}

/** Back to the start screen in the branch's language, for the next customer. */
function goHome() {
  greenReason = null;
  show("start");
  if (lang !== homeLanguage()) setLanguage(homeLanguage());
  else draw();
}

/** The idle timer: any screen but a bare start screen in the branch's language goes home when left alone. */
function armIdle() {
  clearTimeout(idleTimer);
  const wait = screen === "result" && printing ? IDLE_MS.print_failed : IDLE_MS[screen];
  if (screen !== "start" || lang !== homeLanguage() || greenReason !== null) idleTimer = setTimeout(goHome, wait);
}

function homeLanguage() {
  const offered = offeredLanguages();
  const branchLanguage = state?.branch?.language;
  return offered.includes(branchLanguage) ? branchLanguage : offered[0];
}

function offeredLanguages() {
  const offered = state?.branch?.languages;
  return offered?.length ? offered : ["zh-CN", "en", "zh-TW"];
}

function setLanguage(next) {
  // Only a change of language is someone at the screen: a resync that keeps it must not put
  // off going home.
  const changed = next !== lang;
  lang = next;
  document.documentElement.lang = next;
  for (const b of document.querySelectorAll(".languages button")) b.setAttribute("aria-pressed", String(b.dataset.lang === next));
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = w(el.dataset.t);
  for (const el of document.querySelectorAll("[data-b]")) el.textContent = t(next, el.dataset.b); // booking.* of i18n.js
  draw();
  if (changed) armIdle();
}

/** Only the languages the branch offers (its configuration); no switch at all for one. */
function offerLanguages() {
  const keep = offeredLanguages();
  for (const b of document.querySelectorAll(".languages button")) b.hidden = !keep.includes(b.dataset.lang);
  document.querySelector(".languages").hidden = keep.length < 2;
  if (!keep.includes(lang)) lang = keep[0];
}

const online = () => live?.status === "connected";
/** Emergency mode (state.emergency): the whole branch covers the screen; a scope of some services turns them off. */
const incident = () => state?.emergency ?? null;
const emergencyNotice = () => (stopsAll(incident()) ? incident() : null);

/** A notice's text in the customer's language, with the English beside it when given. */
function noticeText(n) {
  const main = nameOf(n.texts) || n.texts?.["zh-CN"] || "";
  return lang !== "en" && n.texts?.en && n.texts.en !== main ? `${main} · ${n.texts.en}` : main;
}

/** Made once: the notices' strip under the header, and the emergency's full screen. */
function noticeElements() {
  let strip = $("notice");
  if (!strip) {
    strip = Object.assign(document.createElement("p"), { id: "notice", hidden: true });
    strip.setAttribute("role", "status");
    strip.style.cssText = "margin:0;padding:min(14px,1.4vmin) 28px;background:#fff3c4;color:#0b1b33;"
      + "font-size:min(26px,3vmin);border-bottom:2px solid #c9a227;overflow-wrap:anywhere";
    $("banner").after(strip);
    const cover = Object.assign(document.createElement("div"), { id: "emergency", hidden: true });
    cover.setAttribute("role", "alert");
    cover.style.cssText = "position:fixed;inset:0;z-index:50;display:flex;flex-direction:column;align-items:center;"
      + "justify-content:center;gap:4vmin;padding:6vmin;background:#b3261e;color:#fff;text-align:center";
    cover.innerHTML = '<h2 style="font-size:8vmin;margin:0"></h2><p style="font-size:5vmin;margin:0;line-height:1.4;overflow-wrap:anywhere"></p>';
    document.body.append(cover);
  }
  return { strip, cover: $("emergency") };
}

function drawNotices() {
  const { strip, cover } = noticeElements();
  const emergency = emergencyNotice();
  const others = (state?.notices ?? []).filter((n) => n !== emergency);
  strip.hidden = !others.length;
  strip.textContent = others.length ? `${w("notice")}：${others.map(noticeText).join("  ·  ")}` : "";
  cover.hidden = !emergency;
  cover.querySelector("h2").textContent = emergency ? emergencyTitle(emergency, lang) : "";
  cover.querySelector("p").textContent = emergency ? emergencyLine(emergency) : "";
  // Some services stopped: the message runs in the strip, in red, and their buttons are off.
  const partial = incident() && !emergency ? incident() : null;
  if (partial) {
    strip.hidden = false;
    strip.textContent = `${emergencyTitle(partial, lang)}：${emergencyLine(partial)}`
      + (others.length ? `  ·  ${others.map(noticeText).join("  ·  ")}` : "");
  }
  strip.classList.toggle("emergency", Boolean(partial));
  strip.style.background = partial ? "#b3261e" : "#fff3c4";
  strip.style.color = partial ? "#fff" : "#0b1b33";
  // Every button is off while it lasts, and a customer half-way through starts again after it.
  for (const b of document.querySelectorAll("button")) if (emergency) b.disabled = true;
  if (emergency && screen !== "start") { greenReason = null; show("start"); }
}

/** The incident's message in the customer's language, with the English beside it when given. */
function emergencyLine(e) {
  const main = emergencyText(e, lang);
  return lang !== "en" && e.texts?.en && e.texts.en !== main ? `${main} · ${e.texts.en}` : main;
}

/** A refusal of the customer's last tap, kept on the banner for REFUSAL_MS whatever redraws meanwhile. */
let refusal = null;
const REFUSAL_MS = 5000;

function banner() {
  const printer = state?.device?.status?.printer;
  const problem = printer && (!printer.online || printer.paper === "out");
  const refused = refusal && performance.now() < refusal.until ? refusal.text : null;
  const text = live?.status === "reconnecting" ? `${w("offline")} ${w("offline_hold")}`
    : refused ?? (problem ? w("printer") : null);
  $("banner").textContent = text ?? "";
  $("banner").hidden = !text;
  $("print-problem").hidden = !problem || Boolean(printing);
  drawPrinting();
}

/**
 * The ticket just issued and its printer. The agent reports a failed print at once (the printer
 * offline with the reason, or out of paper) and, once a print succeeds, the last ticket it
 * printed; until this ticket is printed, a printer in trouble means this ticket is not. The
 * customer is told and offered a copy ("reprint", a print job for this kiosk) or the number
 * on the screen with its QR code, for the phone page to keep instead of the paper.
 */
function drawPrinting() {
  const status = state?.device?.status;
  const printer = status?.printer;
  const printed = shown && (status?.last_printed ?? 0) >= shown.id;
  const trouble = printer && (!printer.online || printer.paper === "out");
  if (shown && !printed && trouble && printing === null) {
    printing = "failed";
    armIdle();
  }
  if (shown && printed && printing === "failed") printing = null; // it came out after all
  const box = $("print-failed");
  box.hidden = !printing;
  $("result").classList.toggle("print-trouble", Boolean(printing));
  $("result").classList.toggle("phone-ticket", printing === "on_screen");
  if (!printing) return;
  $("print-failed-title").textContent = printing === "on_screen" ? w("phone_ticket") : w("print_failed");
  $("print-failed-hint").textContent = printing === "failed" ? w("print_failed_hint")
    : printing === "reprinting" ? w("reprint_queued") : "";
  $("print-failed-hint").hidden = !$("print-failed-hint").textContent;
  $("reprint").hidden = printing !== "failed";
  $("on-screen").hidden = printing === "on_screen";
}

/** A copy of the ticket on screen, printed at this kiosk (the server allows a few, and audits them). */
async function reprint() {
  if (!shown || busy) return;
  busy = true;
  try {
    const response = await fetch(`/api/v1/branches/${branch}/tickets/${shown.id}/reprint`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: "{}",
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw answer.error ?? { message: response.statusText };
    printing = "reprinting";
  } catch (e) {
    refusal = { text: w("reprint_failed", { m: errorText(lang, e) }), until: performance.now() + REFUSAL_MS };
    setTimeout(banner, REFUSAL_MS);
  } finally {
    busy = false;
    banner();
    armIdle();
  }
}

/** The number on screen with a large QR code: the customer's phone keeps the ticket instead. */
function onScreen() {
  printing = "on_screen";
  banner();
  armIdle();
}

function draw() {
  if (state) $("branch-name").textContent = nameOf(state.branch.names);
  const box = $("services");
  const waitingNow = Object.fromEntries((state?.services ?? []).map((s) => [s.code, s.waiting]));
  const offered = services.filter((s) => s.unavailable_reason !== "no_counter_serves");
  const buttons = offered.map((s) => {
    const button = document.createElement("button");
    button.dataset.service = s.code;
    const waiting = waitingNow[s.code] ?? s.waiting;
    const stopped = stopsService(incident(), s.code);
    const reason = stopped ? t(lang, "emergency.stopped") : s.available ? ""
      : [w(s.unavailable_reason), s.opens_at ? w("opens", { t: when(s.opens_at) }) : ""].filter(Boolean).join(" · ");
    if (stopped) button.classList.add("stopped");
    button.innerHTML = `<span class="name"></span><span class="info"></span><span class="info why"></span>`;
    button.querySelector(".name").textContent = `${s.code}  ${nameOf(s.names)}`;
    // While the connection is down the counts are stale: none are shown, and nothing can be taken.
    button.querySelector(".info").textContent = online() ? `${w("waiting", { n: waiting })} · ${waitText(s)}` : "";
    button.querySelector(".why").textContent = reason;
    button.querySelector(".why").hidden = !reason;
    button.disabled = !online() || Boolean(emergencyNotice()) || stopped || !s.available || (greenReason !== null && s.green_allowed === false);
    button.addEventListener("click", () => take(s));
    return button;
  });
  box.replaceChildren(...buttons);
  const { cols, rows } = grid(buttons.length, box.clientWidth, box.clientHeight);
  box.style.setProperty("--cols", String(cols));
  box.style.setProperty("--rows", String(rows));
  $("green").disabled = !online() || Boolean(emergencyNotice());
  $("booking-entry").disabled = !online() || Boolean(emergencyNotice());
  for (const b of document.querySelectorAll(".languages button, #done, #reasons-back, [data-reason], #reprint, #on-screen, #booking-back, #keypad button, #scan")) b.disabled = false;
  $("booking-go").disabled = !online() || !bookingCode || busy;
  drawGreen();
  drawClosed(offered);
  banner();
  drawNotices();
  for (const el of box.querySelectorAll(".name, .info")) fit(el);
}

/** The green channel, once a reason is chosen, says so on its own button and marks the services. */
function drawGreen() {
  const on = greenReason !== null;
  $("green").textContent = on ? w("green_on", { r: w(greenReason) }) : w("green_entry");
  $("green").classList.toggle("on", on);
  document.body.classList.toggle("green-mode", on);
}

/** What a service's button says about the wait: an estimate, or that no counter is open for it. */
function waitText(s) {
  if (s.no_counter_open || s.estimated_wait_s === null) return w("no_counter");
  const minutes = Math.round(s.estimated_wait_s / 60);
  return s.estimated_wait_s > 0 ? w("wait", { m: Math.max(1, minutes) }) : w("no_wait");
}

/** Columns and rows for n buttons in a w×h box: as large as they can be, about three times wider than tall. */
function grid(n, w, h) {
  const count = Math.max(1, n);
  let best = { cols: 1, rows: count, size: 0 };
  for (let cols = 1; cols <= count; cols += 1) {
    const rows = Math.ceil(count / cols);
    const size = Math.min(w / cols, (h / rows) * 3);
    if (size > best.size) best = { cols, rows, size };
  }
  return best;
}

/** Shrink a text that does not fit its button (a long name in English) until it does. */
function fit(el) {
  el.style.fontSize = "";
  let size = parseFloat(getComputedStyle(el).fontSize);
  for (let i = 0; i < 30 && size > 8 && el.scrollWidth > el.clientWidth + 0.5; i += 1) {
    size *= 0.92;
    el.style.fontSize = `${size}px`;
  }
}

/** When the whole branch is closed: today's hours and the next opening, in the branch's zone. */
function drawClosed(offered) {
  const closed = online() && offered.length > 0 && offered.every((s) => s.unavailable_reason === "closed");
  $("closed-note").hidden = !closed;
  if (!closed) return;
  const periods = todaysHours();
  $("hours-today").textContent = periods.length
    ? w("hours_today", { h: periods.map(([a, b]) => `${a}–${b}`).join("  ") })
    : w("closed_today");
  const next = offered.map((s) => s.opens_at).filter(Boolean).sort()[0];
  $("opens-next").textContent = next ? w("opens", { t: when(next) }) : "";
}

function zoneOf() {
  return state?.branch?.timezone || undefined;
}

/** The branch's opening periods today, in its zone ([] on a holiday or a closed weekday). */
function todaysHours() {
  const hours = state?.branch?.hours ?? {};
  const now = new Date();
  const format = (options) => new Intl.DateTimeFormat("en-CA", { timeZone: zoneOf(), ...options }).format(now);
  try {
    if ((state?.branch?.holidays ?? []).includes(format({ year: "numeric", month: "2-digit", day: "2-digit" }))) return [];
    return hours[format({ weekday: "short" }).toLowerCase().slice(0, 3)] ?? [];
  } catch {
    return [];
  }
}

/** An opening time as a customer reads it: the time today, else the weekday and date too. */
function when(iso) {
  const at = new Date(iso);
  const options = { timeZone: zoneOf(), hour: "2-digit", minute: "2-digit", hour12: false };
  try {
    const day = (d) => new Intl.DateTimeFormat("en-CA", { timeZone: zoneOf() }).format(d);
    if (day(at) === day(new Date())) return at.toLocaleTimeString(lang, options);
    return at.toLocaleString(lang, { ...options, weekday: "short", month: "numeric", day: "numeric" });
  } catch {
    return at.toLocaleString(lang);
  }
}

async function loadServices() {
  try {
    const response = await fetch(`/api/v1/branches/${branch}/services`, { headers: { Authorization: `Bearer ${token}` } });
    if (response.ok) services = await response.json();
  } catch (e) { /* the live connection shows the outage */ }
  draw();
}

async function take(service) {
  if (busy) return;
  busy = true;
  const key = crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
  const body = greenReason ? { service: service.code, priority: "green", green_reason: greenReason } : { service: service.code };
  body.language = lang; // the printed ticket speaks the customer's language
  try {
    let response = null;
    for (let attempt = 0; attempt < 3 && !response; attempt++) {
      try {
        response = await fetch(`/api/v1/branches/${branch}/tickets`, {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}`, "Idempotency-Key": key },
          body: JSON.stringify(body),
        });
      } catch (e) {
        await new Promise((r) => setTimeout(r, 500 * (attempt + 1))); // same key: never two tickets
      }
    }
    if (!response) throw new Error(w("offline"));
    const answer = await response.json();
    if (answer.error?.code === "needs_confirmation") {
      greenReason = null; // the lobby manager issues it: back to a plain start screen
      throw new Error(w("needs_confirmation"));
    }
    if (!response.ok) throw new Error(response.status === 429 ? w("busy") : errorText(lang, answer.error ?? { message: response.statusText }));
    showTicket(answer, service.names);
  } catch (e) {
    // Kept through the redraw that follows (the services reload): the customer must read it.
    refusal = { text: w("failed", { m: e.message }), until: performance.now() + REFUSAL_MS };
    banner();
    setTimeout(banner, REFUSAL_MS);
  } finally {
    busy = false;
    loadServices();
  }
}

/**
 * The result screen for a ticket just issued or checked in: number, wait, QR of its phone page;
 * for a booking (`checkedIn`, the server's answer), whether it came in time for its slot.
 */
function showTicket(answer, names, checkedIn = null) {
  window.__kiosk.issued.push(answer);
  $("number").textContent = answer.number;
  $("result-service").textContent = nameOf(names ?? services.find((s) => s.code === answer.service)?.names) || answer.service;
  $("result-green").hidden = answer.priority !== "green";
  $("result-green").textContent = answer.priority === "green" ? w("green_result", { r: w(greenReason) }) : "";
  $("result-booking").hidden = !checkedIn;
  $("result-booking").textContent = !checkedIn ? ""
    : t(lang, checkedIn.on_time === false ? "booking.kiosk_late" : "booking.kiosk_on_time");
  const noCounter = answer.no_counter_open || answer.estimated_wait_s === null;
  $("ahead").textContent = answer.ahead ? w("ahead", { n: answer.ahead }) : noCounter ? w("first_in_line") : w("no_wait");
  $("estimate").textContent = noCounter ? w("no_counter_ticket")
    : answer.estimated_wait_s ? w("wait", { m: Math.max(1, Math.round(answer.estimated_wait_s / 60)) }) : "";
  $("facts-sep").hidden = !$("estimate").textContent;
  $("qr").src = `/api/v1/tickets/${answer.token}/qr.svg`;
  greenReason = null;
  show("result");
  shown = { id: answer.id, number: answer.number };
  banner();
}

// --- "I have a booking" ---

let bookingCode = "";
let scanning = null; // {stream, timer} while the camera looks for a QR code

function drawBooking(problemText = "") {
  $("booking-code").textContent = bookingCode || "—";
  $("booking-go").disabled = !online() || !bookingCode || busy;
  $("booking-problem").textContent = problemText;
  $("booking-problem").hidden = !problemText;
}

function makeKeypad() {
  const keys = [...CODE_KEYS, "clear", "back"];
  $("keypad").replaceChildren(...keys.map((k) => {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.key = k;
    b.textContent = k === "back" ? "⌫" : k;
    if (k === "clear" || k === "back") b.className = "key-fn";
    if (k === "clear") b.dataset.b = "booking.kiosk_clear"; // its words, in the customer's language
    if (k === "back") b.setAttribute("aria-label", "⌫");
    b.addEventListener("click", () => {
      bookingCode = k === "clear" ? "" : k === "back" ? bookingCode.slice(0, -1)
        : (bookingCode + k).slice(0, CODE_MAX);
      drawBooking();
      armIdle();
    });
    return b;
  }));
}

function openBooking() {
  bookingCode = "";
  show("booking");
  $("scan-box").hidden = !("BarcodeDetector" in window && navigator.mediaDevices?.getUserMedia);
  drawBooking();
}

/** The booking's QR code holds its page's address (…/b/<token>); a code alone is taken as typed. */
function readScanned(text) {
  const page = /\/b\/([A-Za-z0-9_-]{8,64})(?:[/?#]|$)/.exec(text);
  if (page) return { token: page[1] };
  const code = String(text).trim().toUpperCase();
  return /^[0-9A-Z]{4,12}$/.test(code) ? { code } : null;
}

async function startScan() {
  if (scanning) return;
  try {
    const detector = new BarcodeDetector({ formats: ["qr_code"] });
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" }, audio: false });
    const video = $("scan-video");
    video.srcObject = stream;
    await video.play();
    scanning = { stream, timer: null };
    const look = async () => {
      if (!scanning) return;
      try {
        const found = await detector.detect(video);
        const read = found.map((f) => readScanned(f.rawValue)).find(Boolean);
        if (read) { stopScan(); await checkIn(read); return; }
      } catch { /* a frame not ready yet */ }
      if (scanning) scanning.timer = setTimeout(look, 250);
    };
    look();
  } catch (e) {
    stopScan();
    drawBooking(t(lang, "booking.kiosk_no_camera"));
  }
}

function stopScan() {
  if (!scanning) return;
  clearTimeout(scanning.timer);
  for (const track of scanning.stream.getTracks()) track.stop();
  $("scan-video").srcObject = null;
  scanning = null;
}

/** Check a booking in (by its code, or by its token read from the QR code) and show its ticket. */
async function checkIn({ code, token: bookingToken }) {
  if (busy) return;
  busy = true;
  drawBooking();
  const headers = { "Content-Type": "application/json", Authorization: `Bearer ${token}` };
  try {
    let theCode = code;
    if (!theCode) {
      const found = await fetch(`/api/v1/bookings/${encodeURIComponent(bookingToken)}`);
      const booking = await found.json();
      if (!found.ok) throw booking.error ?? { message: found.statusText };
      theCode = booking.code;
    }
    const response = await fetch(`/api/v1/branches/${encodeURIComponent(branch)}/bookings/${encodeURIComponent(theCode)}/check-in`,
      { method: "POST", headers, body: JSON.stringify({ language: lang }) });
    const answer = await response.json();
    if (!response.ok) throw answer.error ?? { message: response.statusText };
    bookingCode = "";
    showTicket(answer.ticket, null, answer);
  } catch (e) {
    const known = e.code && t(lang, `booking.kiosk_${e.code}`) !== `booking.kiosk_${e.code}`;
    drawBooking(known ? t(lang, `booking.kiosk_${e.code}`) : t(lang, "booking.kiosk_refused", { m: e.message ?? String(e) }));
  } finally {
    busy = false;
    if (screen === "booking") drawBooking($("booking-problem").textContent);
  }
}

let live = null;

function main() {
  // Capturing, so it runs before any button's own handler: the second tap of a double tap
  // (on whatever the new screen has under the finger) does nothing.
  document.addEventListener("click", (event) => {
    if (performance.now() - screenChangedAt < GUARD_MS) {
      event.stopPropagation();
      event.preventDefault();
    }
  }, true);
  for (const b of document.querySelectorAll(".languages button")) b.addEventListener("click", () => setLanguage(b.dataset.lang));
  $("green").addEventListener("click", () => show("green-reasons"));
  for (const b of document.querySelectorAll("[data-reason]")) {
    b.addEventListener("click", () => { greenReason = b.dataset.reason; show("start"); draw(); });
  }
  $("reasons-back").addEventListener("click", () => { greenReason = null; show("start"); draw(); });
  $("done").addEventListener("click", goHome);
  $("reprint").addEventListener("click", reprint);
  $("on-screen").addEventListener("click", onScreen);
  makeKeypad();
  $("booking-entry").addEventListener("click", openBooking);
  $("booking-back").addEventListener("click", goHome);
  $("booking-go").addEventListener("click", () => { if (bookingCode) checkIn({ code: bookingCode }); });
  $("scan").addEventListener("click", startScan);
  document.addEventListener("pointerdown", armIdle);
  window.addEventListener("resize", draw);
  if (!token) {
    $("banner").textContent = enrollProblem ?? "本机未登记 This kiosk has no device token: open it once with ?token=…";
    $("banner").hidden = false;
    return;
  }
  live = connect({
    role: "kiosk",
    branch,
    token,
    onChange(next, change) {
      state = next;
      if (change.kind === "snapshot") {
        if (!services.length || change.resync) loadServices();
        offerLanguages();
        // The first snapshot names the branch's language; a resync keeps the customer's choice.
        setLanguage(change.resync ? lang : homeLanguage());
      } else if (change.event.kind === "device.status") {
        state.device = { ...(state.device ?? {}), status: change.event.data.status };
        banner();
      } else {
        draw();
        clearTimeout(main.refresh);
        main.refresh = setTimeout(loadServices, 2000); // estimates follow the queue
      }
    },
    onStatus(status) {
      draw(); // the buttons are off while the connection is down
      if (status === "connected") loadServices();
      if (status === "refused") {
        $("banner").textContent = [enrollProblem, live.refused].filter(Boolean).join(" · ");
        $("banner").hidden = false;
      }
    },
  });
  setInterval(loadServices, 30000);
  setLanguage("zh-CN");
  show("start");
}

main();
