// The staff's entry form, fast for a hotline call: the keyboard goes down the fields in the order
// a caller gives them, Ctrl+Enter records, the ticket (today's number) is looked up on Enter and
// names its service and counter. One Idempotency-Key per case: a double press records one case.
import { api } from "/static/common/signin.js";
import { CATEGORIES, RequestError, newKey, send } from "/static/complaints/common.js";
import { $, base, desk, fill, named, page, refusal, serviceName, showError, staffName, start, w, when } from "/static/complaints/staff.js";

const STAFF_CHANNELS = ["hotline", "walk_in", "box", "letter", "regulator", "branch", "online"];
const form = $("entry");
let key = newKey();
let sending = false;
let found = null; // the ticket looked up: {number, service, counter, …}
window.__entry = { sent: 0 };

function draw() {
  const f = form.elements;
  fill(f.channel, STAFF_CHANNELS.map((c) => [c, named("ch", c)]));
  fill(f.category, [["", w("complaint.choose")], ...CATEGORIES.map((c) => [c, named("cat", c)])]);
  const tellers = page.staff.filter((s) => s.role === "teller" && s.active !== false);
  fill(f.teller, [["", "—"], ...tellers.map((s) => [String(s.id), staffName(s.id)])]);
  drawFound();
}

function drawFound() {
  const out = $("ticket-found");
  if (!found) { out.textContent = ""; return; }
  out.textContent = found.counter
    ? w("complaint.ticket_found", { number: found.number, service: serviceName(found.service), counter: found.counter })
    : w("complaint.ticket_found_waiting", { number: found.number, service: serviceName(found.service) });
}

async function findTicket() {
  const number = form.elements.ticket.value.trim().toUpperCase();
  form.elements.ticket.value = number;
  found = null;
  showError("error", null);
  if (number) {
    try {
      found = await api("GET", `${base}/tickets?number=${encodeURIComponent(number)}`);
    } catch (e) {
      showError("error", e);
    }
  }
  drawFound();
}

function body() {
  const f = form.elements;
  const value = (name) => f[name].value.trim();
  const contact = { name: value("name") };
  for (const k of ["phone", "email", "id_number", "agent"]) if (value(k)) contact[k] = value(k);
  if (!f.category.value) return { missing: f.category, why: "complaint.need_category" };
  if (!contact.name) return { missing: f.name, why: "complaint.need_name" };
  if (!contact.phone && !contact.email) return { missing: f.phone, why: "complaint.need_contact" };
  if (!value("text")) return { missing: f.text, why: "complaint.need_text" };
  const out = { channel: f.channel.value, category: f.category.value, text: value("text"), contact, complex: f.complex.checked };
  if (value("request")) out.request = value("request");
  if (value("facts")) out.facts = value("facts");
  if (value("ticket")) out.ticket = value("ticket").toUpperCase();
  if (f.teller.value) out.teller = Number(f.teller.value);
  return { out };
}

async function record(event) {
  event?.preventDefault();
  if (sending) return;
  const { out, missing, why } = body();
  if (!out) {
    showError("error", w(why));
    missing.focus();
    return;
  }
  sending = true;
  $("record").disabled = true;
  showError("error", null);
  try {
    window.__entry.sent += 1;
    const made = await send("POST", `${base}/complaints/entries`, out, { "Idempotency-Key": key });
    key = newKey();
    $("made-text").textContent = w("complaint.recorded", { number: made.number, due: when(made.due_at, { dateOnly: true }) });
    $("made-link").href = `${desk}/${made.id}`;
    $("made").hidden = false;
    form.hidden = true;
    $("made-link").focus();
  } catch (e) {
    showError("error", e instanceof RequestError && e.status === 0 ? w("complaint.offline") : refusal(e));
    if (e.status >= 400 && e.status < 500 && e.code !== "rate_limited") key = newKey();
  } finally {
    sending = false;
    $("record").disabled = false;
  }
}

form.addEventListener("submit", record);
form.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) record(event);
  else if (event.key === "Enter" && event.target.name === "ticket") { event.preventDefault(); findTicket(); }
});
$("find").addEventListener("click", findTicket);
$("another").addEventListener("click", (event) => {
  event.preventDefault();
  form.reset();
  found = null;
  draw();
  form.hidden = false;
  $("made").hidden = true;
  form.elements.channel.focus();
});

if (await start("complaint.entry_title", draw)) {
  draw();
  form.elements.channel.focus();
}
