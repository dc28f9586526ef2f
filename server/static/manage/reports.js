// The manager's report page: summary table, charts (server-made SVG), scorecard, staffing.
import { connect } from "/static/common/live.js";
import { api, currentStaff, signInForm, signOut } from "/static/common/signin.js";
import { applyWords, both, chosenLanguage, errorText, languageSwitch, nameOf, pageLanguage, weekdayName } from "/static/common/i18n.js";
import { format } from "/static/manage/report_format.js";

const branch = decodeURIComponent(location.pathname.split("/")[2]);
const base = `/api/v1/branches/${encodeURIComponent(branch)}`;
const $ = (id) => document.getElementById(id);
let lang = pageLanguage(); // the branch's once its snapshot says it, unless one was chosen
let branchNames = null; // the branch's names, from its snapshot
const w = (key, values) => both(lang, key, values);

const COLUMNS = [
  ["issued", "reports.issued"], ["served", "reports.served"], ["no_show", "reports.no_show"],
  ["cancelled", "reports.cancelled"], ["expired", "reports.expired"],
  ["wait_avg_s", "reports.wait_avg", "duration"], ["wait_median_s", "reports.wait_median", "duration"],
  ["wait_p90_s", "P90", "duration"], ["wait_max_s", "reports.wait_max", "duration"],
  ["service_avg_s", "reports.service_avg", "duration"], ["sla_share", "reports.sla", "share"],
  ["green_wait_avg_s", "reports.green_wait", "duration"],
  ["normal_wait_avg_s", "reports.normal_wait", "duration"],
  ["utilisation", "reports.utilisation", "share"], ["rating_mean", "reports.rating", "rating"],
  ["rating_share_4_5", "reports.rating_good", "share"], ["rating_response_rate", "reports.response", "share"],
  ["estimate_mae_s", "reports.estimate_error", "duration"],
];

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
        resolve(state.branch);
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
    branchNames = report.branch_names ?? branchNames;
    showBranchName();
    const rows = [...report.rows, { ...report.total, key: w("common.total") }];
    table($("summary"), [form.group.selectedOptions[0].textContent, ...COLUMNS.map((c) => w(c[1]))],
      rows.map((r) => [r.key ?? "—", ...COLUMNS.map(([k, , kind]) => format(r[k], kind))]));
    // Emergency mode: real incidents only; drills are counted apart and kept out of the KPIs.
    const inc = report.incidents ?? { count: 0, stopped_minutes: 0, drills: 0, drill_minutes: 0 };
    $("incident-figures").textContent = w("emergency.figures",
      { n: inc.count, m: inc.stopped_minutes, d: inc.drills, dm: inc.drill_minutes });
    for (const chart of ["arrivals", "waits", "sla"]) {
      $(`chart-${chart}`).src = `${base}/reports/charts/${chart}.svg?from=${params.get("from")}&to=${params.get("to")}`;
    }
    const exportParams = new URLSearchParams({ ...Object.fromEntries(params), lang });
    $("csv").href = `${base}/reports/summary.csv?${exportParams}`;
    $("xlsx").href = `${base}/reports/summary.xlsx?${exportParams}`;
    const score = await api("GET", `${base}/reports/tellers?from=${params.get("from")}&to=${params.get("to")}`);
    table($("tellers"), ["reports.teller", "reports.served", "reports.service_avg", "reports.target", "reports.vs_target",
      "reports.rating", "reports.ratings", "reports.no_show_share", "complaint-stats.upheld"].map((k) => w(k)),
      score.tellers.map((t) => [t.teller, t.served ?? 0, format(t.service_avg_s, "duration"),
        format(t.target_service_avg_s, "duration"), format(t.service_vs_target, "rating"),
        format(t.rating_mean, "rating"), t.ratings ?? 0, format(t.no_show_share, "share"), t.upheld_complaints]));
    const staffing = await api("GET", `${base}/reports/staffing?from=${params.get("from")}&to=${params.get("to")}`);
    table($("staffing"), ["reports.day", "reports.hour", "reports.arrivals", "reports.aht", "reports.needed",
      "reports.open", "reports.sla_open"].map((k) => w(k)),
      staffing.rows.map((s) => [weekdayName(lang, s.weekday), `${String(s.hour).padStart(2, "0")}:00`, s.arrivals_per_hour,
        format(s.aht_s, "duration"), s.counters_needed, s.counters_open, format(s.service_level_open, "share")]));
    // The period's real customers replayed with the advised counters (server/services/history.py what_if).
    const simulated = staffing.simulated;
    $("staffing-simulated").hidden = !(simulated && simulated.sla_share != null);
    if (simulated && simulated.sla_share != null) {
      $("staffing-simulated").textContent = w("simulate.advice",
        { share: format(simulated.sla_share, "share"), hours: simulated.counter_hours });
    }
    await showBreaches(params);
  } catch (e) {
    $("error").textContent = errorText(lang, e);
    $("error").hidden = false;
  }
}

/** Breaches of the service standards per day and service (server/services/standards.py). */
async function showBreaches(params) {
  const period = `from=${params.get("from")}&to=${params.get("to")}`;
  $("breaches-csv").href = `${base}/reports/breaches.csv?${period}`;
  $("breaches-xlsx").href = `${base}/reports/breaches.xlsx?${period}`;
  const report = await api("GET", `${base}/reports/breaches?${period}`);
  table($("breaches"), ["supervision.col_day", "supervision.col_service", "supervision.col_breaches",
    "supervision.col_severe", "supervision.col_escalated", "supervision.col_minutes",
    "supervision.col_ack_minutes"].map((k) => w(k)),
  report.rows.map((r) => [r.day, r.service ?? "—", r.breaches, r.severe, r.escalated, r.minutes_in_breach,
    r.minutes_to_acknowledge ?? "—"]));
}

function showBranchName() {
  $("branch-name").textContent = branchNames ? nameOf(branchNames, lang) : branch;
}

async function main() {
  const form = $("query");
  languageSwitch($("lang"), lang, (next) => {
    lang = next;
    applyWords(lang);
    showBranchName();
    if (form.from.value) show(form);
  });
  applyWords(lang);
  if (!(await currentStaff())) {
    await signInForm($("app"), { title: w("reports.title"), lang });
    location.reload();
    return;
  }
  $("to-dashboard").href = `/manage/${encodeURIComponent(branch)}`;
  $("to-assessment").href = `/manage/${encodeURIComponent(branch)}/assessment`;
  $("signout").addEventListener("click", async () => { await signOut(); location.reload(); });
  let today;
  try {
    const about = await branchToday();
    today = about.business_date;
    branchNames = about.names;
    if (!chosenLanguage() && about.language !== lang) {
      lang = about.language;
      $("lang").value = lang;
      applyWords(lang);
    }
    showBranchName();
  } catch (e) {
    $("error").textContent = errorText(lang, e);
    $("error").hidden = false;
    return;
  }
  form.from.value = daysBefore(today, 27);
  form.to.value = today;
  form.addEventListener("submit", (event) => { event.preventDefault(); show(form); });
  await show(form);
}

main();
