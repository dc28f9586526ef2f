// The administration page. /admin lists the branches the signed-in admin or manager may see;
// /admin/{branch} edits one branch: settings and opening hours, services, counters and their
// service profiles, staff, devices and their enrollment codes, the audit log, and the whole
// configuration as YAML (export, check, apply). A manager sees only what a manager may change
// (hours, holidays, counter profiles, devices) and the audit log; the server decides anyway.
//
// Every failed request shows the server's message beside the form or table that made it.
// Test hooks: window.__admin ({me, detail}).
import { ApiError, currentStaff, signInForm, signOut } from "/static/common/signin.js";
import { LANGUAGES, both, languageOf, nameOf, t } from "/static/common/i18n.js";

const API = "/api/v1/admin";
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const LANG_KEY = "branchq.admin.lang";
const CONFIRM_MS = 4000;

// key: [zh-CN, en, zh-TW]
const WORDS = {
  title: ["管理", "Administration", "管理"],
  dashboard: ["看板", "Dashboard", "看板"],
  signout: ["退出", "Sign out", "登出"],
  refused: ["此页面需要管理员或网点经理角色", "This page needs the admin or manager role", "此頁面需要管理員或分行經理角色"],
  branches: ["网点", "Branches", "分行"],
  search: ["搜索", "Search", "搜尋"],
  branch_new: ["新增网点", "New branch", "新增分行"],
  branch_id: ["网点代码", "Branch id", "分行代碼"],
  name: ["名称", "Name", "名稱"],
  name_zh_cn: ["名称（简体）", "Name (Simplified Chinese)", "名稱（簡體）"],
  name_en: ["名称（英文）", "Name (English)", "名稱（英文）"],
  name_zh_tw: ["名称（繁体）", "Name (Traditional Chinese)", "名稱（繁體）"],
  timezone: ["时区", "Time zone", "時區"],
  create: ["创建", "Create", "建立"],
  save: ["保存", "Save", "儲存"],
  cancel: ["取消", "Cancel", "取消"],
  edit: ["修改", "Edit", "修改"],
  remove: ["删除", "Remove", "刪除"],
  confirm_remove: ["确认删除？", "Really remove?", "確認刪除？"],
  saved: ["已保存", "Saved", "已儲存"],
  created: ["已创建", "Created", "已建立"],
  removed: ["已删除", "Removed", "已刪除"],
  nothing_changed: ["没有修改", "Nothing changed", "沒有修改"],
  refresh: ["刷新", "Refresh", "重新整理"],
  none: ["无", "none", "無"],
  yes: ["是", "yes", "是"],
  no: ["否", "no", "否"],

  settings: ["设置", "Settings", "設定"],
  language: ["默认语言", "Language", "預設語言"],
  languages: ["取号机语言", "Kiosk languages", "取號機語言"],
  grace: ["过号保留（秒）", "No-show grace (s)", "過號保留（秒）"],
  just_called: ["叫号后防连按（秒）", "Double-press guard after a call (s)", "叫號後防連按（秒）"],
  announcements: ["叫号播报", "Announcements", "叫號播報"],
  chime: ["叫号前提示音", "Chime before each call", "叫號前提示音"],
  repeat: ["每次播报遍数", "Times each call is spoken", "每次播報遍數"],
  spoken: ["播报语言：", "Spoken in:", "播報語言："],
  mandarin: ["普通话", "Mandarin", "普通話"],
  always_open: ["不限营业时间（随时可取号）", "No opening hours set (tickets at any time)", "不限營業時間（隨時可取號）"],
  hours: ["营业时间", "Opening hours", "營業時間"],
  hours_hint: ["每天一行，如 08:30-12:00, 13:00-17:00；留空为休息",
    "One line a day, e.g. 08:30-12:00, 13:00-17:00; empty means closed",
    "每天一行，如 08:30-12:00, 13:00-17:00；留空為休息"],
  holidays: ["节假日（每行一个日期 YYYY-MM-DD）", "Holidays (one date a line, YYYY-MM-DD)", "假期（每行一個日期 YYYY-MM-DD）"],
  closed: ["休息", "closed", "休息"],
  bad_hours: ["{day} 的时间无法识别：{text}", "{day}: cannot read the hours {text}", "{day} 的時間無法識別：{text}"],
  bad_date: ["日期无法识别：{text}", "Not a date: {text}", "日期無法識別：{text}"],
  min: ["{n} 分钟", "{n} min", "{n} 分鐘"],
  config_unchanged: ["配置与现有相同，没有修改", "Same as the current configuration: nothing changed", "設定與現有相同，沒有修改"],
  mon: ["周一", "Mon", "週一"], tue: ["周二", "Tue", "週二"], wed: ["周三", "Wed", "週三"],
  thu: ["周四", "Thu", "週四"], fri: ["周五", "Fri", "週五"], sat: ["周六", "Sat", "週六"], sun: ["周日", "Sun", "週日"],

  services: ["业务", "Services", "業務"],
  service_add: ["新增业务", "Add a service", "新增業務"],
  service_edit: ["修改业务 {code}", "Edit service {code}", "修改業務 {code}"],
  code: ["代码", "Code", "代碼"],
  target_wait: ["目标等候", "Target wait", "目標等候"],
  max_wait: ["最长等候", "Max wait", "最長等候"],
  target_service: ["目标办理", "Target service", "目標辦理"],
  target_wait_min: ["目标等候（分钟）", "Target wait (min)", "目標等候（分鐘）"],
  max_wait_min: ["最长等候（分钟）", "Max wait (min)", "最長等候（分鐘）"],
  target_service_min: ["目标办理（分钟）", "Target service time (min)", "目標辦理（分鐘）"],
  // Service standards (the breach rules): maximum service time, queue length, idle counter.
  max_service_min: ["最长办理（分钟）", "Max service time (min)", "最長辦理（分鐘）"],
  max_queue: ["最多排队人数", "Max queue length", "最多排隊人數"],
  max_idle_min: ["窗口最长空闲（分钟）", "Max idle counter while waiting (min)", "櫃檯最長空閒（分鐘）"],
  role_inspector: ["检查员", "inspector", "檢查員"],
  daily_cap: ["每日限号", "Daily cap", "每日限號"],
  staff_reserve: ["其中留给大堂（员工取号）", "Of it, kept for staff to issue", "其中留給大堂（員工取號）"],
  green_allowed: ["可走绿色通道", "Green channel allowed", "可走綠色通道"],
  waiting: ["等候", "Waiting", "等候"],
  own_hours: ["业务时间", "Own hours", "業務時間"],
  branch_hours: ["同网点", "branch's", "同分行"],

  counters: ["窗口", "Counters", "櫃檯"],
  counter_add: ["新增窗口", "Add a counter", "新增櫃檯"],
  counter_edit: ["修改 {n} 号窗口", "Edit counter {n}", "修改 {n} 號櫃檯"],
  number: ["编号", "Number", "編號"],
  profile: ["业务顺序（代码，逗号分隔）", "Services in order (codes, comma-separated)", "業務順序（代碼，逗號分隔）"],
  profile_col: ["业务顺序", "Profile", "業務順序"],
  mode: ["叫号方式", "Mode", "叫號方式"],
  mode_ordered: ["按顺序", "ordered", "按順序"],
  mode_longest_wait: ["等候最久优先", "longest wait", "等候最久優先"],
  green_only: ["绿色通道专窗", "Green channel only", "綠色通道專櫃"],
  green_ratio: ["绿色:普通 比例（如 1:2，空为优先）", "Green : normal ratio (e.g. 1:2; empty: green first)", "綠色:普通 比例（如 1:2，空為優先）"],
  ratio: ["比例", "Ratio", "比例"],
  state: ["状态", "State", "狀態"],
  state_open: ["营业中", "open", "營業中"],
  state_paused: ["暂停", "paused", "暫停"],
  state_closed: ["关闭", "closed", "關閉"],
  codes_hint: ["本网点业务：{codes}", "This branch's services: {codes}", "本分行業務：{codes}"],

  staff: ["员工", "Staff", "員工"],
  staff_add: ["新增员工", "Add a staff member", "新增員工"],
  staff_edit: ["修改员工 {name}", "Edit {name}", "修改員工 {name}"],
  username: ["用户名", "Username", "用戶名"],
  display_name: ["姓名", "Display name", "姓名"],
  password: ["密码", "Password", "密碼"],
  password_reset: ["重置密码", "Reset password", "重設密碼"],
  password_new: ["新密码", "New password", "新密碼"],
  password_done: ["{name} 的密码已重置", "Password of {name} reset", "{name} 的密碼已重設"],
  role: ["角色", "Role", "角色"],
  role_teller: ["柜员", "teller", "櫃員"],
  role_manager: ["网点经理", "manager", "分行經理"],
  role_admin: ["管理员", "admin", "管理員"],
  branch: ["所属网点", "Branch", "所屬分行"],
  more_branches: ["其他网点（逗号分隔）", "Further branches (comma-separated)", "其他分行（逗號分隔）"],
  staff_counters: ["可用窗口（逗号分隔，空为全部）", "Counters (comma-separated; empty: all)", "可用櫃檯（逗號分隔，空為全部）"],
  counters_col: ["窗口", "Counters", "櫃檯"],
  all: ["全部", "all", "全部"],
  active: ["启用", "Active", "啟用"],
  disable: ["停用", "Disable", "停用"],
  enable: ["启用", "Enable", "啟用"],

  devices: ["设备", "Devices", "裝置"],
  kind: ["类型", "Kind", "類型"],
  kind_kiosk: ["取号机", "kiosk", "取號機"],
  kind_display: ["显示屏", "display", "顯示屏"],
  kind_evaluator: ["评价器", "evaluator", "評價器"],
  device_name: ["设备名称", "Device name", "裝置名稱"],
  created_at: ["登记时间", "Enrolled", "登記時間"],
  last_seen: ["最近在线", "Last seen", "最近上線"],
  health: ["状况", "Health", "狀況"],
  revoked: ["已吊销", "revoked", "已撤銷"],
  in_use: ["使用中", "in use", "使用中"],
  revoke: ["吊销", "Revoke", "撤銷"],
  confirm_disable: ["确认停用？", "Really disable?", "確認停用？"],
  confirm_revoke: ["确认吊销？", "Really revoke?", "確認撤銷？"],
  never: ["从未", "never", "從未"],
  enroll: ["登记新设备", "Enroll a device", "登記新裝置"],
  enroll_counter: ["窗口（评价器、窗口屏）", "Counter (evaluator, counter-top screen)", "櫃檯（評價器、櫃檯屏）"],
  enroll_counter_needed: ["评价器需要填写窗口编号", "An evaluator needs its counter number", "評價器需要填寫櫃檯編號"],
  valid_min: ["有效期（分钟）", "Valid for (min)", "有效期（分鐘）"],
  enroll_get: ["生成登记码", "Get a code", "產生登記碼"],
  enroll_open: ["在设备上打开此网址：", "Open this address on the device:", "在裝置上開啟此網址："],
  enroll_code: ["登记码（一次有效）：", "One-time code:", "登記碼（一次有效）："],
  expires: ["有效至", "Valid until", "有效至"],

  audit: ["操作日志", "Audit log", "操作日誌"],
  at: ["时间", "When", "時間"],
  who: ["操作人", "Who", "操作人"],
  action: ["操作", "Action", "操作"],
  target: ["对象", "Target", "對象"],
  change: ["修改内容", "Change", "修改內容"],

  config: ["配置", "Configuration", "設定檔"],
  export: ["导出", "Export", "匯出"],
  config_load: ["载入当前配置", "Load the current one", "載入目前設定"],
  config_paste: ["粘贴 YAML 配置", "Paste a YAML configuration", "貼上 YAML 設定"],
  check: ["检查", "Check", "檢查"],
  apply: ["应用", "Apply", "套用"],
  config_empty: ["请先粘贴配置", "Paste a configuration first", "請先貼上設定"],
  config_ok: ["检查通过，{n} 处修改（尚未应用）", "Valid: {n} changes (not applied yet)", "檢查通過，{n} 處修改（尚未套用）"],
  config_applied: ["已应用 {n} 处修改", "Applied: {n} changes", "已套用 {n} 處修改"],
  config_problems: ["配置有问题，未应用：", "Problems, nothing applied:", "設定有問題，未套用："],
};

