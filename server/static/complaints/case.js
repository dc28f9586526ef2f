// The case page: what the complaint is about, who made it (the full contact: this page alone
// shows it, and the server audits every view), what it links to (ticket, service, counter,
// teller, time at the counter), the timeline, and a button for every action the server allows
// from the case's state, each opening the few fields that action needs. A refusal (the teller
// complained about may not handle the case, a step out of order) shows beside the form.
import { api } from "/static/common/signin.js";
import { $, base, desk, named, page, serviceName, showError, staffName, start, w, when } from "/static/complaints/staff.js";

const id = Number(location.pathname.split("/")[4]);
const REMEDIES = ["review", "mediation", "arbitration", "lawsuit"];
const OUTCOMES = ["upheld", "partly_upheld", "not_upheld"];
const CAUSES = ["staff", "process", "system", "product", "facility", "other"];
const VIA = ["phone", "sms", "email", "letter", "in_person"];
let current = null;
let open = null; // the action whose form is open
let sending = false;
window.__case = { loads: 0 };

const staffOptions = (filter = () => true) => page.staff.filter((s) => s.active !== false && filter(s))
  .map((s) => [String(s.id), staffName(s.id)]);
// Who may approve a further extension or take an escalated case: the server's list (admins and
// regional managers are not among the branch's own staff).
let superiorIds = new Set();
const superiors = (s) => superiorIds.has(s.id);

/** The fields of each action's body (server/complaint_protocol.py STEP_BODIES). */
function fieldsOf(action) {
  const reason = ["reason", "textarea", "complaint.reason", { required: true }];
  const note = ["note", "input", "complaint.reason", {}];
  return {
    accept: [note],
    reject: [reason],
    assign: [["handler", "select", "complaint.handler_pick", { options: staffOptions(), required: true, number: true }]],
    resolve: [["text", "textarea", "complaint.decision_text", { required: true }]],
    transfer: [["department", "input", "complaint.department", { required: true }], reason],
    extend: [reason, ["approver", "select", "complaint.approver", { options: [["", "—"], ...staffOptions(superiors)], number: true }]],
    decide: [
      ["outcome", "select", "complaint.outcome", { options: OUTCOMES.map((o) => [o, named("out", o)]), required: true }],
      ["sent_via", "select", "complaint.decision_channel", { options: VIA.map((v) => [v, w(`complaint.by_${v}`)]), required: true }],
      ["text", "textarea", "complaint.decision_text", { required: true, wide: true }],
      ["remedies", "checks", "complaint.remedies", { options: REMEDIES.map((r) => [r, named("rem", r)]), wide: true }],
      ["against_teller", "check", "complaint.col_teller", {}],
    ],
    reopen: [reason],
    escalate: [reason, ["superior", "select", "complaint.superior", { options: [["", "—"], ...staffOptions(superiors)], number: true }]],
    close: [["satisfied", "select", "complaint.satisfaction", { options: [["", "—"], ["true", w("complaint.satisfied")], ["false", w("complaint.unsatisfied")]], bool: true }]],
    rectify: [
      ["cause", "select", "complaint.root_cause", { options: CAUSES.map((c) => [c, named("cause", c)]), required: true }],
      ["owner", "input", "complaint.fix_owner", { required: true }],
      ["fix", "textarea", "complaint.fix", { required: true, wide: true }],
      ["due", "date", "complaint.fix_due", { required: true }],
    ],
    recheck: [["result", "select", "complaint.act_recheck", { options: [["done", w("complaint.recheck_done")], ["reopened", w("complaint.recheck_reopened")]], required: true }]],
    withdraw: [reason],
    merge: [["into", "input", "complaint.merge_into", { required: true, number: true }]],
  }[action] ?? [note];
}

