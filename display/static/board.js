/**
 * The waiting-area board, /display/{branch}: the newest call large, the calls before it,
 * how many wait for each service, notices, the clock; and the announcements.
 *
 * URL options: ?token=… or ?code=… (once; kept by device.js), ?lang=zh-CN|en|zh-TW (else the branch's),
 * ?langs=zh-CN,en (announcement languages; else the branch's configured ones), ?repeats=1–3,
 * ?announce=off|fast (silent, or quick for tests and demos).
 * Test hooks: window.__announcer (its .log), window.__board ({live, render}).
 */

import { connect } from '/static/common/live.js';
import { deviceTokenOrEnroll } from '/static/common/device.js';
import { languageOf, nameOf, t } from '/static/common/i18n.js';
import { Announcer } from './announcer.js';

const HIGHLIGHT_MS = 8000;
const NOTICE_EVERY_MS = 10000;
const MISSED_CALLS_ANNOUNCED = 3;

const params = new URL(location.href).searchParams;
const branchId = decodeURIComponent(location.pathname.split('/')[2] ?? '');
let enrollProblem = null; // a refused ?code=…, shown as the reason of the refusal
const token = await deviceTokenOrEnroll('display', { onProblem: (message) => { enrollProblem = message; } });
const $ = (id) => document.getElementById(id);

let lang = languageOf(params.get('lang') ?? document.documentElement.lang);
let announcer = null;
let highlightTimer = null;
let lastCallSeq = null; // the newest call this page has shown (and announced)
let noticeIndex = 0;

const live = connect({ role: 'display', branch: branchId, token, onChange, onStatus });
window.__board = { live, render: () => live.state && render(live.state) };

function onChange(state, change) {
  if (change.kind === 'snapshot') {
    lang = languageOf(params.get('lang') ?? state.branch?.language);
    document.documentElement.lang = lang;
    setUpAnnouncer(state);
    if (change.resync) announceMissed(state);
    else lastCallSeq = state.calls?.[0]?.seq ?? null;
  } else if (change.event.kind === 'ticket.called' || change.event.kind === 'ticket.recalled') {
    const { seq, kind, data } = change.event;
    lastCallSeq = seq;
    highlight(seq);
    announcer?.announce({ number: data.number, counter: data.counter, kind });
  }
  render(state);
}

/** After an outage: calls made meanwhile are announced (the latest few), the newest highlighted. */
function announceMissed(state) {
  const missed = todaysCalls(state.calls ?? []).filter((c) => lastCallSeq === null || c.seq > lastCallSeq);
  if (missed.length) {
    lastCallSeq = missed[0].seq;
    highlight(missed[0].seq);
    for (const call of missed.slice(0, MISSED_CALLS_ANNOUNCED).reverse()) {
      announcer?.announce({ number: call.number, counter: call.counter, kind: call.kind });
    }
  }
}

function setUpAnnouncer(state) {
  const mode = params.get('announce');
  if (mode === 'off') return;
  const branchLanguage = languageOf(state.branch?.language);
  const settings = state.branch?.announcements ?? {}; // the branch's configuration; the URL overrides it
  const languages = params.get('langs')
    ? params.get('langs').split(',').map(languageOf)
    : settings.languages?.length ? settings.languages.map(languageOf) : [...new Set([branchLanguage, 'en'])];
  const repeats = Math.min(3, Math.max(1, Number(params.get('repeats') ?? settings.repeat ?? 1) || 1));
  const chime = settings.chime !== false;
  if (!announcer) {
    announcer = new Announcer({
      branch: branchId, languages, repeats, chime, fast: mode === 'fast', onBlocked: showSoundBlocked,
    });
    window.__announcer = announcer;
  } else {
    Object.assign(announcer, { languages, repeats, chime }); // the branch's settings may have changed
  }
}

function onStatus(status) {
  document.body.dataset.status = status;
  const text = {
    connecting: t(lang, 'common.connecting'),
    reconnecting: t(lang, 'common.reconnecting'),
    refused: t(lang, 'common.refused', { reason: [enrollProblem, live.refused].filter(Boolean).join(' · ') }),
  }[status] ?? '';
  $('status').textContent = text;
}

function showSoundBlocked() {
  const button = $('sound');
  button.textContent = t(lang, 'common.sound_blocked');
  button.hidden = false;
}

document.addEventListener('pointerdown', () => {
  if (announcer?.soundBlocked) announcer.unlock();
  $('sound').hidden = true;
});

// --- drawing ------------------------------------------------------------------------------

function render(state) {
  renderLabels();
  $('branch-name').textContent = nameOf(state.branch?.names, lang);
  document.title = `${nameOf(state.branch?.names, lang)} · branchq`;
  const calls = todaysCalls(state.calls ?? []);
  renderNow(state, calls[0]);
  renderRecent(state, calls.slice(1));
  renderServices(state.services ?? []);
  renderNotices(state.notices ?? []);
}