const params = new URLSearchParams(location.search);
const branch = location.pathname.split("/")[2] ? decodeURIComponent(location.pathname.split("/")[2]) : null;
const base = branch ? `${API}/branches/${encodeURIComponent(branch)}` : null;
const $ = (id) => document.getElementById(id);

let lang = languageOf(params.get("lang") ?? storedLanguage());
let me = null;
let detail = null; // GET /admin/branches/{b}
let staff = [];
let devices = [];
let audit = [];
let branchList = [];
const editing = { service: null, counter: null, staff: null, password: null };

function storedLanguage() {
  try { return localStorage.getItem(LANG_KEY); } catch { return null; }
}

function w(key, values = {}) {
  const entry = WORDS[key];
  if (!entry && key.includes(".")) return t(lang, key, values); // a block of the shared table (notify.*)
  const text = entry ? entry[LANGUAGES.indexOf(lang)] ?? entry[0] : key;
  return text.replace(/\{(\w+)\}/g, (whole, k) => (k in values ? String(values[k]) : whole));
}

const isAdmin = () => me?.role === "admin";

// --- small helpers ---------------------------------------------------------------------------

function applyWords() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = w(el.dataset.t);
  for (const el of document.querySelectorAll("[data-t-placeholder]")) el.placeholder = w(el.dataset.tPlaceholder);
  $("lang").value = lang;
  $("lang").setAttribute("aria-label", both(lang, "common.language"));
}

