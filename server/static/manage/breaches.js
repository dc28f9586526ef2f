// The dashboard's open service-standard breaches (server/services/standards.py, in the
// dashboard's snapshot as `breaches`): each with its suggestion, an escalation mark, and an
// acknowledge form with a note (POST …/breaches/{id}/acknowledge). Drawn by drawBreaches().
import { api } from "/static/common/signin.js";
import { both, errorText, nameOf, t } from "/static/common/i18n.js";

const mmss = (s) => (s === null || s === undefined ? "—" : `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`);

function serviceLabel(services, code, lang) {
  const s = services[code];
  if (!s) return code ?? "";
  return `${s.code} ${lang === "en" ? s.names.en ?? "" : nameOf(s.names, lang)}`.trim();
}

/** The breach's line in ``lang`` (with English beside, as the dashboard writes). */
export function breachLine(b, services, lang) {
  return text(b, services, lang);
}

function text(b, services, lang) {
  const f = b.facts ?? {};
  const one = (l) => t(l, `supervision.rule_${b.rule}`, {
    service: serviceLabel(services, b.service, l), counter: b.counter, waited: mmss(f.waited_s),
    limit: f.limit_s !== undefined ? mmss(f.limit_s) : f.limit, took: mmss(f.took_s), idle: mmss(f.idle_s),
    waiting: f.waiting,
  });
  return lang === "en" ? one("en") : `${one(lang)} ${one("en")}`;
}

function suggestion(b, lang) {
  const s = b.suggestion;
  if (!s) return "";
  return both(lang, `supervision.suggest_${s.action}`, { counter: s.counter, teller: s.teller, from: s.from_counter });
}

/** Draw ``breaches`` into the list ``ul``; a form in use (typing a note) is left alone. */
export function drawBreaches(ul, breaches, services, lang, branchBase) {
  if (ul.contains(document.activeElement) && document.activeElement.tagName === "INPUT") return;
  const items = breaches.map((b) => {
    const li = document.createElement("li");
    li.className = `breach ${b.severity}${b.level > 1 ? " escalated" : ""}`;
    li.dataset.breach = b.id;
    li.dataset.rule = b.rule;
    const what = document.createElement("div");
    what.className = "what";
    what.textContent = text(b, services, lang);
    li.append(what);
    const hint = suggestion(b, lang);
    if (hint) {
      const p = document.createElement("div");
      p.className = "suggestion";
      p.textContent = hint;
      li.append(p);
    }
    if (b.level > 1) {
      const mark = document.createElement("span");
      mark.className = "escalation";
      mark.textContent = `⬆ ${both(lang, "supervision.escalated")}`;
      li.append(mark);
    }
    if (b.acknowledged_at) {
      const done = document.createElement("div");
      done.className = "acknowledged";
      done.textContent = both(lang, "supervision.acknowledged", { by: b.acknowledged_by ?? "", note: b.note ?? "" });
      li.append(done);
    } else {
      const form = document.createElement("form");
      form.className = "ack";
      const note = document.createElement("input");
      note.name = "note";
      note.required = true;
      note.maxLength = 500;
      note.placeholder = both(lang, "supervision.note");
      note.setAttribute("aria-label", both(lang, "supervision.note"));
      const button = document.createElement("button");
      button.type = "submit";
      button.textContent = both(lang, "supervision.acknowledge");
      const result = document.createElement("span");
      result.className = "result";
      result.setAttribute("role", "status");
      form.append(note, button, result);
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        button.disabled = true;
        try {
          await api("POST", `${branchBase}/breaches/${b.id}/acknowledge`, { note: note.value });
          note.blur();
        } catch (e) {
          result.textContent = errorText(lang, e);
          button.disabled = false;
        }
      });
      li.append(form);
    }
    return li;
  });
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "none";
    li.textContent = both(lang, "supervision.no_breaches");
    items.push(li);
  }
  ul.replaceChildren(...items);
}
