// The manager's complaint desk: the branch's cases with their deadlines (due soon and overdue
// marked), filtered by status, deadline, channel, category and the teller complained about, the
// contacts masked as the server sends them; a row opens the case page. The second tab holds the
// statistics: a table per period and group, a chart, CSV and Excel.
import { api } from "/static/common/signin.js";
import { CATEGORIES, CHANNELS } from "/static/complaints/common.js";
import { $, base, desk, fill, named, page, serviceName, showError, staffName, start, w, when } from "/static/complaints/staff.js";
import { drawStats, setUpStats } from "/static/complaints/stats.js";

const STATES = ["received", "accepted", "handling", "resolved", "transferred", "decided", "second_round", "escalated",
  "closed", "rejected", "withdrawn", "merged"];
const filters = $("filters");
let cases = [];
window.__desk = { loads: 0 };

function drawFilters() {
  const f = filters.elements;
  const all = ["", w("complaint.all")];
  fill(f.state, [all, ...STATES.map((s) => [s, named("st", s)])]);
  fill(f.due, [all, ["soon", w("complaint.due_soon")], ["overdue", w("complaint.overdue")]]);
  fill(f.channel, [all, ...[...CHANNELS, "walk_in"].map((c) => [c, named("ch", c)])]);
  fill(f.category, [all, ...CATEGORIES.map((c) => [c, named("cat", c)])]);
  fill(f.teller, [all, ...page.staff.filter((s) => s.role === "teller").map((s) => [String(s.id), staffName(s.id)])]);
}

function query() {
  const params = new URLSearchParams();
  for (const [k, v] of new FormData(filters)) if (v) params.set(k, v);
  return params;
}

function deadline(c) {
  if (["closed", "rejected", "withdrawn", "merged"].includes(c.state)) return when(c.due_at, { dateOnly: true });
  const left = c.overdue ? w("complaint.days_over", { n: Math.max(1, -c.days_left) })
    : c.days_left === 0 ? w("complaint.due_today") : w("complaint.days_left", { n: c.days_left });
  return `${when(c.due_at, { dateOnly: true })} · ${left}`;
}

function contactOf(c) {
  return [c.contact?.phone, c.contact?.email].filter(Boolean).join(" / ") || "—";
}

function drawCases() {
  const table = $("cases");
  table.innerHTML = "";
  $("none").hidden = cases.length > 0;
  if (!cases.length) return;
  const head = table.createTHead().insertRow();
  for (const k of ["col_number", "col_received", "col_channel", "col_category", "col_complainant", "col_contact",
    "col_teller", "col_state", "col_handler", "col_due"]) {
    head.appendChild(Object.assign(document.createElement("th"), { textContent: w(`complaint.${k}`) }));
  }
  const body = table.createTBody();
  for (const c of cases) {
    const tr = body.insertRow();
    tr.dataset.id = c.id;
    tr.className = c.overdue ? "overdue" : c.due_soon ? "due-soon" : "";
    const link = Object.assign(document.createElement("a"), { href: `${desk}/${c.id}`, textContent: c.number });
    tr.insertCell().append(link);
    const marks = [];
    if (c.overdue) marks.push(["overdue", w("complaint.overdue")]);
    else if (c.due_soon) marks.push(["due-soon", w("complaint.due_soon")]);
    for (const [cls, words] of marks) tr.cells[0].append(" ", Object.assign(document.createElement("span"), { className: `mark ${cls}`, textContent: words }));
    for (const text of [when(c.received_at), named("ch", c.channel), named("cat", c.category), c.contact?.name ?? "—",
      contactOf(c), c.teller_name ?? (c.teller ? staffName(c.teller) : "—"),
      `${named("st", c.state)}${c.round > 1 ? ` · ${w("complaint.round", { n: c.round })}` : ""}`,
      c.handler_name ?? (c.handler ? staffName(c.handler) : "—"), deadline(c)]) {
      tr.insertCell().textContent = text;
    }
    tr.cells[5].className = "contact";
    tr.cells[9].className = "due";
  }
}

async function load() {
  showError("error", null);
  try {
    window.__desk.loads += 1;
    cases = await api("GET", `${base}/complaints?${query()}`);
    $("list-csv").href = `${base}/complaints.csv?${query()}`; // contacts masked as in the list
    $("list-xlsx").href = `${base}/complaints.xlsx?${query()}`;
    drawCases();
  } catch (e) {
    showError("error", e);
  }
}

function tab(which) {
  for (const [name, view] of [["cases", "cases-view"], ["stats", "stats-view"]]) {
    $(`tab-${name}`).setAttribute("aria-selected", String(name === which));
    $(view).hidden = name !== which;
  }
  if (which === "stats") drawStats();
}

function redraw() {
  drawFilters();
  drawCases();
  drawStats({ quiet: true });
}

filters.addEventListener("submit", (event) => { event.preventDefault(); load(); });
filters.addEventListener("change", load);
$("tab-cases").addEventListener("click", () => tab("cases"));
$("tab-stats").addEventListener("click", () => tab("stats"));
if (await start("complaint.desk", redraw)) {
  drawFilters();
  setUpStats();
  await load();
  if (location.hash === "#stats") tab("stats");
}
void serviceName;