function fmtTime(iso) {
  if (!iso) return "—";
  const options = { dateStyle: "short", timeStyle: "medium" };
  try {
    return new Date(iso).toLocaleString(lang, { ...options, timeZone: detail?.timezone });
  } catch {
    return new Date(iso).toLocaleString(lang, options);
  }
}

const minutes = (s) => (s === null || s === undefined ? "—" : w("min", { n: +(s / 60).toFixed(1) }));
const list = (text) => String(text ?? "").split(/[\s,，、;；>→]+/).filter(Boolean);
/** JSON with the keys of every object sorted, so that equal values compare equal. */
function canon(value) {
  if (Array.isArray(value)) return value.map(canon);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canon(value[k])]));
  }
  return value ?? null;
}
const same = (a, b) => JSON.stringify(canon(a)) === JSON.stringify(canon(b));

function show(el, text) {
  el.textContent = text;
  el.hidden = !text;
}

/**
 * A request to the admin API: the answer's JSON (or text, for the YAML export). A refusal
 * throws ApiError with the server's message and, where the server lists them, `problems`
 * ([{path, message}], e.g. every problem of a configuration).
 */
async function api(method, url, body, { yaml = null } = {}) {
  const options = { method, credentials: "same-origin", headers: {} };
  if (yaml !== null) {
    options.headers["Content-Type"] = "text/yaml";
    options.body = yaml;
  } else if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch {
    throw new ApiError(0, "offline", "the server cannot be reached");
  }
  const text = await response.text();
  const isJson = (response.headers.get("Content-Type") ?? "").includes("json");
  let data = text;
  if (isJson) {
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  }
  if (!response.ok) {
    const error = (isJson && data?.error) || {};
    const failure = new ApiError(response.status, error.code ?? `http_${response.status}`,
      error.message ?? response.statusText);
    failure.problems = error.problems ?? [];
    throw failure;
  }
  return data;
}

/** Languages ticked in `boxes`, in the order they had (`previous`), else `first` first. */
function orderedChoice(boxes, previous = [], first = null) {
  const chosen = [...boxes].filter((b) => b.checked).map((b) => b.value);
  if (same([...chosen].sort(), [...previous].sort())) return previous;
  return [...new Set([first, ...chosen].filter((l) => chosen.includes(l)))];
}

/** The form's (or section's) own error and done lines. */
function notes(container) {
  return {
    error: container.querySelector(":scope > .error"),
    done: container.querySelector(":scope > .done"),
  };
}

/** Run a request for `container`, showing the server's message on failure and `doneText` after. */
async function attempt(container, action, doneText = null) {
  const { error, done } = notes(container);
  show(error, "");
  if (done) show(done, "");
  const buttons = [...container.querySelectorAll("button")];
  for (const b of buttons) b.disabled = true;
  try {
    const result = (await action()) ?? true; // a 204 or null answer is a success too
    if (done && doneText) show(done, typeof doneText === "function" ? doneText(result) : doneText);
    return result;
  } catch (e) {
    // The message names the first problem; when there are more, each is listed under it.
    const more = !e.listed && e.problems?.length > 1 ? e.problems.map((p) => `${p.path}: ${p.message}`) : [];
    show(error, [e.message || String(e), ...more].join("\n"));
    return undefined;
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

/** A table: `columns` are word keys, each row {cells, data, actions:[{key, act, confirm}]}. */
function table(el, columns, rows) {
  el.innerHTML = "";
  const head = el.createTHead().insertRow();
  for (const key of columns) {
    const th = document.createElement("th");
    th.textContent = key ? w(key) : "";
    head.append(th);
  }
  const body = el.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    Object.assign(tr.dataset, row.data ?? {});
    if (row.className) tr.className = row.className;
    for (const cell of row.cells) {
      const td = tr.insertCell();
      if (cell instanceof Node) td.append(cell);
      else td.textContent = cell ?? "—";
    }
    if (row.actions) {
      const td = tr.insertCell();
      td.className = "row-actions";
      for (const action of row.actions) td.append(actionButton(action));
    }
  }
}

/** A name shown as written in its own language (marked so, as its script may not be the page's). */
function inLanguage(text, language) {
  const span = document.createElement("span");
  span.lang = language;
  span.textContent = text ?? "—";
  return span;
}

/** A row's button; a `confirm` key asks for a second click before acting (no modal dialogs). */
function actionButton({ key, act, confirm = null }) {
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.action = key;
  button.textContent = w(key);
  button.addEventListener("click", () => {
    if (confirm && button.dataset.armed !== "1") {
      button.dataset.armed = "1";
      button.textContent = w(confirm);
      setTimeout(() => { button.dataset.armed = ""; button.textContent = w(key); }, CONFIRM_MS);
      return;
    }
    act(button);
  });
  return button;
}

function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  return a;
}

