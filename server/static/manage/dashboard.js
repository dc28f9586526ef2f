// The branch manager's live dashboard: queues against their targets, counters and their
// current customer, alerts, and today's figures — kept live over the websocket.
import { connect } from "/static/common/live.js";
import { api, currentStaff, signInForm, signOut } from "/static/common/signin.js";
import { applyWords, both, chosenLanguage, errorText, languageSwitch, nameOf, pageLanguage } from "/static/common/i18n.js";

const branch = decodeURIComponent(location.pathname.split("/")[2]);
const base = `/api/v1/branches/${encodeURIComponent(branch)}`;
const $ = (id) => document.getElementById(id);
const lowRatings = []; // ratings ≤ 2 seen since the page opened
let live = null;
let kpiTimer = null;
let lang = pageLanguage(); // the branch's once the live state says it, unless one was chosen
const w = (key, values) => both(lang, key, values);

const mmss = (s) => (s === null || s === undefined ? "—" : `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`);
const since = (iso) => (iso ? (Date.now() - Date.parse(iso)) / 1000 : null);

function rows(table, headers, data) {
  table.innerHTML = "";
  const head = table.createTHead().insertRow();
  for (const h of headers) head.insertCell().outerHTML = `<th>${h}</th>`;
  const body = table.createTBody();
  for (const cells of data) {
    const tr = body.insertRow();
    for (const cell of cells) {
      const td = tr.insertCell();
      if (cell && typeof cell === "object") {
        td.textContent = cell.text;
        if (cell.className) td.className = cell.className;
        if (cell.title) td.title = cell.title;
      } else td.textContent = cell;
    }
  }
}

function alertsOf(state) {
  const alerts = [];
  const services = Object.fromEntries(state.services.map((s) => [s.code, s]));
  for (const t of state.queue ?? []) {
    const max = services[t.service]?.max_wait_s;
    const waited = since(t.queued_at);
    if (max && waited > max) alerts.push(`⏱ ${w("dash.alert_max_wait", { number: t.number, waited: mmss(waited), max: mmss(max) })}`);
  }
  for (const c of state.counters) {
    const current = c.current;
    const target = current && services[current.service]?.target_service_s;
    const began = current && (current.started_at || current.called_at);
    if (target && since(began) > target * 1.5) {
      alerts.push(`🐢 ${w("dash.alert_slow", { counter: c.number, number: current.number, elapsed: mmss(since(began)), target: mmss(target) })}`);
    }
  }
  for (const d of state.devices ?? []) {
    const p = d.status?.printer;
    if (p && (!p.online || p.paper === "out" || p.paper === "near_end")) {
      const what = w(!p.online ? "dash.printer_offline" : p.paper === "out" ? "dash.paper_out" : "dash.paper_low");
      alerts.push(`🖨 ${d.name}: ${what}${p.message ? ` (${p.message})` : ""}`);
    }
  }
  for (const r of lowRatings) alerts.push(`☹ ${w("dash.low_rating", { number: r.number, score: r.score, counter: r.counter })}`);
  return alerts;
}