function renderLabels() {
  for (const el of document.querySelectorAll('[data-i18n]')) {
    const key = el.dataset.i18n;
    const main = t(lang, key);
    if (el.dataset.shown === `${lang}:${main}`) continue;
    el.dataset.shown = `${lang}:${main}`;
    el.textContent = main;
    if (lang !== 'en') {
      const sub = document.createElement('small');
      sub.className = 'sub';
      sub.lang = 'en';
      sub.textContent = t('en', key);
      el.append(sub);
    }
  }
}

/** Calls of the branch's current day: after midnight yesterday's last calls are not shown. */
function todaysCalls(calls) {
  const today = new Date().toDateString();
  const unique = [];
  for (const call of calls) {
    if (new Date(call.at).toDateString() !== today) continue;
    // A recall repeats a call already in the list: show each ticket at each counter once.
    if (unique.some((c) => c.number === call.number && c.counter === call.counter)) continue;
    unique.push(call);
  }
  return unique;
}

function counterName(state, number) {
  const counter = state.counters?.find((c) => c.number === number);
  return counter ? nameOf(counter.names, lang) : t(lang, 'display.counter', { counter: number });
}

function renderNow(state, call) {
  const now = $('now');
  now.dataset.seq = call?.seq ?? '';
  now.dataset.kind = call?.kind ?? '';
  $('now-number').textContent = call ? call.number : '';
  $('now-counter').textContent = call ? counterName(state, call.counter) : '';
  $('now-note').textContent = !call
    ? t(lang, 'display.no_calls')
    : call.kind === 'ticket.recalled' ? t(lang, 'display.recalled') : '';
  now.classList.toggle('empty', !call);
}

function renderRecent(state, calls) {
  const list = $('recent');
  const slots = Number(getComputedStyle(list).getPropertyValue('--slots')) || 6;
  const rows = calls.slice(0, slots).map((call) => {
    const li = document.createElement('li');
    li.dataset.seq = call.seq;
    const number = document.createElement('span');
    number.className = 'number';
    number.textContent = call.number;
    const counter = document.createElement('span');
    counter.className = 'counter-name';
    counter.textContent = counterName(state, call.counter);
    li.append(number, counter);
    return li;
  });
  list.replaceChildren(...rows);
}

function renderServices(services) {
  const items = services.filter((s) => s.active).map((service) => {
    const li = document.createElement('li');
    li.dataset.code = service.code;
    li.classList.toggle('has-green', service.green_waiting > 0);
    const name = document.createElement('span');
    name.className = 'service-name';
    name.textContent = `${service.code} ${nameOf(service.names, lang)}`;
    const count = document.createElement('span');
    count.className = 'count';
    count.textContent = t(lang, 'display.waiting_count', { count: service.waiting });
    const green = document.createElement('span');
    green.className = 'green';
    green.textContent = service.green_waiting ? t(lang, 'display.green_waiting', { count: service.green_waiting }) : '';
    li.append(name, count, green);
    return li;
  });
  const list = $('services');
  list.style.setProperty('--count', String(Math.max(1, items.length)));
  list.replaceChildren(...items);
}

/**
 * Notices (state.notices, once the server sends them: [{id, text | {lang: text}, level}]):
 * an emergency one takes the whole screen; the others take turns in the ticker.
 */
function renderNotices(notices) {
  const emergency = notices.find((n) => n.level === 'emergency' || n.emergency);
  $('emergency').hidden = !emergency;
  $('emergency-text').textContent = emergency ? noticeText(emergency) : '';
  const others = notices.filter((n) => n !== emergency);
  $('ticker').textContent = others.length
    ? noticeText(others[noticeIndex % others.length])
    : t(lang, 'display.ticker_default');
}

function noticeText(notice) {
  return nameOf(notice.texts ?? notice.text ?? notice.message ?? '', lang);
}

setInterval(() => {
  noticeIndex += 1;
  if (live.state) renderNotices(live.state.notices ?? []);
}, NOTICE_EVERY_MS);

/** Highlight the newest call (again, for a recall); data-highlight says which event did it. */
function highlight(seq) {
  const now = $('now');
  now.dataset.highlight = seq;
  now.classList.remove('highlight');
  void now.offsetWidth; // restart the animation for a recall of the same call
  now.classList.add('highlight');
  clearTimeout(highlightTimer);
  highlightTimer = setTimeout(() => now.classList.remove('highlight'), HIGHLIGHT_MS);
}

// --- the clock ----------------------------------------------------------------------------

function tick() {
  const now = new Date();
  $('clock-time').textContent = now.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit', hour12: false });
  $('clock-date').textContent = now.toLocaleDateString(lang, { month: 'long', day: 'numeric', weekday: 'short' });
  setTimeout(tick, 1000 - (Date.now() % 1000) + 5);
}

renderLabels();
onStatus('connecting');
tick();
