// Staff assessment for a period: a score and band per teller; each score opens the figures
// it was computed from. A manager sees every teller of the branch, a teller only their own.
import { api, currentStaff, signInForm, signOut } from "/static/common/signin.js";
import { applyWords, both, errorText, languageSwitch, pageLanguage } from "/static/common/i18n.js";

const branch = decodeURIComponent(location.pathname.split("/")[2]);
const $ = (id) => document.getElementById(id);
const PARTS = ["attitude", "efficiency", "complaints", "inspection"];
let lang = pageLanguage();
let last = null;
let open = null; // {username, part} of the figures shown
const w = (key, values) => both(lang, key, values);
const num = (x, digits = 1) => (x === null || x === undefined ? "—" : Number(x).toFixed(digits));
const pct = (x) => (x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)}%`);
const minutes = (s) => (s === null || s === undefined ? "—" : `${Math.round(s / 60)}`);
/** A band in the page's words; a band the branch named itself shows as named. */
const band = (b) => {
  if (!b) return "—";
  const key = `assessment.band_${b}`;
  return w(key) === key ? b : w(key);
};

function url(suffix = "") {
  const form = $("query");
  const q = new URLSearchParams({ from: form.from.value, to: form.to.value });
  if (suffix) q.set("lang", lang);
  return `/api/v1/branches/${encodeURIComponent(branch)}/reports/assessment${suffix}?${q}`;
}

function button(text, username, part) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "score";
  b.textContent = text;
  b.dataset.teller = username;
  b.dataset.part = part;
  b.addEventListener("click", () => { open = { username, part }; drawFigures(); });
  return b;
}

function drawTable(report) {
  const table = $("tellers");
  table.innerHTML = "";
  const head = table.createTHead().insertRow();
  for (const key of ["teller", "score", "band", ...PARTS]) {
    const th = document.createElement("th");
    th.textContent = w(`assessment.${key}`);
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const t of report.tellers) {
    const tr = body.insertRow();
    tr.dataset.teller = t.username;
    tr.insertCell().textContent = t.name ? `${t.name} (${t.username})` : t.username;
    tr.insertCell().appendChild(button(num(t.score), t.username, "score"));
    tr.insertCell().textContent = band(t.band);
    for (const part of PARTS) tr.insertCell().appendChild(button(num(t.parts[part]), t.username, part));
  }
  $("empty").hidden = report.tellers.length > 0;
}

function list(rows) {
  const dl = document.createElement("dl");
  for (const [key, value] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = w(`assessment.${key}`);
    const dd = document.createElement("dd");
    dd.textContent = value;
    dl.append(dt, dd);
  }
  return dl;
}

function figuresOf(t) {
  const f = t.figures;
  const eff = f.efficiency_parts || {};
  const mix = (f.mix || []).map((m) => `${m.service} ×${m.served}: ${num(m.service_avg_s, 0)}s / ${num(m.target_s, 0)}s`).join("; ") || "—";
  const dist = [5, 4, 3, 2, 1].map((s) => `${s}★ ${f.distribution[String(s)]}`).join(" · ");
  return {
    attitude: [["rating_mean", num(f.rating_mean, 2)], ["ratings", f.ratings], ["distribution", dist],
      ["finished", f.finished], ["prompted", f.prompted], ["prompted_answered", f.prompted_answered],
      ["coverage", pct(f.coverage)]],
    efficiency: [["mix", mix], ["service_vs_target", pct(f.service_vs_target)], ["speed", num(eff.speed)],
      ["open_min", minutes(f.open_s)], ["serving_min", minutes(f.serving_s)], ["utilisation", pct(f.utilisation)],
      ["idle_queue_min", num(f.idle_queue_min)]],
    complaints: [["upheld_complaints", f.upheld_complaints]],
    inspection: [["findings", f.findings]],
  };
}

function drawFigures() {
  const t = open && last?.tellers.find((x) => x.username === open.username);
  $("figures").hidden = !t;
  if (!t) return;
  $("who").textContent = t.name ? `${t.name} (${t.username})` : t.username;
  const parts = $("parts");
  parts.innerHTML = "";
  const groups = figuresOf(t);
  for (const part of PARTS) {
    const section = document.createElement("section");
    section.dataset.part = part;
    if (open.part === part) section.className = "chosen";
    const h = document.createElement("h3");
    h.textContent = `${w(`assessment.${part}`)}: ${num(t.parts[part])}`;
    section.append(h, list(groups[part]));
    parts.appendChild(section);
  }
  const weights = last.rules.weights;
  const note = document.createElement("p");
  note.textContent = w("assessment.weights", {
    a: weights.attitude, e: weights.efficiency, c: weights.complaints, i: weights.inspection,
  });
  parts.appendChild(note);
  parts.querySelector(".chosen")?.scrollIntoView({ block: "nearest" });
}

function draw() {
  if (!last) return;
  $("title").textContent = w(last.everyone ? "assessment.title" : "assessment.mine");
  drawTable(last);
  drawFigures();
}

async function show(event) {
  event?.preventDefault();
  $("csv").href = url(".csv");
  $("xlsx").href = url(".xlsx");
  try {
    last = await api("GET", url());
    $("error").hidden = true;
    draw();
  } catch (e) {
    $("error").hidden = false;
    $("error").textContent = errorText(lang, e);
  }
}

async function main() {
  languageSwitch($("lang"), lang, (next) => {
    lang = next;
    applyWords(lang);
    draw();
    $("csv").href = url(".csv");
    $("xlsx").href = url(".xlsx");
  });
  applyWords(lang);
  if (!(await currentStaff())) {
    await signInForm($("app"), { title: w("assessment.title"), lang });
    location.reload();
    return;
  }
  $("branch-name").textContent = branch;
  $("signout").addEventListener("click", async () => { await signOut(); location.reload(); });
  $("close").addEventListener("click", () => { open = null; drawFigures(); });
  $("query").addEventListener("submit", show);
  try {
    // The branch's business day, not the browser's: the server's default period is today.
    const today = (await api("GET", `/api/v1/branches/${encodeURIComponent(branch)}/reports/assessment`)).to;
    $("query").from.value = `${today.slice(0, 8)}01`;
    $("query").to.value = today;
  } catch (e) {
    $("error").hidden = false;
    $("error").textContent = errorText(lang, e);
    return;
  }
  await show();
}

main();
