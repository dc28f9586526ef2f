// The dashboard's emergency mode: the "start emergency" dialog (kind, scope, message in three
// languages, drill, confirmation), the banner of the incident in force (elapsed time, timeline,
// notes, "reported upward", end), and the list of incidents with their reports to download.
// The incident in force comes with the dashboard's live state (state.emergency); the list is
// read again after every change.
import { api } from "/static/common/signin.js";
import { both, errorText } from "/static/common/i18n.js";
import { emergencyTitle } from "/static/common/emergency.js";

const $ = (id) => document.getElementById(id);
let ctx = null; // {base, lang(), state()}
let listed = null; // the incidents list last drawn (JSON), so it is not redrawn every second
let lastId = null; // the incident in force last seen, to read the list again when it changes

const w = (key, values) => both(ctx.lang(), key, values);
const minutes = (iso) => Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 60000));
const local = (iso) => (iso ? new Date(iso).toLocaleString(ctx.lang() === "en" ? "en-GB" : ctx.lang()) : "—");

function result(text) {
  $("emergency-result").textContent = text;
}

async function act(method, path, body) {
  try {
    const answer = await api(method, `${ctx.base}${path}`, body);
    result("");
    return answer;
  } catch (e) {
    result(errorText(ctx.lang(), e));
    return null;
  }
}

/** The services of the branch as scope checkboxes (off while "all" is ticked). */
function drawScope() {
  const box = $("emergency-services");
  const services = ctx.state()?.services ?? [];
  const all = $("emergency-form").elements.all.checked;
  if (box.dataset.codes !== services.map((s) => s.code).join()) {
    box.dataset.codes = services.map((s) => s.code).join();
    box.replaceChildren(...services.map((s) => {
      const label = document.createElement("label");
      const input = Object.assign(document.createElement("input"), { type: "checkbox", name: "service", value: s.code });
      label.append(input, ` ${s.code}`);
      return label;
    }));
  }
  for (const input of box.querySelectorAll("input")) input.disabled = all;
}

async function start(event) {
  event.preventDefault();
  const f = event.target.elements;
  const texts = Object.fromEntries(["zh-CN", "en", "zh-TW"].map((l) => [l, f[l].value.trim()]).filter(([, v]) => v));
  const codes = [...document.querySelectorAll('#emergency-services input:checked')].map((i) => i.value);
  const body = { kind: f.kind.value, scope: f.all.checked || !codes.length ? "all" : codes, texts, drill: f.drill.checked };
  if (await act("POST", "/emergency", body)) {
    $("emergency-dialog").close();
    event.target.reset();
    drawScope();
  }
  window.__dashboard?.resync();
}

/** The banner of the incident in force, or nothing. */
export function drawEmergency(state) {
  if (!ctx) return;
  const incident = state?.emergency ?? null;
  $("emergency-banner").hidden = !incident;
  $("emergency-open").hidden = Boolean(incident);
  $("emergency-banner").classList.toggle("drill", Boolean(incident?.drill));
  if ((incident?.id ?? null) !== lastId) {
    lastId = incident?.id ?? null;
    refreshList();
  }
  if (!incident) return;
  const lang = ctx.lang();
  $("emergency-title").textContent = `⚠ ${emergencyTitle(incident, lang)} · ${w(`emergency.kind_${incident.kind}`)}`
    + ` · ${incident.scope === "all" ? w("emergency.scope_all") : incident.scope.join(", ")}`;
  $("emergency-elapsed").textContent = w("emergency.elapsed", { m: minutes(incident.started_at) });
  const message = [incident.texts["zh-CN"], incident.texts.en, incident.texts["zh-TW"]].filter(Boolean).join(" · ");
  if ($("emergency-message").textContent !== message) $("emergency-message").textContent = message;
  const timeline = (incident.timeline ?? []).map((e) => `${local(e.at)} · ${e.kind} · ${e.actor}${e.text ? ` · ${e.text}` : ""}`);
  const ol = $("emergency-timeline");
  if (ol.dataset.shown !== JSON.stringify(timeline)) {
    ol.dataset.shown = JSON.stringify(timeline);
    ol.replaceChildren(...timeline.map((text) => Object.assign(document.createElement("li"), { textContent: text })));
  }
  $("emergency-reported").hidden = Boolean(incident.reported_upward_at);
  $("emergency-reported-at").textContent = incident.reported_upward_at
    ? w("emergency.reported", { t: local(incident.reported_upward_at) }) : "";
}

async function refreshList() {
  const incidents = await api("GET", `${ctx.base}/incidents`).catch(() => null);
  if (!incidents || JSON.stringify(incidents) === listed) return;
  listed = JSON.stringify(incidents);
  const table = $("incidents");
  table.replaceChildren();
  if (!incidents.length) {
    table.insertRow().insertCell().textContent = w("emergency.none");
    return;
  }
  for (const i of incidents) {
    const row = table.insertRow();
    row.dataset.incident = String(i.id);
    const cells = [
      local(i.started_at), `${i.drill ? `${w("emergency.drill")} · ` : ""}${w(`emergency.kind_${i.kind}`)}`,
      i.scope === "all" ? w("emergency.scope_all") : i.scope.join(", "), `${Math.round(i.stopped_s / 60)} min`,
    ];
    for (const text of cells) row.insertCell().textContent = text;
    const links = row.insertCell();
    for (const ext of ["xlsx", "csv", "pdf"]) {
      const a = Object.assign(document.createElement("a"), { href: `${ctx.base}/incidents/${i.id}.${ext}`, textContent: `${w("emergency.report")} ${ext.toUpperCase()}` });
      a.setAttribute("download", "");
      links.append(a, " ");
    }
  }
}

/** Wire the section up; `lang()` and `state()` give the dashboard's language and live state. */
export function setUpEmergency({ base, lang, state }) {
  ctx = { base, lang, state };
  $("emergency-open").addEventListener("click", () => { drawScope(); $("emergency-dialog").showModal(); });
  $("emergency-cancel").addEventListener("click", () => $("emergency-dialog").close());
  $("emergency-form").elements.all.addEventListener("change", drawScope);
  $("emergency-form").addEventListener("submit", start);
  $("emergency-end").addEventListener("click", async () => {
    await act("DELETE", "/emergency");
    window.__dashboard?.resync();
  });
  $("emergency-reported").addEventListener("click", async () => {
    if (lastId !== null) await act("POST", `/incidents/${lastId}/reported-upward`);
    window.__dashboard?.resync();
  });
  $("emergency-note-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = event.target.elements;
    if (lastId !== null && await act("POST", `/incidents/${lastId}/entries`, { kind: f.kind.value, text: f.text.value })) {
      event.target.reset();
    }
    window.__dashboard?.resync();
  });
  setInterval(() => drawEmergency(state()), 1000); // the elapsed time ticks
}
