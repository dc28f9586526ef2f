// The branch manager's live dashboard: queues against their targets, counters and their
// current customer, alerts, and today's figures — kept live over the websocket.
import { connect } from "/static/common/live.js";
import { api, currentStaff, signInForm, signOut } from "/static/common/signin.js";

const branch = decodeURIComponent(location.pathname.split("/")[2]);
const base = `/api/v1/branches/${encodeURIComponent(branch)}`;
const $ = (id) => document.getElementById(id);
const lowRatings = []; // ratings ≤ 2 seen since the page opened
let live = null;
let kpiTimer = null;

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
    if (max && waited > max) alerts.push(`⏱ ${t.number} 已等候 waited ${mmss(waited)}，超过上限 past max ${mmss(max)}`);
  }
  for (const c of state.counters) {
    const current = c.current;
    const target = current && services[current.service]?.target_service_s;
    const began = current && (current.started_at || current.called_at);
    if (target && since(began) > target * 1.5) {
      alerts.push(`🐢 ${c.number} 号窗口 counter ${c.number}: ${current.number} 办理 ${mmss(since(began))}（目标 target ${mmss(target)}）`);
    }
  }
  for (const d of state.devices ?? []) {
    const p = d.status?.printer;
    if (p && (!p.online || p.paper === "out" || p.paper === "near_end")) {
      const what = !p.online ? "打印机离线 printer offline" : p.paper === "out" ? "缺纸 paper out" : "纸将用完 paper low";
      alerts.push(`🖨 ${d.name}: ${what}${p.message ? ` (${p.message})` : ""}`);
    }
  }
  for (const r of lowRatings) alerts.push(`☹ ${r.number} 评分 rated ${r.score}（${r.counter} 号窗口 counter ${r.counter}）`);
  return alerts;
}

function draw(state) {
  if (!state) return;
  $("branch-name").textContent = state.branch.names["zh-CN"] ?? state.branch.id;
  const longest = {};
  for (const t of state.queue ?? []) longest[t.service] = Math.max(longest[t.service] ?? 0, since(t.issued_at));
  rows($("services"), ["业务 Service", "等候人数 Waiting", "绿色通道 Green", "最长等候 Longest wait", "目标 Target"],
    state.services.map((s) => {
      const wait = longest[s.code] ?? null;
      const late = wait !== null && wait > s.target_wait_s;
      return [`${s.code} ${s.names["zh-CN"]} ${s.names.en}`, s.waiting, s.green_waiting,
        { text: mmss(wait), className: late ? "late" : "" }, mmss(s.target_wait_s)];
    }));
  const services = Object.fromEntries(state.services.map((s) => [s.code, s]));
  rows($("counters"), ["窗口 Counter", "状态 State", "柜员 Teller", "当前 Current", "用时 Elapsed"],
    state.counters.map((c) => {
      const current = c.current;
      const began = current && (current.started_at || current.called_at);
      const elapsed = since(began);
      const target = current && services[current.service]?.target_service_s;
      const cls = elapsed === null || !target ? "" : elapsed > target * 1.5 ? "late" : elapsed > target ? "amber" : "";
      return [c.number, { text: c.state + (c.pause_reason ? ` (${c.pause_reason})` : ""), className: `state-${c.state}` },
        c.staff ?? "—", current ? `${current.number} ${current.state}` : "—", { text: mmss(elapsed), className: cls }];
    }));
  const alerts = alertsOf(state);
  $("alerts").innerHTML = "";
  for (const text of alerts.length ? alerts : ["一切正常 All well"]) {
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
      ["取号 Issued", t.issued], ["办结 Served", t.served], ["过号 No-show", t.no_show],
      ["平均等候 Avg wait", mmss(t.wait_avg_s)], ["达标率 SLA", pct(t.sla_share)],
      ["满意度 Rating", t.rating_mean === null ? "—" : t.rating_mean.toFixed(2)],
    ];
    $("kpis").innerHTML = cards.map(([k, v]) => `<div class="card"><div>${k}</div><div class="value">${v}</div></div>`).join("");
  } catch (e) {
    $("kpis").textContent = e.message;
  }
}

function scheduleKpis() {
  clearTimeout(kpiTimer);
  kpiTimer = setTimeout(refreshKpis, 1000); // a burst of events refreshes once
}

async function main() {
  let me = await currentStaff();
  if (!me) {
    await signInForm($("app"), { title: "实时看板 Live dashboard" });
    location.reload();
    return;
  }
  $("to-reports").href = `/manage/${encodeURIComponent(branch)}/reports`;
  $("signout").addEventListener("click", async () => { await signOut(); location.reload(); });
  live = connect({
    role: "dashboard",
    branch,
    onChange(state, change) {
      if (change.kind === "event") {
        const e = change.event;
        if (e.kind === "feedback.given" && e.data.score <= 2) lowRatings.push(e.data);
        if (e.kind.startsWith("ticket.") || e.kind === "feedback.given") scheduleKpis();
      }
      draw(state);
    },
    onStatus(status, l) {
      const el = $("status");
      el.dataset.status = status;
      el.textContent = { connected: "● 实时 live", connecting: "连接中 connecting…", reconnecting: "重新连接中 reconnecting…",
        refused: `✖ ${l.refused ?? "refused"}` }[status] ?? status;
    },
  });
  window.__dashboard = live;
  await refreshKpis();
  setInterval(() => draw(live.state), 1000); // the timers tick
  setInterval(refreshKpis, 30000);
}

main();
