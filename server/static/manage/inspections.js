// Inspections and rectification (整改) of one branch: the rectification notices with the owner's
// report and the inspector's re-check, the inspections recorded, and (for an inspector) a new
// inspection walking the checklist: each item passed or failed, a failed one with its owner,
// requirement and deadline, and an optional photo.
import { api, currentStaff, signInForm, signOut } from "/static/common/signin.js";
import { applyWords, both, errorText, languageSwitch, nameOf, pageLanguage } from "/static/common/i18n.js";

const branch = decodeURIComponent(location.pathname.split("/")[2]);
const base = `/api/v1/branches/${encodeURIComponent(branch)}`;
const $ = (id) => document.getElementById(id);
let lang = pageLanguage();
let me = null;
let checklist = null;
const w = (key, values) => both(lang, key, values);
const day = (iso) => (iso ? iso.slice(0, 10) : "—");
const when = (iso) => (iso ? iso.slice(0, 16).replace("T", " ") : "—");

function table(el, headers, rows) {
  el.innerHTML = "";
  const head = el.createTHead().insertRow();
  for (const h of headers) head.insertCell().outerHTML = `<th>${h}</th>`;
  const body = el.createTBody();
  for (const cells of rows) {
    const tr = body.insertRow();
    for (const cell of cells) {
      const td = tr.insertCell();
      if (cell instanceof Node) td.append(cell);
      else if (cell && typeof cell === "object") { td.textContent = cell.text; td.className = cell.className ?? ""; }
      else td.textContent = cell ?? "";
    }
  }
  return body;
}

const itemText = (code) => {
  const item = checklist?.items.find((i) => i.code === code);
  return item ? (lang === "en" ? item.texts.en : `${nameOf(item.texts, lang)} ${item.texts.en}`) : code;
};

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  e.append(...children);
  return e;
}

function rectActions(r) {
  const box = el("span");
  const overdue = ["open", "reopened"].includes(r.state) && Date.parse(r.deadline) < Date.now();
  if (["open", "reopened"].includes(r.state) && ["manager", "admin"].includes(me.role)) {
    const report = el("input", { type: "text", name: "report", maxLength: 1000, placeholder: w("inspection.report") });
    report.setAttribute("aria-label", w("inspection.report"));
    const send = el("button", { type: "button", textContent: w("inspection.send_report") });
    send.dataset.act = "report";
    box.append(report, send);
  }
  if (r.state === "reported" && ["inspector", "admin"].includes(me.role)) {
    const note = el("input", { type: "text", name: "recheck_note", maxLength: 1000, placeholder: w("inspection.note") });
    note.setAttribute("aria-label", w("inspection.note"));
    const close = el("button", { type: "button", textContent: w("inspection.close") });
    close.dataset.act = "close";
    const reopen = el("button", { type: "button", textContent: w("inspection.reopen") });
    reopen.dataset.act = "reopen";
    box.append(note, close, reopen);
  }
  return { box, overdue };
}

async function load() {
  const data = await api("GET", `${base}/inspections`);
  const body = table($("rectifications"),
    ["inspection.item", "inspection.owner", "inspection.requirement", "inspection.deadline", "inspection.state",
      "inspection.report", "inspection.actions"].map((k) => w(k)),
    data.rectifications.map((r) => {
      const { box, overdue } = rectActions(r);
      const state = w(`inspection.state_${r.state}`) + (overdue ? ` · ${w("inspection.overdue")}` : "");
      return [itemText(r.item), r.owner, r.requirement, day(r.deadline),
        { text: state, className: overdue ? "overdue" : "" }, r.report ?? "", box];
    }));
  [...body.rows].forEach((tr, i) => { tr.dataset.rect = data.rectifications[i].id; });
  table($("inspections"), ["inspection.visited", "inspection.inspector", "inspection.passed", "inspection.failed",
    "inspection.note"].map((k) => w(k)),
  data.inspections.map((i) => [when(i.visited_at), i.inspector ?? "—", i.passed, i.failed, i.note]));
}