/** The names typed in a form's three name fields; the empty ones left out. */
function namesFrom(form) {
  const names = { "zh-CN": form.name_zh_cn.value.trim(), en: form.name_en.value.trim(), "zh-TW": form.name_zh_tw.value.trim() };
  return Object.fromEntries(Object.entries(names).filter(([, name]) => name));
}

const nonEmpty = (names) => Object.fromEntries(Object.entries(names ?? {}).filter(([, name]) => name));

function fillNames(form, names) {
  form.name_zh_cn.value = names?.["zh-CN"] ?? "";
  form.name_en.value = names?.en ?? "";
  form.name_zh_tw.value = names?.["zh-TW"] ?? "";
}

/** The fields of `wanted` that differ from `current`. */
function changed(wanted, current) {
  return Object.fromEntries(Object.entries(wanted).filter(([k, v]) => !same(v, current[k])));
}

function numberOrNull(input, scale = 1) {
  const text = input.value.trim();
  return text === "" ? null : Math.round(Number(text) * scale);
}

function refuse() {
  show($("refusal"), w("refused"));
  $("branches-view").hidden = true;
  $("branch-view").hidden = true;
}

// --- the branch list (/admin) ----------------------------------------------------------------

async function loadBranches() {
  const q = $("branch-q").value.trim();
  const section = $("branches");
  const found = await attempt(section, () => api("GET", `${API}/branches${q ? `?q=${encodeURIComponent(q)}` : ""}`));
  if (found) branchList = found;
  drawBranches();
}

function drawBranches() {
  table($("branch-list"), ["branch_id", "name", "timezone", "services", "counters", "staff", "devices"],
    branchList.map((b) => ({
      data: { branch: b.id },
      cells: [link(`/admin/${encodeURIComponent(b.id)}`, b.id), nameOf(b.names, lang), b.timezone,
        b.services, b.counters, b.staff, b.devices],
    })));
}

async function createBranch(event) {
  event.preventDefault();
  const form = event.target;
  const body = { id: form.branch_id.value.trim(), names: namesFrom(form), timezone: form.timezone.value.trim() };
  const made = await attempt(form, () => api("POST", `${API}/branches`, body), w("created"));
  if (made) {
    form.reset();
    await loadBranches();
  }
}

// --- settings and opening hours --------------------------------------------------------------

function drawSettings() {
  const form = $("settings-form");
  fillNames(form, detail.names);
  form.timezone.value = detail.timezone ?? "";
  form.language.value = detail.language ?? "zh-CN";
  for (const box of form.querySelectorAll("[name=languages]")) box.checked = (detail.languages ?? []).includes(box.value);
  form.no_show_grace_s.value = detail.no_show_grace_s ?? "";
  form.just_called_s.value = detail.just_called_s ?? "";
  const announcements = detail.announcements ?? {};
  form.chime.checked = announcements.chime !== false;
  form.repeat.value = String(announcements.repeat ?? 1);
  for (const box of form.querySelectorAll("[name=spoken]")) box.checked = (announcements.languages ?? []).includes(box.value);
  form.holidays.value = (detail.holidays ?? []).join("\n");
  const hours = $("hours");
  hours.innerHTML = "";
  for (const day of DAYS) {
    const tr = hours.insertRow();
    const label = tr.insertCell();
    label.dataset.t = day;
    label.textContent = w(day);
    const input = document.createElement("input");
    input.name = `hours_${day}`;
    input.setAttribute("aria-label", `${w("hours")} ${w(day)}`);
    input.dataset.tPlaceholder = "closed";
    input.placeholder = w("closed");
    input.value = (detail.hours?.[day] ?? []).map((range) => range.join("-")).join(", ");
    tr.insertCell().append(input);
  }
  form.always_open.checked = !Object.keys(detail.hours ?? {}).length;
  alwaysOpen();
}

/** No hours at all means open at any time; a weekday left empty otherwise means closed. */
function alwaysOpen() {
  const form = $("settings-form");
  for (const day of DAYS) form[`hours_${day}`].disabled = form.always_open.checked;
}

function parseHours(form) {
  if (form.always_open.checked) return {};
  const hours = {};
  for (const day of DAYS) {
    const text = form[`hours_${day}`].value.trim();
    hours[day] = list(text.replace(/\s*[-–~至到]\s*/g, "-")).map((range) => {
      const m = range.match(/^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/);
      if (!m) throw new Error(w("bad_hours", { day: w(day), text: range }));
      const hhmm = (h, mm) => `${h.padStart(2, "0")}:${mm}`;
      return [hhmm(m[1], m[2]), hhmm(m[3], m[4])];
    });
  }
  return hours;
}

function parseHolidays(text) {
  const dates = list(text);
  for (const d of dates) if (!/^\d{4}-\d{2}-\d{2}$/.test(d)) throw new Error(w("bad_date", { text: d }));
  return [...new Set(dates)].sort();
}

function settingsWanted(form) {
  const hoursSet = Object.keys(detail.hours ?? {}).length > 0;
  const current = {
    ...detail,
    names: nonEmpty(detail.names),
    hours: hoursSet ? Object.fromEntries(DAYS.map((d) => [d, detail.hours[d] ?? []])) : {},
    holidays: [...(detail.holidays ?? [])].sort(),
  };
  const wanted = { hours: parseHours(form), holidays: parseHolidays(form.holidays.value) };
  if (isAdmin()) {
    const announcements = {
      ...detail.announcements,
      chime: form.chime.checked,
      repeat: Number(form.repeat.value),
      languages: orderedChoice(form.querySelectorAll("[name=spoken]"), detail.announcements?.languages, form.language.value),
    };
    const languages = orderedChoice(form.querySelectorAll("[name=languages]"), detail.languages, form.language.value);
    Object.assign(wanted, {
      names: namesFrom(form), timezone: form.timezone.value.trim(), language: form.language.value,
      languages, no_show_grace_s: numberOrNull(form.no_show_grace_s),
      just_called_s: numberOrNull(form.just_called_s), announcements,
    });
  }
  return changed(wanted, current);
}

async function saveSettings(event) {
  event.preventDefault();
  const form = event.target;
  await attempt(form, async () => {
    const body = settingsWanted(form);
    if (!Object.keys(body).length) return { nothing: true };
    await api("PATCH", base, body);
    await refreshBranch({ settings: true });
    return {};
  }, (result) => (result.nothing ? w("nothing_changed") : w("saved")));
}

