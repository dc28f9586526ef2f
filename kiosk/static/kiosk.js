// The kiosk's touch screen: big service buttons with live waiting counts and estimates,
// languages, the green channel, and a result with the number, people ahead, the wait and
// a QR code for the phone page. Greyed services say why; idle screens go back to start.
import { connect } from "/static/common/live.js";
import { deviceTokenOrEnroll } from "/static/common/device.js";
import { wordsOf } from "/static/common/i18n.js";

const branch = decodeURIComponent(location.pathname.split("/")[2]);
let enrollProblem = null; // a refused ?code=…, shown in the banner
const token = await deviceTokenOrEnroll("kiosk", { onProblem: (message) => { enrollProblem = message; } });
const $ = (id) => document.getElementById(id);
const IDLE_MS = { start: null, "green-reasons": 30000, result: 20000 };

const WORDS = {
  "zh-CN": {
    choose: "请选择业务", green_entry: "♿ 绿色通道（老年人、残障人士、孕妇、急事）", green_title: "绿色通道：请选择",
    elderly: "老年人", disabled: "残障人士", pregnant: "孕妇", urgent: "紧急业务", back: "返回", done: "完成",
    your_number: "您的号码", scan: "扫码用手机查看排队进度", waiting: "等候 {n} 人", wait: "约 {m} 分钟",
    ahead: "前面还有 {n} 人", no_wait: "无需等候", closed: "暂停取号：不在营业时间", suspended: "暂停办理",
    daily_cap_reached: "今日号已取完", print_problem: "打印机故障：请记下号码或扫码", printer: "打印机故障，号码请以屏幕为准",
    offline: "网络中断，正在重新连接…", failed: "取号失败：{m}", busy: "请稍候再试",
  },
  en: {
    choose: "Please choose a service", green_entry: "♿ Green channel (elderly, disabled, pregnant, urgent)",
    green_title: "Green channel: please choose", elderly: "Elderly", disabled: "Disabled", pregnant: "Pregnant",
    urgent: "Urgent business", back: "Back", done: "Done", your_number: "Your number",
    scan: "Scan to follow your place on your phone", waiting: "{n} waiting", wait: "about {m} min",
    ahead: "{n} ahead of you", no_wait: "no wait", closed: "Not now: outside opening hours", suspended: "Suspended",
    daily_cap_reached: "No more tickets today", print_problem: "Printer problem: please note your number or scan the code",
    printer: "Printer problem: please read your number from the screen", offline: "Connection lost, reconnecting…",
    failed: "Could not issue a ticket: {m}", busy: "Please try again in a moment",
  },
  // Traditional Chinese comes from the one zh-TW table of every page (i18n.js, kiosk.*).
  "zh-TW": wordsOf("zh-TW", "kiosk."),
};

let lang = "zh-CN";
let services = [];
let state = null;
let greenReason = null;
let idleTimer = null;
let busy = false;
window.__kiosk = { issued: [] };

const w = (key, params = {}) => (WORDS[lang][key] ?? WORDS["zh-CN"][key] ?? key)
  .replace(/\{(\w+)\}/g, (_, k) => params[k] ?? "");
const nameOf = (names) => names?.[lang] ?? names?.["zh-CN"] ?? "";

function show(id) {
  for (const s of ["start", "green-reasons", "result"]) $(s).hidden = s !== id;
  clearTimeout(idleTimer);
  if (IDLE_MS[id]) idleTimer = setTimeout(() => { greenReason = null; show("start"); }, IDLE_MS[id]);
}

function setLanguage(next) {
  lang = next;
  document.documentElement.lang = next;
  for (const b of document.querySelectorAll(".languages button")) b.setAttribute("aria-pressed", String(b.dataset.lang === next));
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = w(el.dataset.t);
  draw();
}

/** Only the languages the branch offers (its configuration); no switch at all for one. */
function offerLanguages(offered) {
  const keep = offered?.length ? offered : ["zh-CN", "en", "zh-TW"];
  for (const b of document.querySelectorAll(".languages button")) b.hidden = !keep.includes(b.dataset.lang);
  document.querySelector(".languages").hidden = keep.length < 2;
  if (!keep.includes(lang)) lang = keep[0];
}

function banner() {
  const printer = state?.device?.status?.printer;
  const problem = printer && (!printer.online || printer.paper === "out");
  const text = live?.status === "reconnecting" ? w("offline") : problem ? w("printer") : null;
  $("banner").textContent = text ?? "";
  $("banner").hidden = !text;
  $("print-problem").hidden = !problem;
}

function draw() {
  if (state) $("branch-name").textContent = nameOf(state.branch.names);
  const box = $("services");
  box.innerHTML = "";
  const waitingNow = Object.fromEntries((state?.services ?? []).map((s) => [s.code, s.waiting]));
  for (const s of services) {
    const button = document.createElement("button");
    button.dataset.service = s.code;
    const waiting = waitingNow[s.code] ?? s.waiting;
    const minutes = Math.round(s.estimated_wait_s / 60);
    const reason = s.available ? "" : w(s.unavailable_reason);
    button.innerHTML = `<span class="name"></span><span class="info"></span><span class="info why"></span>`;
    button.querySelector(".name").textContent = `${s.code}  ${nameOf(s.names)}`;
    button.querySelector(".info").textContent = `${w("waiting", { n: waiting })} · ${minutes ? w("wait", { m: minutes }) : w("no_wait")}`;
    button.querySelector(".why").textContent = reason;
    button.disabled = !s.available || (greenReason !== null && s.green_allowed === false);
    button.addEventListener("click", () => take(s));
    box.append(button);
  }
  banner();
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
    if (!response.ok) throw new Error(response.status === 429 ? w("busy") : answer.error?.message ?? response.statusText);
    window.__kiosk.issued.push(answer);
    $("number").textContent = answer.number;
    $("result-service").textContent = nameOf(service.names);
    $("ahead").textContent = answer.ahead ? w("ahead", { n: answer.ahead }) : w("no_wait");
    $("estimate").textContent = answer.estimated_wait_s ? w("wait", { m: Math.max(1, Math.round(answer.estimated_wait_s / 60)) }) : "";
    $("qr").src = `/api/v1/tickets/${answer.token}/qr.svg`;
    greenReason = null;
    show("result");
    banner();
  } catch (e) {
    $("banner").textContent = w("failed", { m: e.message });
    $("banner").hidden = false;
    setTimeout(banner, 5000);
  } finally {
    busy = false;
    loadServices();
  }
}

let live = null;

function main() {
  for (const b of document.querySelectorAll(".languages button")) b.addEventListener("click", () => setLanguage(b.dataset.lang));
  $("green").addEventListener("click", () => show("green-reasons"));
  for (const b of document.querySelectorAll("[data-reason]")) {
    b.addEventListener("click", () => { greenReason = b.dataset.reason; show("start"); draw(); });
  }
  for (const b of document.querySelectorAll(".back")) b.addEventListener("click", () => { greenReason = null; show("start"); draw(); });
  document.addEventListener("pointerdown", () => { const open = ["green-reasons", "result"].find((s) => !$(s).hidden); if (open) show(open); });
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
        offerLanguages(next.branch.languages);
        setLanguage(lang === "zh-CN" && next.branch.language ? next.branch.language : lang);
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
      banner();
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