async function rectAction(event) {
  const button = event.target.closest("button[data-act]");
  if (!button) return;
  const tr = button.closest("tr");
  const id = tr.dataset.rect;
  const act = button.dataset.act;
  button.disabled = true;
  try {
    if (act === "report") {
      await api("POST", `${base}/rectifications/${id}/report`, { report: tr.querySelector("[name=report]").value });
    } else {
      await api("POST", `${base}/rectifications/${id}/recheck`,
        { outcome: act, note: tr.querySelector("[name=recheck_note]").value });
    }
    $("rect-result").textContent = w("inspection.saved");
    await load();
  } catch (e) {
    $("rect-result").textContent = errorText(lang, e);
    button.disabled = false;
  }
}

function drawChecklist() {
  const body = table($("checklist"), ["inspection.item", "inspection.result", "inspection.note", "inspection.owner",
    "inspection.requirement", "inspection.deadline", "inspection.photo"].map((k) => w(k)),
  checklist.items.map((item) => {
    const result = el("select", { name: "passed" },
      el("option", { value: "1", textContent: w("inspection.passed") }),
      el("option", { value: "0", textContent: w("inspection.failed") }));
    result.setAttribute("aria-label", `${item.code} ${w("inspection.result")}`);
    const input = (name, type = "text") => {
      const i = el("input", { type, name });
      i.setAttribute("aria-label", `${item.code} ${w(`inspection.${name}`)}`);
      return i;
    };
    const photo = el("input", { type: "file", name: "photo", accept: "image/jpeg,image/png,image/webp" });
    photo.setAttribute("aria-label", `${item.code} ${w("inspection.photo")}`);
    return [itemText(item.code), result, input("note"), input("owner"), input("requirement"), input("deadline", "date"),
      photo];
  }));
  [...body.rows].forEach((tr, i) => { tr.dataset.item = checklist.items[i].code; });
}

async function record(event) {
  event.preventDefault();
  const form = event.target;
  const submit = form.querySelector("button[type=submit]");
  const rows = [...$("checklist").tBodies[0].rows];
  const value = (tr, name) => tr.querySelector(`[name=${name}]`).value.trim();
  const items = rows.map((tr) => {
    const passed = value(tr, "passed") === "1";
    const item = { item: tr.dataset.item, passed, note: value(tr, "note") };
    if (!passed) Object.assign(item, { owner: value(tr, "owner"), requirement: value(tr, "requirement"),
      deadline: value(tr, "deadline") || null });
    return item;
  });
  submit.disabled = true;
  try {
    const saved = await api("POST", `${base}/inspections`, { note: form.note.value, items });
    for (const tr of rows) {
      const file = tr.querySelector("[name=photo]").files[0];
      if (!file) continue;
      const data = new FormData();
      data.append("item", tr.dataset.item);
      data.append("photo", file);
      const resp = await fetch(`${base}/inspections/${saved.id}/photos`, { method: "POST", body: data, credentials: "same-origin" });
      if (!resp.ok) throw Object.assign(new Error((await resp.json()).error?.message ?? resp.statusText), { status: resp.status });
    }
    $("new-result").textContent = w("inspection.saved");
    form.reset();
    await load();
  } catch (e) {
    $("new-result").textContent = errorText(lang, e);
  } finally {
    submit.disabled = false;
  }
}

function setLanguage(next) {
  lang = next;
  applyWords(lang);
  if (checklist && me && ["inspector", "admin"].includes(me.role)) drawChecklist();
  load().catch(showError);
}

function showError(e) {
  $("error").hidden = false;
  $("error").textContent = errorText(lang, e);
}

async function main() {
  languageSwitch($("lang"), lang, setLanguage);
  applyWords(lang);
  me = await currentStaff();
  if (!me) {
    await signInForm($("app"), { title: w("inspection.title"), lang });
    location.reload();
    return;
  }
  $("branch-name").textContent = branch;
  $("to-bulletin").href = `/manage/${encodeURIComponent(branch)}/bulletin`;
  $("signout").addEventListener("click", async () => { await signOut(); location.reload(); });
  $("rectifications").addEventListener("click", rectAction);
  try {
    checklist = await api("GET", `${base}/inspections/checklist`);
    if (["inspector", "admin"].includes(me.role)) {
      $("new-section").hidden = false;
      drawChecklist();
      $("new-inspection").addEventListener("submit", record);
    }
    await load();
  } catch (e) {
    showError(e);
  }
}

main();