// --- services --------------------------------------------------------------------------------

function drawServices() {
  table($("service-table"), ["code", "name_zh_cn", "name_en", "name_zh_tw", "target_wait", "max_wait",
    "target_service", "daily_cap", "green_allowed", "own_hours", "waiting", ""],
  detail.services.map((s) => ({
    data: { code: s.code },
    cells: [s.code, inLanguage(s.names?.["zh-CN"], "zh-CN"), inLanguage(s.names?.en, "en"),
      inLanguage(s.names?.["zh-TW"], "zh-TW"), minutes(s.target_wait_s),
      minutes(s.max_wait_s), minutes(s.target_service_s),
      s.daily_cap == null ? w("none") : (s.staff_reserve ? `${s.daily_cap} (${s.staff_reserve})` : s.daily_cap),
      w(s.green_allowed ? "yes" : "no"), s.hours ? JSON.stringify(s.hours) : w("branch_hours"), s.waiting],
    actions: [
      { key: "edit", act: () => editService(s) },
      { key: "remove", confirm: "confirm_remove", act: () => removeService(s.code) },
    ],
  })));
}

function setFormMode(form, { editing: on, legend }) {
  form.querySelector(".legend").textContent = legend;
  form.querySelector("[type=submit]").textContent = w(on ? "save" : "create");
  form.querySelector(".cancel").hidden = !on;
  for (const el of form.querySelectorAll(".create-only")) {
    el.hidden = on;
    for (const input of el.querySelectorAll("input")) input.required = !on;
  }
  const { error, done } = notes(form);
  show(error, "");
  show(done, "");
}

function editService(s) {
  const form = $("service-form");
  editing.service = s.code;
  form.code.value = s.code;
  form.code.readOnly = true;
  fillNames(form, s.names);
  form.target_wait_min.value = s.target_wait_s == null ? "" : s.target_wait_s / 60;
  form.max_wait_min.value = s.max_wait_s == null ? "" : s.max_wait_s / 60;
  form.target_service_min.value = s.target_service_s == null ? "" : s.target_service_s / 60;
  form.max_service_min.value = s.max_service_s == null ? "" : s.max_service_s / 60;
  form.max_queue.value = s.max_queue ?? "";
  form.max_idle_min.value = s.max_idle_s == null ? "" : s.max_idle_s / 60;
  form.daily_cap.value = s.daily_cap ?? "";
  form.staff_reserve.value = s.staff_reserve || "";
  form.green_allowed.checked = s.green_allowed !== false;
  setFormMode(form, { editing: true, legend: w("service_edit", { code: s.code }) });
  form.scrollIntoView({ block: "nearest" });
}

function resetServiceForm() {
  const form = $("service-form");
  editing.service = null;
  form.reset();
  form.code.readOnly = false;
  setFormMode(form, { editing: false, legend: w("service_add") });
}

function serviceFields(form) {
  const fields = {
    names: namesFrom(form),
    target_wait_s: numberOrNull(form.target_wait_min, 60),
    max_wait_s: numberOrNull(form.max_wait_min, 60),
    target_service_s: numberOrNull(form.target_service_min, 60),
    max_service_s: numberOrNull(form.max_service_min, 60),
    max_queue: numberOrNull(form.max_queue),
    max_idle_s: numberOrNull(form.max_idle_min, 60),
    daily_cap: numberOrNull(form.daily_cap),
    staff_reserve: numberOrNull(form.staff_reserve) ?? 0,
    green_allowed: form.green_allowed.checked,
  };
  // Target times cannot be cleared, only changed; leaving them empty keeps the default.
  if (fields.target_wait_s === null) delete fields.target_wait_s;
  if (fields.target_service_s === null) delete fields.target_service_s;
  return fields;
}

async function saveService(event) {
  event.preventDefault();
  const form = event.target;
  const fields = serviceFields(form);
  const code = editing.service;
  const ok = await attempt(form, async () => {
    if (code) {
      const current = detail.services.find((s) => s.code === code) ?? {};
      const body = changed(fields, { ...current, names: nonEmpty(current.names) });
      if (!Object.keys(body).length) return { nothing: true };
      await api("PATCH", `${base}/services/${encodeURIComponent(code)}`, body);
    } else {
      const body = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null));
      await api("POST", `${base}/services`, { code: form.code.value.trim().toUpperCase(), ...body });
    }
    return {};
  }, (result) => (result.nothing ? w("nothing_changed") : w(code ? "saved" : "created")));
  if (ok && !ok.nothing) {
    resetServiceForm();
    show(notes(form).done, w(code ? "saved" : "created"));
    await refreshBranch();
  }
}

async function removeService(code) {
  const done = await attempt($("services"), () => api("DELETE", `${base}/services/${encodeURIComponent(code)}`));
  if (done) await refreshBranch();
}

// --- counters --------------------------------------------------------------------------------

function drawCounters() {
  const modeWord = (m) => w(`mode_${m}`);
  table($("counter-table"), ["number", "name", "profile_col", "mode", "green_only", "ratio", "state", ""],
    detail.counters.map((c) => ({
      data: { number: String(c.number) },
      cells: [c.number, nameOf(c.names, lang), (c.services ?? []).join(" → "), modeWord(c.mode),
        w(c.green_only ? "yes" : "no"), c.green_ratio ?? "—", c.state ? w(`state_${c.state}`) : "—"],
      actions: [
        { key: "edit", act: () => editCounter(c) },
        ...(isAdmin() ? [{ key: "remove", confirm: "confirm_remove", act: () => removeCounter(c.number) }] : []),
      ],
    })));
  $("service-codes").textContent = w("codes_hint", {
    codes: detail.services.map((s) => `${s.code} ${nameOf(s.names, lang)}`).join("，"),
  });
}

function editCounter(c) {
  const form = $("counter-form");
  editing.counter = c.number;
  form.hidden = false;
  form.number.value = c.number;
  form.number.readOnly = true;
  fillNames(form, c.names);
  form.services.value = (c.services ?? []).join(", ");
  form.mode.value = c.mode ?? "ordered";
  form.green_only.checked = !!c.green_only;
  form.green_ratio.value = c.green_ratio ?? "";
  setFormMode(form, { editing: true, legend: w("counter_edit", { n: c.number }) });
  form.scrollIntoView({ block: "nearest" });
}

