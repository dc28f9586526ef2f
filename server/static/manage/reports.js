// The manager's report page: summary table, charts (server-made SVG), scorecard, staffing.
import { connect } from "/static/common/live.js";
import { api, currentStaff, signInForm, signOut } from "/static/common/signin.js";

const branch = decodeURIComponent(location.pathname.split("/")[2]);
const base = `/api/v1/branches/${encodeURIComponent(branch)}`;
const $ = (id) => document.getElementById(id);

const COLUMNS = [
  ["issued", "取号 Issued"], ["served", "办结 Served"], ["no_show", "过号 No-show"],
  ["cancelled", "取消 Cancelled"], ["expired", "作废 Expired"],
  ["wait_avg_s", "平均等候 Wait avg", "duration"], ["wait_median_s", "中位 Median", "duration"],
  ["wait_p90_s", "P90", "duration"], ["wait_max_s", "最长 Max", "duration"],
  ["service_avg_s", "平均办理 Service avg", "duration"], ["sla_share", "达标率 SLA", "share"],
  ["green_wait_avg_s", "绿色通道等候 Green wait", "duration"],
  ["normal_wait_avg_s", "普通等候 Normal wait", "duration"],
  ["utilisation", "利用率 Utilisation", "share"], ["rating_mean", "满意度 Rating", "rating"],
  ["rating_share_4_5", "好评率 4–5", "share"], ["rating_response_rate", "评价率 Response", "share"],
  ["estimate_mae_s", "预估误差 Estimate MAE", "duration"],
];

function format(value, kind) {
  if (value === null || value === undefined) return "—";
  if (kind === "duration") return `${Math.floor(value / 60)}:${String(Math.round(value % 60)).padStart(2, "0")}`;
  if (kind === "share") return `${(value * 100).toFixed(1)}%`;
  if (kind === "rating") return value.toFixed(2);
  return String(value);
}

function table(element, headers, rows) {
  element.innerHTML = "";
  const head = element.createTHead().insertRow();
  for (const h of headers) head.insertCell().outerHTML = `<th>${h}</th>`;
  const body = element.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const cell of row) tr.insertCell().textContent = cell;
  }
}

/**
 * The branch's business day, which is not the browser's (nor UTC's) date near midnight: from
 * one snapshot of the branch (a dashboard socket, closed once it has answered), which costs far
 * less than running a report to read its date.
 */
function branchToday() {
  return new Promise((resolve, reject) => {
    let done = false;
    const live = connect({
      role: "dashboard",
      branch,
      onChange(state) {
        if (done) return;
        done = true;
        live.close();
        resolve(state.branch.business_date);
      },
      onStatus(status, l) {
        if (status !== "refused" || done) return;
        done = true;
        l.close();
        reject(new Error(l.refused));
      },
    });
  });
}

function daysBefore(isoDate, days) {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - days);
  return d.toISOString().slice(0, 10);
}

async function show(form) {
  const params = new URLSearchParams({ from: form.from.value, to: form.to.value, group: form.group.value });
  $("error").hidden = true;
  try {
    const report = await api("GET", `${base}/reports/summary?${params}`);
    $("branch-name").textContent = report.branch;
    const rows = [...report.rows, { ...report.total, key: "合计 Total" }];
    table($("summary"), [form.group.selectedOptions[0].textContent, ...COLUMNS.map((c) => c[1])],
      rows.map((r) => [r.key ?? "—", ...COLUMNS.map(([k, , kind]) => format(r[k], kind))]));
    for (const chart of ["arrivals", "waits", "sla"]) {
      $(`chart-${chart}`).src = `${base}/reports/charts/${chart}.svg?from=${params.get("from")}&to=${params.get("to")}`;
    }
    $("csv").href = `${base}/reports/summary.csv?${params}`;
    $("xlsx").href = `${base}/reports/summary.xlsx?${params}`;
    const score = await api("GET", `${base}/reports/tellers?from=${params.get("from")}&to=${params.get("to")}`);
    table($("tellers"), ["柜员 Teller", "办结 Served", "平均办理 Service avg", "目标 Target", "比目标 vs target",
      "满意度 Rating", "评价数 Ratings", "过号率 No-show"],
      score.tellers.map((t) => [t.teller, t.served, format(t.service_avg_s, "duration"),
        format(t.target_service_avg_s, "duration"), format(t.service_vs_target, "rating"),
        format(t.rating_mean, "rating"), t.ratings, format(t.no_show_share, "share")]));
    const staffing = await api("GET", `${base}/reports/staffing?weeks=4`);
    table($("staffing"), ["星期 Day", "时段 Hour", "到达/小时 Arrivals", "平均办理 AHT", "需要窗口 Needed",
      "实际开放 Open", "开放时达标率 SLA with open"],
      staffing.rows.map((s) => [s.weekday, `${String(s.hour).padStart(2, "0")}:00`, s.arrivals_per_hour,
        format(s.aht_s, "duration"), s.counters_needed, s.counters_open, format(s.service_level_open, "share")]));
  } catch (e) {
    $("error").textContent = e.message;
    $("error").hidden = false;
  }
}

async function main() {
  if (!(await currentStaff())) {
    await signInForm($("app"), { title: "报表 Reports" });
    location.reload();
    return;
  }
  $("to-dashboard").href = `/manage/${encodeURIComponent(branch)}`;
  $("signout").addEventListener("click", async () => { await signOut(); location.reload(); });
  const form = $("query");
  let today;
  try {
    today = await branchToday();
  } catch (e) {
    $("error").textContent = e.message;
    $("error").hidden = false;
    return;
  }
  form.from.value = daysBefore(today, 27);
  form.to.value = today;
  form.addEventListener("submit", (event) => { event.preventDefault(); show(form); });
  await show(form);
}

main();
