// The complainant's case page, by the case's unguessable token (no sign-in): the state, the
// date a reply is promised by, the steps so far as the customer may see them (no staff names),
// the decision and the further remedies it names; once decided, "satisfied" or "not satisfied"
// (which opens the second round).
import { applyWords, chosenLanguage, errorText, languageOf, languageSwitch, t } from "/static/common/i18n.js";
import { branchDate, branchTime, named, send } from "/static/complaints/common.js";

const token = decodeURIComponent(location.pathname.split("/")[2]);
const $ = (id) => document.getElementById(id);
let lang = chosenLanguage() ?? (/^zh/i.test(navigator.language) ? languageOf(navigator.language) : "zh-CN");
let view = null;
/** The states in which the complainant may still withdraw the case (server/domain/complaints.py OPEN_STATES). */
const OPEN = new Set(["received", "accepted", "handling", "resolved", "transferred", "decided", "second_round", "escalated"]);
let sending = false;
window.__case = { loads: 0 };

function problem(text) {
  $("error").textContent = text;
  $("error").hidden = !text;
}

function draw() {
  applyWords(lang, { words: t });
  document.title = `${t(lang, "complaint.case_title")} · branchq`;
  if (!view) return;
  $("case").hidden = false;
  $("branch").textContent = view.branch;
  $("number").textContent = view.number;
  $("state").textContent = named(lang, "st", view.state);
  $("category").textContent = named(lang, "cat", view.category);
  $("received").textContent = branchTime(view.received_at, view.due_at);
  $("due").textContent = branchDate(view.due_at);
  $("decision").hidden = !view.decision;
  $("decision-text").textContent = view.decision ?? "";
  $("outcome").hidden = true;
  $("remedies").replaceChildren(...(view.remedies ?? []).map((r) => Object.assign(document.createElement("li"), { textContent: named(lang, "rem", r) })));
  $("respond").hidden = !view.may_reply;
  $("withdraw").hidden = !OPEN.has(view.state);
  $("history").hidden = !view.steps?.length;
  $("timeline").replaceChildren(...(view.steps ?? []).map((s) => {
    const li = document.createElement("li");
    li.append(Object.assign(document.createElement("time"), { textContent: branchTime(s.at, view.due_at), dateTime: s.at }), named(lang, "st", s.state));
    return li;
  }));
}

async function load() {
  try {
    window.__case.loads += 1;
    view = await send("GET", `/api/v1/complaints/${encodeURIComponent(token)}`);
    problem("");
    draw();
  } catch (e) {
    problem(e.status === 404 ? t(lang, "complaint.not_found") : errorText(lang, e));
  }
}

async function reply(satisfied) {
  if (sending) return;
  const note = $("respond-form").elements.reason.value.trim();
  sending = true;
  try {
    view = await send("POST", `/api/v1/complaints/${encodeURIComponent(token)}/reply`, { satisfied, note });
    $("thanks").hidden = false;
    draw();
  } catch (e) {
    problem(e.status === 0 ? t(lang, "complaint.offline") : errorText(lang, e));
  } finally {
    sending = false;
  }
}

async function withdraw(event) {
  event.preventDefault();
  const reason = event.target.elements.reason.value.trim();
  if (!reason) { problem(t(lang, "complaint.withdraw_why")); event.target.elements.reason.focus(); return; }
  if (sending) return;
  sending = true;
  try {
    view = await send("POST", `/api/v1/complaints/${encodeURIComponent(token)}/withdraw`, { reason });
    problem("");
    draw();
  } catch (e) {
    problem(e.status === 0 ? t(lang, "complaint.offline") : errorText(lang, e));
  } finally {
    sending = false;
  }
}

$("withdraw-form").addEventListener("submit", withdraw);
languageSwitch($("lang"), lang, (next) => { lang = next; draw(); });
$("satisfied").addEventListener("click", () => reply(true));
$("unsatisfied").addEventListener("click", () => reply(false));
draw();
load();