function field([name, kind, label, opts]) {
  const wrap = document.createElement(kind === "checks" ? "fieldset" : "label");
  if (opts.wide || kind === "textarea") wrap.className = "wide";
  if (kind === "checks") {
    wrap.append(Object.assign(document.createElement("legend"), { textContent: w(label) }));
    for (const [v, words] of opts.options) {
      const l = document.createElement("label");
      l.append(Object.assign(document.createElement("input"), { type: "checkbox", name, value: v, checked: true }), ` ${words}`);
      wrap.append(l);
    }
    return wrap;
  }
  let input;
  if (kind === "select") {
    input = document.createElement("select");
    input.replaceChildren(...opts.options.map(([v, words]) => new Option(words, v)));
  } else if (kind === "textarea") {
    input = Object.assign(document.createElement("textarea"), { rows: 3, maxLength: 2000 });
  } else if (kind === "check") {
    input = Object.assign(document.createElement("input"), { type: "checkbox" });
    wrap.style.flexDirection = "row";
  } else {
    input = Object.assign(document.createElement("input"), { type: kind === "date" ? "date" : "text", maxLength: 1000 });
  }
  input.name = name;
  input.required = Boolean(opts.required);
  wrap.append(Object.assign(document.createElement("span"), { textContent: w(label) }), input);
  return wrap;
}

function body(action, form) {
  const out = {};
  for (const [name, kind, , opts] of fieldsOf(action)) {
    if (kind === "checks") { out[name] = [...form.querySelectorAll(`input[name=${name}]:checked`)].map((b) => b.value); continue; }
    const el = form.elements[name];
    if (kind === "check") { out[name] = el.checked; continue; }
    const value = el.value.trim();
    if (!value) {
      if (opts.required) return { missing: el };
      continue;
    }
    out[name] = opts.number ? Number(value) : opts.bool ? value === "true" : value;
  }
  return { out };
}

function openForm(action) {
  open = open === action ? null : action;
  for (const b of $("actions").querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.action === open));
  const form = $("act-form");
  form.hidden = !open;
  showError("act-error", null);
  $("act-done").hidden = true;
  if (!open) return;
  form.replaceChildren(...fieldsOf(open).map(field));
  const go = Object.assign(document.createElement("button"), { type: "submit", textContent: `${w(`complaint.act_${open}`)} · ${w("complaint.go")}` });
  go.dataset.go = open;
  const row = document.createElement("p");
  row.className = "wide";
  row.append(go);
  form.append(row);
  form.querySelector("input, select, textarea")?.focus();
}

async function act(event) {
  event.preventDefault();
  if (!open || sending) return;
  const action = open;
  const { out, missing } = body(action, $("act-form"));
  if (!out) {
    showError("act-error", w("complaint.need_field", { field: missing.closest("label")?.querySelector("span")?.textContent ?? missing.name }));
    missing.focus();
    return;
  }
  sending = true;
  showError("act-error", null);
  try {
    current = await api("POST", `${base}/complaints/${id}/${action}`, out);
    open = null;
    draw();
    $("act-done").textContent = w("complaint.done_action", { action: w(`complaint.act_${action}`) });
    $("act-done").hidden = false;
  } catch (e) {
    showError("act-error", e);
  } finally {
    sending = false;
  }
}

function facts(el, pairs) {
  el.replaceChildren(...pairs.flatMap(([k, v]) => [
    Object.assign(document.createElement("dt"), { textContent: w(k) }),
    Object.assign(document.createElement("dd"), { textContent: v ?? "—" }),
  ]));
}

function timelineText(entry) {
  const d = entry.data ?? {};
  const what = t_action(entry.action);
  const extra = [d.reason, d.text, d.department, d.note, d.outcome && named("out", d.outcome),
    d.handler && staffName(d.handler), d.result && named("recheck", d.result)].filter(Boolean).join(" · ");
  return `${what} → ${named("st", entry.state)}${extra ? ` · ${extra}` : ""} (${entry.actor || w("complaint.by_system")})`;
}

