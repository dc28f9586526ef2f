// The customer's complaint form (no sign-in): a branch's online form, or, from a ticket's phone
// page (?ticket=<token>), a form linked to that visit. After sending: the case number, the date
// the branch promises a reply by (the branch's own date) and the link to the case's page.
// Every submission carries one Idempotency-Key, kept until the case is made: a double press or a
// retry after a lost answer makes one case.
import { applyWords, chosenLanguage, errorText, languageOf, languageSwitch, nameOf, t } from "/static/common/i18n.js";
import { CATEGORIES, RequestError, branchDate, named, newKey, send } from "/static/complaints/common.js";

const branch = decodeURIComponent(location.pathname.split("/")[2]);
const ticketToken = new URLSearchParams(location.search).get("ticket");
const $ = (id) => document.getElementById(id);
let lang = chosenLanguage() ?? (/^zh/i.test(navigator.language) ? languageOf(navigator.language) : "zh-CN");
let ticket = null;
let key = newKey();
let sending = false;
let made = null;
window.__complain = { sent: 0 };

function drawCategories() {
  const select = document.querySelector("select[name=category]");
  const chosen = select.value;
  select.replaceChildren(new Option(t(lang, "complaint.choose"), ""),
    ...CATEGORIES.map((c) => new Option(named(lang, "cat", c), c)));
  select.value = chosen;
}

function drawTicket() {
  if (ticket) {
    $("branch").textContent = nameOf(ticket.branch_names, lang);
    $("ticket").textContent = t(lang, "complaint.ticket_linked", { number: ticket.number, service: nameOf(ticket.service_names, lang) });
  }
  $("ticket").hidden = !ticket;
}

function draw() {
  applyWords(lang, { words: t });
  document.title = `${t(lang, "complaint.title")} · branchq`;
  if (!ticket) $("branch").textContent = branch;
  drawCategories();
  drawTicket();
  if (made) drawMade();
}

function problem(text) {
  $("error").textContent = text;
  $("error").hidden = !text;
}

/** What the form asks for, or the first field's problem (the server checks again). */
function body(form) {
  const f = form.elements;
  const contact = { name: f.name.value.trim() };
  if (f.phone.value.trim()) contact.phone = f.phone.value.trim();
  if (f.email.value.trim()) contact.email = f.email.value.trim();
  if (!f.category.value) return { missing: f.category, why: "complaint.need_category" };
  if (!f.text.value.trim()) return { missing: f.text, why: "complaint.need_text" };
  if (!contact.name) return { missing: f.name, why: "complaint.need_name" };
  if (!contact.phone && !contact.email) return { missing: f.phone, why: "complaint.need_contact" };
  const out = { channel: ticketToken ? "branch" : "online", category: f.category.value, text: f.text.value.trim(), contact };
  if (f.request.value.trim()) out.request = f.request.value.trim();
  if (ticketToken) out.ticket_token = ticketToken;
  return { out };
}

async function submit(event) {
  event.preventDefault();
  if (sending || made) return; // a second press while the first is on its way
  const { out, missing, why } = body(event.target);
  if (!out) {
    problem(t(lang, why));
    missing.focus();
    return;
  }
  sending = true;
  $("submit").disabled = true;
  $("submit").textContent = t(lang, "complaint.sending");
  problem("");
  try {
    window.__complain.sent += 1;
    made = await send("POST", `/api/v1/branches/${encodeURIComponent(branch)}/complaints`, out, { "Idempotency-Key": key });
    drawMade();
  } catch (e) {
    // Offline or no answer: the same key goes with the next try, so a case that did arrive is not made twice.
    problem(e instanceof RequestError && e.status === 0 ? t(lang, "complaint.offline") : errorText(lang, e));
    if (e.status >= 400 && e.status < 500 && e.code !== "rate_limited") key = newKey(); // refused: nothing was made
  } finally {
    sending = false;
    $("submit").disabled = false;
    $("submit").textContent = t(lang, "complaint.submit");
  }
}

function drawMade() {
  $("compose").hidden = true;
  $("done").hidden = false;
  $("number").textContent = made.merged_into ?? made.number;
  $("merged").hidden = !made.merged_into;
  $("due").textContent = branchDate(made.due_at);
  $("follow").href = `/c/${encodeURIComponent(made.token)}${lang === "zh-CN" ? "" : `?lang=${lang}`}`;
}

languageSwitch($("lang"), lang, (next) => { lang = next; draw(); });
$("form").addEventListener("submit", submit);
draw();
if (ticketToken) {
  try {
    ticket = await send("GET", `/api/v1/tickets/${encodeURIComponent(ticketToken)}`);
  } catch (e) {
    problem(errorText(lang, e)); // the case can still be sent; the server says whether the ticket counts
  }
  drawTicket();
}
