// The evaluator facing the customer: after each finish at its counter it asks for a rating
// for a limited time: the customer picks a face, may tick tags, and submits; a face picked and
// left alone is submitted by itself after a while, an untouched request simply goes away.
// It names the teller being rated (name and staff number) from the live state. After a low
// score it offers one tap, "I want to complain": a QR code of the complaint form with the
// ticket filled in, so the customer goes on on their own phone.
import { connect } from "/static/common/live.js";
import { deviceTokenOrEnroll } from "/static/common/device.js";
import { applyWords, both, chosenLanguage, errorText } from "/static/common/i18n.js";

const [, , branch, counterText] = location.pathname.split("/");
const counter = Number(counterText);
const search = new URLSearchParams(location.search);
let enrollProblem = null; // a refused ?code=…, shown with the other problems
const token = await deviceTokenOrEnroll("evaluator", { onProblem: (message) => { enrollProblem = message; } });
const $ = (id) => document.getElementById(id);
/** How long a request for a rating stays up with nothing chosen. */
const ASK_FOR_S = Number(search.get("ask_s") || 30);
/** How long the offer to complain, and then its QR code, stay up after a low score. */
const COMPLAIN_FOR_S = Number(search.get("complain_s") || 30);
/** A score at or below this is low: the customer is offered to complain. */
const LOW_SCORE = 2;
let back = null; // the timer that returns to the welcome screen
/** How long a chosen face waits for tags or the submit key before it is submitted as it is. */
const SUBMIT_AFTER_S = Number(search.get("submit_s") || 12);
const MOODS = { 5: "#1b7340", 4: "#4d7c0f", 3: "#8a6d00", 2: "#b45309", 1: "#b42318" };
let lang = chosenLanguage() ?? "zh-CN";
const w = (key, values) => both(lang, key, values);
let timer = null;
let chosen = null; // the face picked for the current request
let sending = false;
let teller = null; // {name, number} of the teller at this counter, when the live state says
window.__evaluator = { asked: [], rated: [], links: [] };

