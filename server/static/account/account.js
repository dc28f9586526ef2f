// "My sessions": every browser where this staff member is signed in, and ending them.
// Reads /api/v1/auth/sessions (only one's own); a session ended here stops working at once,
// its open pages and sockets included, on every server process.
import { api, currentStaff, signOut, ApiError } from "/static/common/signin.js";

const WORDS = {
  "zh-CN": {
    title: "我的登录", signout: "退出", endOthers: "结束其他所有登录", end: "结束",
    explain: "以下是您当前已登录的浏览器。不认识的登录请立即结束，并修改密码。",
    who: "{name}（{role}）", current: "本机", started: "登录时间", seen: "最近使用", expires: "到期",
    address: "地址", browser: "浏览器", none: "没有其他登录。", ended: "已结束 {count} 个登录。",
    signin: "请先登录。", failed: "操作失败：{message}",
  },
  en: {
    title: "My sessions", signout: "Sign out", endOthers: "End all other sessions", end: "End",
    explain: "These are the browsers where you are signed in. End any you do not recognise, then change your password.",
    who: "{name} ({role})", current: "This browser", started: "Signed in", seen: "Last used", expires: "Expires",
    address: "Address", browser: "Browser", none: "No other sessions.", ended: "Ended {count} session(s).",
    signin: "Please sign in first.", failed: "Failed: {message}",
  },
  "zh-TW": {
    title: "我的登入", signout: "登出", endOthers: "結束其他所有登入", end: "結束",
    explain: "以下是您目前已登入的瀏覽器。不認得的登入請立即結束，並變更密碼。",
    who: "{name}（{role}）", current: "本機", started: "登入時間", seen: "最近使用", expires: "到期",
    address: "位址", browser: "瀏覽器", none: "沒有其他登入。", ended: "已結束 {count} 個登入。",
    signin: "請先登入。", failed: "操作失敗：{message}",
  },
};

const $ = (id) => document.getElementById(id);
let lang = localStorage.getItem("branchq.lang") || navigator.language || "zh-CN";
if (!WORDS[lang]) lang = lang.startsWith("zh") ? (/TW|HK|MO|Hant/i.test(lang) ? "zh-TW" : "zh-CN") : "en";

function t(key, vars = {}) {
  return (WORDS[lang][key] || key).replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? "");
}

function when(iso) {
  return new Date(iso).toLocaleString(lang, { dateStyle: "short", timeStyle: "short" });
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.append(td);
  return td;
}

async function draw() {
  document.documentElement.lang = lang;
  $("lang").value = lang;
  for (const id of ["title", "explain", "signout"]) $(id).textContent = t(id);
  $("end-others").textContent = t("endOthers");
  document.title = `${t("title")} · branchq`;
  const me = await currentStaff();
  if (!me) {
    $("who").textContent = t("signin");
    $("sessions").replaceChildren();
    $("end-others").hidden = true;
    return;
  }
  $("who").textContent = t("who", { name: me.display_name, role: me.role });
  const sessions = await api("GET", "/api/v1/auth/sessions");
  const head = document.createElement("tr");
  for (const k of ["started", "seen", "expires", "address", "browser", ""]) {
    const th = document.createElement("th");
    th.textContent = k ? t(k) : "";
    head.append(th);
  }
  const rows = sessions.map((s) => {
    const tr = document.createElement("tr");
    tr.dataset.session = s.id;
    cell(tr, when(s.created_at));
    cell(tr, when(s.last_seen_at));
    cell(tr, when(s.expires_at));
    cell(tr, s.address);
    cell(tr, s.user_agent).className = "ua";
    const action = cell(tr, "");
    if (s.current) {
      action.textContent = t("current");
    } else {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = t("end");
      button.addEventListener("click", () => act(() => api("DELETE", `/api/v1/auth/sessions/${s.id}`)));
      action.append(button);
    }
    return tr;
  });
  $("sessions").replaceChildren(head, ...rows);
  $("end-others").hidden = sessions.length < 2;
  if (sessions.length < 2) $("message").textContent = t("none");
}

async function act(call) {
  try {
    const answer = await call();
    $("message").textContent = t("ended", { count: answer.ended });
  } catch (e) {
    $("message").textContent = t("failed", { message: e instanceof ApiError ? e.message : String(e) });
  }
  await draw();
}

$("lang").addEventListener("change", () => {
  lang = $("lang").value;
  localStorage.setItem("branchq.lang", lang);
  draw();
});
$("end-others").addEventListener("click", () => act(() => api("POST", "/api/v1/auth/sessions/end-others")));
$("signout").addEventListener("click", async () => {
  await signOut();
  location.href = "/counter";
});
draw();
