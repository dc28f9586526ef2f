// The evaluator facing the customer: after each finish at its counter it asks for a rating
// (1–5 and optional tags) for a limited time, then goes back to the welcome screen.
import { connect } from "/static/common/live.js";
import { deviceTokenOrEnroll } from "/static/common/device.js";

const [, , branch, counterText] = location.pathname.split("/");
const counter = Number(counterText);
let enrollProblem = null; // a refused ?code=…, shown with the other problems
const token = await deviceTokenOrEnroll("evaluator", { onProblem: (message) => { enrollProblem = message; } });
const $ = (id) => document.getElementById(id);
const ASK_FOR_S = Number(new URLSearchParams(location.search).get("ask_s") || 30);
let timer = null;
window.__evaluator = { asked: [], rated: [] };

function show(id) {
  for (const section of ["welcome", "rate", "thanks"]) $(section).hidden = section !== id;
}

function ask(number) {
  window.__evaluator.asked.push(number);
  $("rate-number").textContent = `${number}`;
  for (const box of document.querySelectorAll(".tags input")) box.checked = false;
  show("rate");
  let left = ASK_FOR_S;
  clearInterval(timer);
  $("countdown").textContent = `${left}`;
  timer = setInterval(() => {
    left -= 1;
    $("countdown").textContent = `${left}`;
    if (left <= 0) { clearInterval(timer); show("welcome"); }
  }, 1000);
}

async function rate(score) {
  clearInterval(timer);
  const tags = [...document.querySelectorAll(".tags input:checked")].map((box) => box.value);
  const response = await fetch(`/api/v1/branches/${branch}/counters/${counter}/feedback`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({ score, tags }),
  });
  if (response.ok) {
    window.__evaluator.rated.push(score);
    show("thanks");
  } else {
    const error = (await response.json().catch(() => ({}))).error || {};
    $("problem").textContent = error.message || response.statusText;
    $("problem").hidden = false;
    show("welcome");
  }
  setTimeout(() => { show("welcome"); $("problem").hidden = true; }, 4000);
}

for (const button of document.querySelectorAll(".stars button")) {
  button.addEventListener("click", () => rate(Number(button.dataset.score)));
}

$("counter-name").textContent = `${counter} 号窗口 Counter ${counter}`;
if (!token) {
  $("problem").textContent = enrollProblem ?? "本设备未登记 This device has no token: open the page once with ?token=…";
  $("problem").hidden = false;
} else {
  connect({
    role: "evaluator",
    branch,
    token,
    onChange(_state, change) {
      const e = change.kind === "event" ? change.event : null;
      if (e && e.kind === "ticket.finished" && e.data.counter === counter) ask(e.data.number);
    },
    onStatus(status, live) {
      if (status === "refused") {
        $("problem").textContent = [enrollProblem, live.refused].filter(Boolean).join(" · ");
        $("problem").hidden = false;
      }
    },
  });
}