/** A face drawn in SVG (no emoji font needed): the mouth bends with the score. */
function face(score) {
  const bend = { 5: 14, 4: 8, 3: 0, 2: -8, 1: -14 }[score];
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="72" height="72" aria-hidden="true" focusable="false">
    <circle cx="32" cy="32" r="29" fill="${MOODS[score]}"/>
    <circle cx="22" cy="25" r="4" fill="#fff"/><circle cx="42" cy="25" r="4" fill="#fff"/>
    <path d="M18 ${42 - bend / 2} Q32 ${42 + bend} 46 ${42 - bend / 2}" stroke="#fff" stroke-width="4" fill="none" stroke-linecap="round"/>
  </svg>`;
  return new DOMParser().parseFromString(svg, "image/svg+xml").documentElement;
}

function show(id) {
  for (const section of ["welcome", "rate", "thanks", "complain-link"]) $(section).hidden = section !== id;
}

/** Back to the welcome screen after `seconds` (a later call replaces an earlier one). */
function welcomeIn(seconds) {
  clearTimeout(back);
  back = setTimeout(() => { show("welcome"); $("problem").hidden = true; }, seconds * 1000);
}

async function complain() {
  $("complain").disabled = true;
  try {
    const response = await fetch(`/api/v1/branches/${branch}/counters/${counter}/complaint-link`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ lang }),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      problem(errorText(lang, answer.error || { message: response.statusText }));
      return;
    }
    const qr = new DOMParser().parseFromString(answer.qr_svg, "image/svg+xml").documentElement;
    $("complain-qr").replaceChildren(qr);
    $("complain-url").textContent = answer.url;
    window.__evaluator.links.push(answer.url);
    show("complain-link");
    welcomeIn(COMPLAIN_FOR_S);
  } catch {
    problem(errorText(lang, { code: "offline", message: "" }));
  } finally {
    $("complain").disabled = false;
  }
}

/** Count down `seconds`, showing `key`'s words, then `then()`. */
function countdown(seconds, key, then) {
  clearInterval(timer);
  let left = seconds;
  $("countdown").textContent = w(key, { s: left });
  timer = setInterval(() => {
    left -= 1;
    $("countdown").textContent = w(key, { s: Math.max(0, left) });
    if (left <= 0) { clearInterval(timer); then(); }
  }, 1000);
}

function choose(score) {
  chosen = score;
  for (const button of document.querySelectorAll(".stars button")) {
    button.setAttribute("aria-checked", String(Number(button.dataset.score) === score));
  }
  $("submit").disabled = false;
  countdown(SUBMIT_AFTER_S, "eval.submits_in", submit);
}

/** Tell the server the customer was asked: rating coverage counts the prompts shown. */
function recordPrompt(number) {
  fetch(`/api/v1/branches/${branch}/counters/${counter}/feedback/prompt`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({ number }),
  }).catch(() => {}); // a lost prompt only lowers the coverage figure; the rating still works
}

function ask(number) {
  window.__evaluator.asked.push(number);
  recordPrompt(number);
  $("rate-number").textContent = `${number}`;
  chosen = null;
  for (const button of document.querySelectorAll(".stars button")) button.setAttribute("aria-checked", "false");
  for (const box of document.querySelectorAll(".tags input")) box.checked = false;
  $("submit").disabled = true;
  show("rate");
  clearTimeout(back);
  countdown(ASK_FOR_S, "eval.closes_in", () => show("welcome"));
}

async function submit() {
  if (chosen === null || sending) return;
  clearInterval(timer);
  sending = true;
  const score = chosen;
  chosen = null;
  const tags = [...document.querySelectorAll(".tags input:checked")].map((box) => box.value);
  try {
    const response = await fetch(`/api/v1/branches/${branch}/counters/${counter}/feedback`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ score, tags }),
    });
    if (response.ok) {
      window.__evaluator.rated.push({ score, tags });
      $("complain").hidden = score > LOW_SCORE;
      show("thanks");
    } else {
      const error = (await response.json().catch(() => ({}))).error || { message: response.statusText };
      problem(errorText(lang, error));
      show("welcome");
    }
  } catch {
    problem(errorText(lang, { code: "offline", message: "" }));
    show("welcome");
  } finally {
    sending = false;
  }
  welcomeIn(score <= LOW_SCORE ? COMPLAIN_FOR_S : 4);
}

function problem(text) {
  $("problem").textContent = text;
  $("problem").hidden = !text;
}

function drawTeller() {
  const text = teller ? w("eval.teller", { name: teller.name, number: teller.number }) : "";
  for (const id of ["teller", "rate-teller"]) {
    $(id).textContent = text;
    $(id).hidden = !text;
  }
}

function setLanguage(next) {
  lang = next;
  applyWords(lang);
  $("counter-name").textContent = w("common.counter_n", { n: counter });
  drawTeller();
}

for (const button of document.querySelectorAll(".stars button")) {
  button.prepend(face(Number(button.dataset.score)));
  button.addEventListener("click", () => choose(Number(button.dataset.score)));
}
for (const box of document.querySelectorAll(".tags input")) {
  box.addEventListener("change", () => { if (chosen !== null) countdown(SUBMIT_AFTER_S, "eval.submits_in", submit); });
}
$("submit").addEventListener("click", submit);
$("complain").addEventListener("click", complain);
$("complain-close").addEventListener("click", () => { clearTimeout(back); show("welcome"); });

setLanguage(lang);
if (!token) {
  problem(enrollProblem ?? w("eval.no_token"));
} else {
  const live = connect({
    role: "evaluator",
    branch,
    token,
    onChange(state, change) {
      if (change.kind === "snapshot") {
        if (!chosenLanguage() && state.branch.language) setLanguage(state.branch.language);
        teller = state.counters?.find((c) => c.number === counter)?.teller ?? null;
        drawTeller();
        return;
      }
      const e = change.event;
      if (e.data.counter !== counter) return;
      if (e.kind === "ticket.finished") ask(e.data.number);
      else if (e.kind === "counter.opened") {
        teller = { name: teller?.number === e.data.staff ? teller.name : e.data.staff, number: e.data.staff };
        drawTeller();
        live.resync(); // the snapshot has the teller's name as well as their number
      } else if (e.kind === "counter.closed") {
        teller = null;
        drawTeller();
      }
    },
    onStatus(status, l) {
      if (status === "refused") problem([enrollProblem, l.refused].filter(Boolean).join(" · "));
    },
  });
}
