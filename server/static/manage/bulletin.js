// The monthly inspection bulletin: pass rates by branch and by item, open and overdue
// rectifications, best and worst branches — of this branch, or of every branch one may read.
import { api, currentStaff, signInForm, signOut } from "/static/common/signin.js";
import { applyWords, both, errorText, languageSwitch, nameOf, pageLanguage } from "/static/common/i18n.js";

const branch = decodeURIComponent(location.pathname.split("/")[2]);
const $ = (id) => document.getElementById(id);
let lang = pageLanguage();
let last = null;
const w = (key, values) => both(lang, key, values);
const pct = (x) => (x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)}%`);

function table(el, headers, rows) {
  el.innerHTML = "";
  const head = el.createTHead().insertRow();
  for (const h of headers) head.insertCell().outerHTML = `<th>${h}</th>`;
  const body = el.createTBody();
  for (const cells of rows) {
    const tr = body.insertRow();
    for (const cell of cells) tr.insertCell().textContent = cell ?? "";
  }
}

function url(suffix = "") {
  const form = $("query");
  const scope = form.all.checked ? "/api/v1" : `/api/v1/branches/${encodeURIComponent(branch)}`;
  return `${scope}/inspections/bulletin${suffix}?month=${encodeURIComponent(form.month.value)}`;
}

function draw(b) {
  if (!b) return;
  $("best").textContent = b.best.join(", ") || "—";
  $("worst").textContent = b.worst.join(", ") || "—";
  $("open").textContent = b.open;
  $("overdue").textContent = b.overdue;
  table($("branches"), ["inspection.branch", "inspection.pass_rate", "inspection.passed", "inspection.checked",
    "inspection.open", "inspection.overdue_count"].map((k) => w(k)),
  b.branches.map((r) => [r.branch, pct(r.pass_rate), r.passed, r.checked, r.open, r.overdue]));
  table($("items"), ["inspection.item", "inspection.pass_rate", "inspection.passed", "inspection.checked"].map((k) => w(k)),
    b.items.map((i) => [lang === "en" ? i.texts.en : `${nameOf(i.texts, lang)} ${i.texts.en ?? ""}`, pct(i.pass_rate),
      i.passed, i.checked]));
}

async function show(event) {
  event?.preventDefault();
  $("csv").href = url(".csv");
  $("xlsx").href = url(".xlsx");
  try {
    last = await api("GET", url());
    $("error").hidden = true;
    draw(last);
  } catch (e) {
    $("error").hidden = false;
    $("error").textContent = errorText(lang, e);
  }
}

async function main() {
  languageSwitch($("lang"), lang, (next) => { lang = next; applyWords(lang); draw(last); });
  applyWords(lang);
  if (!(await currentStaff())) {
    await signInForm($("app"), { title: w("inspection.bulletin"), lang });
    location.reload();
    return;
  }
  $("branch-name").textContent = branch;
  $("to-inspections").href = `/manage/${encodeURIComponent(branch)}/inspections`;
  $("signout").addEventListener("click", async () => { await signOut(); location.reload(); });
  $("query").month.value = new Date().toISOString().slice(0, 7);
  $("query").addEventListener("submit", show);
  await show();
}

main();
