/**
 * The counter-top screen, /display/{branch}/counter/{n}: what counter n is doing, for the
 * customer walking up to it: the ticket called or being served, or paused, closed, or
 * "next customer please wait". It uses the display's device token and stays silent
 * (the board announces).
 *
 * URL options: ?token=… or ?code=… (once), ?lang=zh-CN|en|zh-TW (else the branch's).
 * The state is on #serving as data-state: called | serving | idle | paused | closed | unknown.
 * Notices show here as on the board: an emergency covers the whole screen, an ordinary one
 * runs along the bottom; each in the screen's language with the English text beside it.
 */

import { connect } from '/static/common/live.js';
import { deviceTokenOrEnroll } from '/static/common/device.js';
import { languageOf, nameOf, t } from '/static/common/i18n.js';
import { emergencyText, emergencyTitle } from '/static/common/emergency.js';

const params = new URL(location.href).searchParams;
const [, , branchId, , numberText] = location.pathname.split('/');
const counterNumber = Number(numberText);
const $ = (id) => document.getElementById(id);
let lang = languageOf(params.get('lang') ?? document.documentElement.lang);
let enrollProblem = null; // a refused ?code=…, shown as the reason of the refusal
const token = await deviceTokenOrEnroll('display', { onProblem: (message) => { enrollProblem = message; } });

const live = connect({
  role: 'display',
  branch: decodeURIComponent(branchId ?? ''),
  token,
  onChange: render,
  onStatus,
});
window.__counter = { live };

function render(state) {
  lang = languageOf(params.get('lang') ?? state.branch?.language);
  document.documentElement.lang = lang;
  const counter = state.counters?.find((c) => c.number === counterNumber);
  const name = counter ? nameOf(counter.names, lang) : t(lang, 'display.counter', { counter: counterNumber });
  $('counter-name').textContent = name;
  document.title = `${name} · branchq`;
  const view = describe(counter);
  const serving = $('serving');
  if (serving.dataset.state !== view.state || $('number').textContent !== view.number) {
    serving.dataset.state = view.state; // (re)starts the call animation only when something changed
  }
  $('headline').textContent = view.headline;
  $('number').textContent = view.number;
  $('detail').textContent = view.detail;
  renderNotices(state.notices ?? [], state.emergency ?? null);
}

function renderNotices(notices, incident) {
  // Emergency mode (the incident in force) covers the whole screen, a drill marked 演练 DRILL.
  $('emergency').hidden = !incident;
  $('emergency').classList.toggle('drill', Boolean(incident?.drill));
  $('emergency-title').textContent = incident ? emergencyTitle(incident, lang) : '';
  $('emergency-text').textContent = incident ? bilingual(emergencyText(incident, lang), incident.texts?.en) : '';
  const others = notices;
  $('notice').hidden = !others.length;
  $('notice-text').textContent = others.map(noticeText).join('  ·  ');
}

function noticeText(notice) {
  const main = nameOf(notice.texts, lang);
  return bilingual(main, notice.texts?.en);
}

function bilingual(main, english) {
  return lang !== 'en' && english && english !== main ? `${main} · ${english}` : main;
}

/** The fixed reason a public screen may show (never the teller's own words). */
function pauseWhy(counter) {
  return counter.pause_code ? t(lang, `display.pause_${counter.pause_code}`) : '';
}

function describe(counter) {
  if (!counter) return { state: 'unknown', headline: '', number: '', detail: '' };
  if (counter.state === 'closed') {
    return { state: 'closed', headline: t(lang, 'display.counter_closed'), number: '', detail: '' };
  }
  const paused = counter.state === 'paused'
    ? [t(lang, 'display.counter_paused'), pauseWhy(counter)].filter(Boolean).join(' · ')
    : '';
  const current = counter.current;
  // A teller may pause while still serving: the customer at the counter comes first.
  if (current?.state === 'called') {
    return {
      state: 'called', headline: t(lang, 'display.counter_called', { number: current.number }),
      number: current.number, detail: paused,
    };
  }
  if (current) {
    return { state: 'serving', headline: t(lang, 'display.counter_serving'), number: current.number, detail: paused };
  }
  if (counter.state === 'paused') {
    return { state: 'paused', headline: t(lang, 'display.counter_paused'), number: '', detail: pauseWhy(counter) };
  }
  return { state: 'idle', headline: t(lang, 'display.counter_idle'), number: '', detail: '' };
}

function onStatus(status) {
  document.body.dataset.status = status;
  $('status').textContent = {
    connecting: t(lang, 'common.connecting'),
    reconnecting: t(lang, 'common.reconnecting'),
    refused: t(lang, 'common.refused', { reason: [enrollProblem, live?.refused].filter(Boolean).join(' · ') }),
  }[status] ?? '';
}

onStatus('connecting');