function resetCounterForm() {
  const form = $("counter-form");
  editing.counter = null;
  form.reset();
  form.number.readOnly = false;
  form.hidden = !isAdmin(); // a manager edits profiles but adds no counters
  setFormMode(form, { editing: false, legend: w("counter_add") });
}

function counterFields(form) {
  const ratio = form.green_ratio.value.replace(/\s+/g, "");
  const fields = {
    services: list(form.services.value).map((code) => code.toUpperCase()),
    mode: form.mode.value,
    green_only: form.green_only.checked,
    green_ratio: ratio || null,
  };
  if (isAdmin()) fields.names = namesFrom(form);
  return fields;
}

async function saveCounter(event) {
  event.preventDefault();
  const form = event.target;
  const fields = counterFields(form);
  const number = editing.counter;
  const ok = await attempt(form, async () => {
    if (number !== null) {
      const current = detail.counters.find((c) => c.number === number) ?? {};
      const body = changed(fields, { ...current, names: nonEmpty(current.names) });
      if (!Object.keys(body).length) return { nothing: true };
      await api("PATCH", `${base}/counters/${number}`, body);
    } else {
      const body = { number: Number(form.number.value), ...fields };
      if (!Object.keys(body.names ?? {}).length) delete body.names;
      if (body.green_ratio === null) delete body.green_ratio;
      await api("POST", `${base}/counters`, body);
    }
    return {};
  }, (result) => (result.nothing ? w("nothing_changed") : w(number !== null ? "saved" : "created")));
  if (ok && !ok.nothing) {
    if (isAdmin()) { // back to "add"; a manager, who adds none, stays on the counter just saved
      resetCounterForm();
      show(notes(form).done, w(number !== null ? "saved" : "created"));
    }
    await refreshBranch();
  }
}

async function removeCounter(number) {
  const done = await attempt($("counters"), () => api("DELETE", `${base}/counters/${number}`));
  if (done) await refreshBranch();
}

// --- staff -----------------------------------------------------------------------------------

async function loadStaff() {
  const found = await attempt($("staff"), () => api("GET", `${API}/staff?branch=${encodeURIComponent(branch)}`));
  if (found) staff = found;
  drawStaff();
}

function drawStaff() {
  table($("staff-table"), ["username", "display_name", "role", "branch", "counters_col", "active", ""],
    staff.map((s) => ({
      data: { username: s.username },
      className: s.active ? "" : "inactive",
      cells: [s.username, s.display_name ?? "", w(`role_${s.role}`),
        [s.branch, ...(s.branches ?? []).filter((b) => b !== s.branch)].filter(Boolean).join(", ") || "—",
        (s.counters ?? []).length ? s.counters.join(", ") : w("all"), w(s.active ? "yes" : "no")],
      actions: [
        { key: "edit", act: () => editStaff(s) },
        { key: "password_reset", act: () => askPassword(s) },
        s.active
          ? { key: "disable", confirm: "confirm_disable", act: () => setActive(s, false) }
          : { key: "enable", act: () => setActive(s, true) },
      ],
    })));
}

function editStaff(s) {
  const form = $("staff-form");
  editing.staff = s.id;
  form.username.value = s.username;
  form.username.readOnly = true;
  form.display_name.value = s.display_name ?? "";
  form.role.value = s.role;
  form.branch.value = s.branch ?? "";
  form.branches.value = (s.branches ?? []).join(", ");
  form.counters.value = (s.counters ?? []).join(", ");
  setFormMode(form, { editing: true, legend: w("staff_edit", { name: s.username }) });
  form.scrollIntoView({ block: "nearest" });
}

function resetStaffForm() {
  const form = $("staff-form");
  editing.staff = null;
  form.reset();
  form.username.readOnly = false;
  form.branch.value = branch;
  setFormMode(form, { editing: false, legend: w("staff_add") });
}

function staffFields(form) {
  return {
    display_name: form.display_name.value.trim(),
    role: form.role.value,
    branch: form.branch.value.trim() || null,
    branches: list(form.branches.value),
    counters: list(form.counters.value).map(Number),
  };
}

async function saveStaff(event) {
  event.preventDefault();
  const form = event.target;
  const fields = staffFields(form);
  const id = editing.staff;
  const ok = await attempt(form, async () => {
    if (id !== null) {
      const current = staff.find((s) => s.id === id) ?? {};
      const body = changed(fields, { ...current, display_name: current.display_name ?? "" });
      if (!Object.keys(body).length) return { nothing: true };
      await api("PATCH", `${API}/staff/${id}`, body);
    } else {
      const body = { username: form.username.value.trim(), password: form.password.value, ...fields };
      if (!body.display_name) delete body.display_name;
      await api("POST", `${API}/staff`, body);
    }
    return {};
  }, (result) => (result.nothing ? w("nothing_changed") : w(id !== null ? "saved" : "created")));
  if (ok && !ok.nothing) {
    resetStaffForm();
    show(notes(form).done, w(id !== null ? "saved" : "created"));
    await Promise.all([loadStaff(), loadAudit()]);
  }
}

async function setActive(s, active) {
  const done = await attempt($("staff"), () => api("PATCH", `${API}/staff/${s.id}`, { active }));
  if (done) await Promise.all([loadStaff(), loadAudit()]);
}

function askPassword(s) {
  const form = $("password-form");
  editing.password = s;
  form.reset();
  form.querySelector(".who").textContent = s.username;
  show(notes(form).error, "");
  show($("password-done"), "");
  form.hidden = false;
  form.password.focus();
}

async function resetPassword(event) {
  event.preventDefault();
  const form = event.target;
  const s = editing.password;
  const done = await attempt(form, () => api("POST", `${API}/staff/${s.id}/password`, { password: form.password.value }));
  if (done) {
    form.hidden = true;
    show($("password-done"), w("password_done", { name: s.username }));
    await loadAudit();
  }
}

// --- devices ---------------------------------------------------------------------------------

async function loadDevices() {
  const found = await attempt($("devices"), () => api("GET", `${base}/devices`));
  if (found) devices = found;
  drawDevices();
}

