// The desk's statistics tab: per period and group, received, closed, on-time rate, days to a
// decision (average and P90), overdue now, upheld, second-round, escalation and satisfaction
// rates and repeat complainants; a chart of received and closed per period; the weak points;
// CSV and Excel of the same query. The figures are the server's (server/reports/complaints.py).
import { api } from "/static/common/signin.js";
import { $, base, fill, named, showError, w, when } from "/static/complaints/staff.js";

const PERIODS = ["day", "week", "month", "quarter"];
const GROUPS = [["", "complaint.all"], ["channel", "complaint.channel"], ["category", "complaint.category"],
  ["service", "complaint.service"], ["teller", "complaint.teller"]];
export const STAT_COLUMNS = [
  ["received", "s_received"], ["closed", "s_closed"], ["on_time_rate", "s_on_time", "share"],
  ["avg_days", "s_avg_days", "days"], ["p90_days", "s_p90_days", "days"], ["overdue_now", "s_overdue"],
  ["upheld_rate", "s_upheld", "share"], ["second_round_rate", "s_second_round", "share"],
  ["escalation_rate", "s_escalated", "share"], ["satisfaction_rate", "s_satisfied", "share"],
  ["repeat_complainants", "s_repeat"],
];
let report = null;
let shown = false;

export function figure(value, kind) {
  if (value === null || value === undefined) return "—";
  if (kind === "share") return `${(100 * value).toFixed(1)}%`;
  if (kind === "days") return Number(value).toFixed(1);
  return String(value);
}

function form() { return $("stats-query"); }

export function setUpStats() {
  const f = form().elements;
  // Days on the branch's clock: the server counts a case on the day it was received there.
  const today = when(new Date().toISOString(), { dateOnly: true });
  const first = when(new Date(Date.now() - 89 * 86400e3).toISOString(), { dateOnly: true });
  f.from.value = first;
  f.to.value = today;
  drawChoices();
  form().addEventListener("submit", (event) => { event.preventDefault(); drawStats({ reload: true }); });
}

function drawChoices() {
  const f = form().elements;
  fill(f.period, PERIODS.map((p) => [p, w(`complaint.p_${p}`)]), f.period.value || "month");
  fill(f.group, GROUPS.map(([v, k]) => [v, w(k)]));
}

function params() {
  const f = form().elements;
  const p = new URLSearchParams({ from: f.from.value, to: f.to.value, period: f.period.value });
  if (f.group.value) p.set("group", f.group.value);
  return p;
}

function keyName(row, group) {
  const k = row.key ?? "—";
  if (group === "channel") return named("ch", k);
  if (group === "category") return named("cat", k);
  return String(k);
}

function table(el, headers, rows) {
  el.innerHTML = "";
  const head = el.createTHead().insertRow();
  for (const h of headers) head.appendChild(Object.assign(document.createElement("th"), { textContent: h }));
  const body = el.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    for (const cell of r) tr.insertCell().textContent = cell;
  }
}

export async function drawStats({ reload = false, quiet = false } = {}) {
  if (quiet && !shown) return;
  drawChoices();
  if (!report || reload) {
    showError("stats-error", null);
    try {
      report = await api("GET", `${base}/complaints/stats?${params()}`);
    } catch (e) {
      showError("stats-error", e);
      return;
    }
  }
  shown = true;
  const group = form().elements.group.value;
  const rows = [...(report.rows ?? []), ...(report.total ? [{ ...report.total, key: w("common.total") }] : [])];
  table($("stats"), [w(group ? "complaint.group" : "complaint.period"), ...STAT_COLUMNS.map(([, k]) => w(`complaint.${k}`))],
    rows.map((r) => [keyName(r, group), ...STAT_COLUMNS.map(([f, , kind]) => figure(r[f], kind))]));
  table($("weak"), [w("complaint.category"), w("complaint.service"), w("complaint.out_upheld"),
    w("complaint-stats.previous"), w("complaint-stats.trend")],
    (report.weak_points ?? []).map((p) => [named("cat", p.category), p.service ?? "—", String(p.upheld),
      String(p.previous), p.trend > 0 ? `▲ +${p.trend}` : p.trend < 0 ? `▼ ${p.trend}` : "="]));
  const exportParams = params();
  $("stats-csv").href = `${base}/complaints/stats.csv?${exportParams}`;
  $("stats-xlsx").href = `${base}/complaints/stats.xlsx?${exportParams}`;
  const img = Object.assign(document.createElement("img"), { alt: w("complaint.chart"), src: `${base}/complaints/stats/chart.svg?${exportParams}` });
  $("chart").replaceChildren(img);
}