function draw(state) {
  if (!state) return;
  $("branch-name").textContent = nameOf(state.branch.names, lang) || state.branch.id;
  const longest = {};
  for (const t of state.queue ?? []) longest[t.service] = Math.max(longest[t.service] ?? 0, since(t.issued_at));
  rows($("services"), ["dash.service", "dash.waiting", "dash.green", "dash.longest", "dash.target"].map((k) => w(k)),
    state.services.map((s) => {
      const wait = longest[s.code] ?? null;
      const late = wait !== null && wait > s.target_wait_s;
      const name = lang === "en" ? s.names.en : `${nameOf(s.names, lang)} ${s.names.en}`;
      return [`${s.code} ${name}`, s.waiting, s.green_waiting,
        { text: mmss(wait), className: late ? "late" : "" }, mmss(s.target_wait_s)];
    }));
  const services = Object.fromEntries(state.services.map((s) => [s.code, s]));
  rows($("counters"), ["dash.counter", "dash.state", "dash.teller", "dash.current", "dash.elapsed"].map((k) => w(k)),
    state.counters.map((c) => {
      const current = c.current;
      const began = current && (current.started_at || current.called_at);
      const elapsed = since(began);
      const target = current && services[current.service]?.target_service_s;
      const cls = elapsed === null || !target ? "" : elapsed > target * 1.5 ? "late" : elapsed > target ? "amber" : "";
      return [c.number, { text: w(`dash.state_${c.state}`) + (c.pause_reason ? ` (${c.pause_reason})` : ""), className: `state-${c.state}` },
        c.staff ?? "—", current ? `${current.number} ${w(`dash.ticket_${current.state}`)}` : "—", { text: mmss(elapsed), className: cls }];
    }));
  const alerts = alertsOf(state);
  $("alerts").innerHTML = "";
  for (const text of alerts.length ? alerts : [w("dash.all_well")]) {
    const li = document.createElement("li");
    li.textContent = text;
    $("alerts").append(li);
  }
}

async function refreshKpis() {
  try {
    const today = await api("GET", `${base}/reports/summary`);
    const t = today.total;
    const pct = (x) => (x === null ? "—" : `${(x * 100).toFixed(0)}%`);
    const cards = [
      ["dash.issued", t.issued], ["dash.served", t.served], ["dash.no_show", t.no_show],
      ["dash.wait_avg", mmss(t.wait_avg_s)], ["dash.sla", pct(t.sla_share)],
      ["dash.rating", t.rating_mean === null ? "—" : t.rating_mean.toFixed(2)],
    ];
    $("kpis").innerHTML = cards.map(([k, v]) => `<div class="card"><div>${w(k)}</div><div class="value">${v}</div></div>`).join("");
  } catch (e) {
    $("kpis").textContent = errorText(lang, e);
  }
}

function scheduleKpis() {
  clearTimeout(kpiTimer);
  kpiTimer = setTimeout(refreshKpis, 1000); // a burst of events refreshes once
}

function drawStatus() {
  const el = $("status");
  const status = live?.status ?? "connecting";
  el.dataset.status = status;
  el.textContent = { connected: w("common.live"), connecting: w("common.connecting_short"),
    reconnecting: w("common.reconnecting_short"), refused: `✖ ${live?.refused ?? "refused"}` }[status] ?? status;
}

function setLanguage(next) {
  lang = next;
  $("lang").value = lang;
  applyWords(lang);
  drawStatus();
  draw(live?.state);
  refreshKpis();
}

async function main() {
  languageSwitch($("lang"), lang, setLanguage);
  applyWords(lang);
  let me = await currentStaff();
  if (!me) {
    await signInForm($("app"), { title: w("dash.title"), lang });
    location.reload();
    return;
  }
  $("to-reports").href = `/manage/${encodeURIComponent(branch)}/reports`;
  $("signout").addEventListener("click", async () => { await signOut(); location.reload(); });
  live = connect({
    role: "dashboard",
    branch,
    onChange(state, change) {
      if (change.kind === "snapshot" && !chosenLanguage() && state.branch.language !== lang) {
        lang = state.branch.language;
        $("lang").value = lang;
        applyWords(lang);
        drawStatus();
        refreshKpis();
      }
      if (change.kind === "event") {
        const e = change.event;
        if (e.kind === "feedback.given" && e.data.score <= 2) lowRatings.push(e.data);
        if (e.kind.startsWith("ticket.") || e.kind === "feedback.given") scheduleKpis();
      }
      draw(state);
    },
    onStatus() {
      drawStatus();
    },
  });
  window.__dashboard = live;
  await refreshKpis();
  setInterval(() => draw(live.state), 1000); // the timers tick
  setInterval(refreshKpis, 30000);
}

main();