function health(status) {
  const parts = Object.entries(status ?? {}).map(([key, value]) => (value && typeof value === "object"
    ? `${key}: ${Object.entries(value).map(([k, v]) => `${k}=${v}`).join(" ")}`
    : `${key}=${value}`));
  return parts.join("; ") || "—";
}

function drawDevices() {
  table($("device-table"), ["device_name", "kind", "created_at", "last_seen", "health", "state", ""],
    devices.map((d) => ({
      data: { device: String(d.id), kind: d.kind },
      className: d.revoked ? "inactive" : "",
      cells: [d.name, w(`kind_${d.kind}`), fmtTime(d.created_at), d.last_seen_at ? fmtTime(d.last_seen_at) : w("never"),
        health(d.status), w(d.revoked ? "revoked" : "in_use")],
      actions: d.revoked ? [] : [{ key: "revoke", confirm: "confirm_revoke", act: () => revokeDevice(d) }],
    })));
}

function devicePageUrl(kind, code, counter) {
  const b = encodeURIComponent(branch);
  const path = {
    kiosk: `/kiosk/${b}`,
    display: counter ? `/display/${b}/counter/${counter}` : `/display/${b}`,
    evaluator: `/evaluator/${b}/${counter}`,
  }[kind];
  return `${location.origin}${path}?code=${encodeURIComponent(code)}`;
}

async function enrollDevice(event) {
  event.preventDefault();
  const form = event.target;
  const kind = form.kind.value;
  const counter = form.counter.value.trim();
  $("enroll-result").hidden = true;
  const made = await attempt(form, async () => {
    if (kind === "evaluator" && !counter) throw new Error(w("enroll_counter_needed"));
    const body = { kind, name: form.name.value.trim() };
    if (kind === "evaluator") body.counter = Number(counter);
    const validMin = numberOrNull(form.valid_min);
    if (validMin) body.valid_s = validMin * 60;
    return api("POST", `${base}/enrollments`, body);
  });
  if (!made) return;
  const url = devicePageUrl(made.kind ?? kind, made.code, counter);
  $("enroll-code").textContent = made.code;
  $("enroll-url").textContent = url;
  $("enroll-url").href = url;
  $("enroll-expires").textContent = fmtTime(made.expires_at);
  $("enroll-result").hidden = false;
  form.name.value = "";
  await loadAudit();
}

async function revokeDevice(d) {
  const done = await attempt($("devices"), () => api("POST", `${base}/devices/${d.id}/revoke`));
  if (done) await Promise.all([loadDevices(), loadAudit()]);
}

// --- audit log -------------------------------------------------------------------------------

async function loadAudit() {
  const found = await attempt($("audit"), () => api("GET", `${base}/audit?limit=100`));
  if (found) audit = found;
  drawAudit();
}

const brief = (value) => (value === undefined || value === null ? "—" : typeof value === "object" ? JSON.stringify(value) : String(value));

/** before → after, field by field where both are objects. */
function changeText(before, after) {
  if (before && after && typeof before === "object" && typeof after === "object") {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.filter((k) => !same(before[k], after[k]))
      .map((k) => `${k}: ${brief(before[k])} → ${brief(after[k])}`).join("; ") || "—";
  }
  return `${brief(before)} → ${brief(after)}`;
}

function drawAudit() {
  table($("audit-table"), ["at", "who", "action", "target", "change"],
    audit.map((a) => ({
      data: { action: a.action },
      // The change is the data as stored (names in every language), not words of the page.
      cells: [fmtTime(a.at), a.staff ?? "—", a.action, a.target, inLanguage(changeText(a.before, a.after), "zxx")],
    })));
}

// --- notifications: delivery counts and dead letters (admin only) ------------------------------

let outbox = null; // GET /admin/notifications

async function loadNotifications() {
  const state = $("notify-state").value;
  const found = await attempt($("notifications"), () => api("GET", `${API}/notifications${state ? `?state=${state}` : ""}`));
  if (found) outbox = found;
  drawNotifications();
}

function drawNotifications() {
  if (!outbox) return;
  const on = Object.entries(outbox.channels).filter(([, yes]) => yes).map(([c]) => w(`notify.channel_${c}`));
  $("notify-channels").textContent = on.length ? w("notify.channels", { list: on.join(", ") }) : w("notify.channel_none");
  const pct = (rate) => (rate === null ? "—" : `${(rate * 100).toFixed(1)}%`);
  table($("notify-counts"), ["notify.kind", "notify.channel", "notify.sent", "notify.pending", "notify.dead", "notify.rate"],
    outbox.counts.map((c) => ({
      data: { kind: c.kind, channel: c.channel },
      cells: [w(`notify.kind_${c.kind}`), w(`notify.channel_${c.channel}`), c.sent, c.pending, c.dead, pct(c.rate)],
    })));
  const rows = outbox.messages.map((m) => ({
    data: { id: String(m.id), state: m.state },
    cells: [fmtTime(m.created_at), w(`notify.kind_${m.kind}`), w(`notify.channel_${m.channel}`), m.recipient ?? "—",
      w(`notify.state_${m.state}`), m.attempts,
      // The error is the mail server's or gateway's own words.
      inLanguage(m.undeliverable ?? m.last_error ?? "—", "zxx")],
    actions: m.state === "sent" ? [] : [{ key: "notify.retry", act: () => retryNotification(m) }],
  }));
  table($("notify-list"), ["notify.created", "notify.kind", "notify.channel", "notify.recipient", "notify.state",
    "notify.attempts", "notify.error", ""], rows.length ? rows : [{ cells: [w("notify.none")] }]);
}

async function retryNotification(m) {
  const done = await attempt($("notifications"), () => api("POST", `${API}/notifications/${m.id}/retry`));
  if (!done) return;
  await loadNotifications();
  show(notes($("notifications")).done, w("notify.retried")); // after the reload, which clears it
}

// --- configuration as YAML -------------------------------------------------------------------

const configUrl = (dryRun = false) => `${base}/config${dryRun ? "?dry_run=1" : ""}`;

async function exportConfig() {
  const form = $("config-form");
  const yaml = await attempt(form, () => api("GET", configUrl()));
  if (yaml === undefined) return;
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([yaml], { type: "text/yaml" }));
  a.download = `${branch}.yaml`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