function t_action(action) {
  return action === "received" || action === "receive" || action === "created" ? w("complaint.ev_received") : named("act", action);
}

function draw() {
  const c = current;
  if (!c) return;
  $("case").hidden = false;
  $("case-title").textContent = w("complaint.case", { number: c.number });
  document.title = `${w("complaint.case", { number: c.number })} · branchq`;
  const deadline = `${when(c.due_at, { dateOnly: true })}${c.overdue ? ` · ${w("complaint.overdue")}` : c.due_soon ? ` · ${w("complaint.due_soon")}` : ""}`;
  facts($("facts"), [
    ["complaint.state", `${named("st", c.state)}${c.round > 1 ? ` · ${w("complaint.round", { n: c.round })}` : ""}`],
    ["complaint.channel", named("ch", c.channel)], ["complaint.category", named("cat", c.category)],
    ["complaint.received_at", when(c.received_at)], ["complaint.deadline", deadline],
    ["complaint.handler", c.handler_name ?? staffName(c.handler)],
    ...(c.outcome ? [["complaint.outcome", named("out", c.outcome)]] : []),
    ...(c.decision ? [["complaint.decision", c.decision]] : []),
    ...(c.department ? [["complaint.department", c.department]] : []),
    ...(c.rectification ? [["complaint.fix", `${named("cause", c.rectification.cause)} · ${c.rectification.fix} · ${c.rectification.owner} · ${c.rectification.due}${c.rectification.checked ? ` · ${named("recheck", c.rectification.checked)}` : ""}`]] : []),
  ]);
  $("text").textContent = [c.text, c.request && `${w("complaint.request")}: ${c.request}`, c.facts && `${w("complaint.facts")}: ${c.facts}`]
    .filter(Boolean).join("\n\n");
  const full = c.contact_full ?? c.contact ?? {};
  facts($("contact"), [
    ["complaint.name", full.name], ["complaint.phone", full.phone], ["complaint.email", full.email],
    ["complaint.id_number", full.id_number], ["complaint.agent", full.agent],
  ].filter(([, v], i) => i < 1 || v));
  facts($("links"), [
    ["complaint.ticket", c.ticket], ["complaint.service", c.service ? serviceName(c.service) : null],
    ["complaint.counter", c.counter ? w("common.counter_n", { n: c.counter }) : null],
    ["complaint.teller", c.teller_name ?? (c.teller ? staffName(c.teller) : null)],
    ["complaint.served_at", c.counter_at ? when(c.counter_at) : null],
  ]);
  const actions = $("actions");
  actions.replaceChildren(...(c.actions ?? []).map((a) => {
    const b = Object.assign(document.createElement("button"), { type: "button", textContent: named("act", a) });
    b.dataset.action = a;
    b.setAttribute("aria-pressed", String(a === open));
    b.addEventListener("click", () => openForm(a));
    return b;
  }));
  if (!c.actions?.length) actions.textContent = w("complaint.no_actions");
  $("act-form").hidden = !open;
  $("timeline").replaceChildren(...(c.timeline ?? []).map((entry) => {
    const li = document.createElement("li");
    li.append(Object.assign(document.createElement("time"), { textContent: when(entry.at), dateTime: entry.at }), timelineText(entry));
    return li;
  }));
}

async function load() {
  showError("error", null);
  try {
    window.__case.loads += 1;
    current = await api("GET", `${base}/complaints/${id}`);
    draw();
  } catch (e) {
    showError("error", e);
  }
}

$("act-form").addEventListener("submit", act);
if (await start("complaint.desk", () => { open = null; draw(); })) {
  const above = await api("GET", `${base}/complaints/superiors`).catch(() => []);
  superiorIds = new Set(above.map((s) => s.id));
  page.staff.push(...above.filter((s) => !page.staff.some((x) => x.id === s.id)));
  $("to-desk").href = desk;
  await load();
}