async function loadConfig() {
  const yaml = await attempt($("config-form"), () => api("GET", configUrl()));
  if (yaml !== undefined) $("config-text").value = yaml;
}

function drawList(el, items) {
  el.innerHTML = "";
  for (const item of items) {
    const li = document.createElement("li");
    if (typeof item === "string") li.textContent = item;
    else {
      const path = document.createElement("code");
      path.textContent = item.path ?? "";
      li.append(path, ` ${item.message ?? ""}`);
    }
    el.append(li);
  }
}

async function putConfig(apply) {
  const form = $("config-form");
  const yaml = $("config-text").value;
  drawList($("config-problems"), []);
  drawList($("config-changes"), []);
  const result = await attempt(form, async () => {
    if (!yaml.trim()) throw new Error(w("config_empty"));
    try {
      return await api("PUT", configUrl(!apply), undefined, { yaml });
    } catch (e) {
      if (e.problems?.length) {
        drawList($("config-problems"), e.problems);
        e.message = `${w("config_problems")} ${e.message}`;
        e.listed = true;
      }
      throw e;
    }
  }, (r) => {
    const n = r.changes?.length ?? 0;
    if (!n) return w("config_unchanged");
    return w(r.applied ? "config_applied" : "config_ok", { n });
  });
  if (!result) return;
  drawList($("config-changes"), result.changes ?? []);
  if (result.applied) await refreshBranch({ settings: true });
}

// --- the branch page -------------------------------------------------------------------------

/** Load the branch again and redraw its tables; the settings form only when asked, so that
 * adding a service does not throw away hours being typed in. */
async function refreshBranch({ settings = false } = {}) {
  try {
    detail = await api("GET", base);
  } catch (e) {
    show($("load-error"), e.message);
    return;
  }
  show($("load-error"), "");
  window.__admin.detail = detail;
  if (settings) drawSettings();
  drawBranch();
  await loadAudit();
}

function drawBranch() {
  if (!detail) return;
  $("branch-name").textContent = `· ${nameOf(detail.names, lang)} (${detail.id})`;
  document.title = `${w("title")} · ${nameOf(detail.names, lang)} · branchq`;
  drawCounters();
  if (isAdmin()) drawServices();
}

/** The add/edit forms' headings in the current language, keeping what is typed. */
function relabelForms() {
  const mode = (form, key, values) => {
    form.querySelector(".legend").textContent = w(key, values);
    form.querySelector("[type=submit]").textContent = w(values ? "save" : "create");
  };
  if (editing.service) mode($("service-form"), "service_edit", { code: editing.service });
  else mode($("service-form"), "service_add");
  if (editing.counter !== null) mode($("counter-form"), "counter_edit", { n: editing.counter });
  else mode($("counter-form"), "counter_add");
  const s = staff.find((x) => x.id === editing.staff);
  if (s) mode($("staff-form"), "staff_edit", { name: s.username });
  else mode($("staff-form"), "staff_add");
}

function redraw() {
  applyWords();
  if (me) $("me").textContent = `${me.display_name || me.username} · ${w(`role_${me.role}`)}`;
  if (branch) {
    drawBranch();
    relabelForms();
    if (isAdmin()) drawStaff();
    drawDevices();
    drawAudit();
  } else {
    drawBranches();
    drawNotifications();
  }
}

function wire() {
  $("lang").addEventListener("change", () => {
    lang = languageOf($("lang").value);
    try { localStorage.setItem(LANG_KEY, lang); } catch { /* storage disabled: this page only */ }
    redraw();
  });
  $("signout").addEventListener("click", async () => { await signOut(); location.reload(); });
  $("branch-search").addEventListener("submit", (e) => { e.preventDefault(); loadBranches(); });
  let searchTimer = null;
  $("branch-q").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(loadBranches, 250); });
  $("branch-form").addEventListener("submit", createBranch);
  $("settings-form").addEventListener("submit", saveSettings);
  $("always-open").addEventListener("change", alwaysOpen);
  $("service-form").addEventListener("submit", saveService);
  $("service-form").querySelector(".cancel").addEventListener("click", resetServiceForm);
  $("counter-form").addEventListener("submit", saveCounter);
  $("counter-form").querySelector(".cancel").addEventListener("click", resetCounterForm);
  $("staff-form").addEventListener("submit", saveStaff);
  $("staff-form").querySelector(".cancel").addEventListener("click", resetStaffForm);
  $("password-form").addEventListener("submit", resetPassword);
  $("password-form").querySelector(".cancel").addEventListener("click", () => { $("password-form").hidden = true; });
  $("enroll-form").addEventListener("submit", enrollDevice);
  $("audit-refresh").addEventListener("click", loadAudit);
  $("notify-refresh").addEventListener("click", loadNotifications);
  $("notify-state").addEventListener("change", loadNotifications);
  $("config-export").addEventListener("click", exportConfig);
  $("config-load").addEventListener("click", loadConfig);
  $("config-check").addEventListener("click", () => putConfig(false));
  $("config-apply").addEventListener("click", () => putConfig(true));
}

async function main() {
  window.__admin = { me: null, detail: null };
  applyWords();
  me = await currentStaff().catch((e) => { show($("load-error"), e.message); return undefined; });
  if (me === undefined) return;
  if (!me) {
    await signInForm($("app"), { title: `branchq · ${w("title")}` });
    location.reload();
    return;
  }
  window.__admin.me = me;
  $("signout").hidden = false;
  $("me").textContent = `${me.display_name || me.username} · ${w(`role_${me.role}`)}`;
  if (me.role !== "admin" && me.role !== "manager") {
    refuse();
    return;
  }
  for (const el of document.querySelectorAll("[data-admin-only]")) el.hidden = !isAdmin();
  wire();
  if (!branch) {
    $("branches-view").hidden = false;
    await Promise.all([loadBranches(), isAdmin() ? loadNotifications() : null]);
    return;
  }
  $("to-dashboard").href = `/manage/${encodeURIComponent(branch)}`;
  $("to-dashboard").hidden = false;
  $("branch-view").hidden = false;
  resetCounterForm();
  resetServiceForm();
  resetStaffForm();
  await Promise.all([refreshBranch({ settings: true }), loadDevices(), isAdmin() ? loadStaff() : null]);
  if (!detail) $("branch-view").hidden = true; // the reason is in #load-error
}

main();
