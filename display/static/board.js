/**
 * The waiting-area board, /display/{branch}: the call being announced large (or, when the
 * voice is quiet, the newest call), a panel per open counter with the number it serves, how
 * many wait for each service, notices, the clock in the branch's time zone; and the
 * announcements, which the picture follows: the call being spoken is the one shown large and
 * highlighted, at its counter too, while it is spoken.
 *
 * URL options: ?token=… or ?code=… (once; kept by device.js), ?lang=zh-CN|en|zh-TW (else the branch's),
 * ?langs=zh-CN,en (announcement languages; else the branch's configured ones), ?repeats=1–3,
 * ?announce=off|fast (silent, or quick for tests and demos).
 * Test hooks: window.__announcer (its .log), window.__board ({live, render, shown}); shown lists
 * what the large panel showed each time an announcement began: {number, counter, seq, highlighted}.
 */

import { connect } from '/static/common/live.js';
import { deviceTokenOrEnroll } from '/static/common/device.js';
import { languageOf, nameOf, t } from '/static/common/i18n.js';
import { Announcer } from './announcer.js';
import { emergencyText, emergencyTitle } from '/static/common/emergency.js';

const HIGHLIGHT_MS = 8000;
const NOTICE_EVERY_MS = 10000;
const MISSED_CALLS_ANNOUNCED = 3;
const SHOWN_KEEP = 100;

/** The board's own words, beside the common table (which has every other display.* key). */
const WORDS = {
  'zh-CN': { 'display.desks': '各窗口当前号码', 'display.desk_waiting': '请稍候' },
  en: { 'display.desks': 'At each counter', 'display.desk_waiting': 'Please wait' },
  'zh-TW': { 'display.desks': '各櫃檯目前號碼', 'display.desk_waiting': '請稍候' },
};
const word = (language, key, params) => WORDS[language]?.[key] ?? WORDS['zh-CN'][key] ?? t(language, key, params);

const params = new URL(location.href).searchParams;
const branchId = decodeURIComponent(location.pathname.split('/')[2] ?? '');
let enrollProblem = null; // a refused ?code=…, shown as the reason of the refusal
const token = await deviceTokenOrEnroll('display', { onProblem: (message) => { enrollProblem = message; } });
const $ = (id) => document.getElementById(id);

let lang = languageOf(params.get('lang') ?? document.documentElement.lang);
let announcer = null;
let speaking = null; // the announcer's entry being spoken: the board shows it
let highlightTimer = null;
let lastCallSeq = null; // the newest call this page has shown (and announced)
let noticeIndex = 0;
const shown = [];

const live = connect({ role: 'display', branch: branchId, token, onChange, onStatus });
window.__board = { live, render: () => live.state && render(live.state), shown };

function onChange(state, change) {
  if (change.kind === 'snapshot') {
    lang = languageOf(params.get('lang') ?? state.branch?.language);
    document.documentElement.lang = lang;
    setUpAnnouncer(state);
    if (change.resync) announceMissed(state);
    else lastCallSeq = state.calls?.[0]?.seq ?? null;
  } else if (change.event.kind === 'emergency.started') {
    // Emergency mode is announced as a call is: chime, then the message in each language.
    const incident = change.event.data;
    const texts = Object.fromEntries(['zh-CN', 'en', 'zh-TW'].map((l) => [
      l, `${incident.drill ? `${t(l, 'emergency.drill')} ` : ''}${t(l, 'display.emergency')}: ${emergencyText(incident, l)}`]));
    announcer?.announceMessage({ texts, seq: change.event.seq });
  } else if (change.event.kind === 'ticket.called' || change.event.kind === 'ticket.recalled') {
    const { seq, kind, data } = change.event;
    lastCallSeq = seq;
    if (announcer) announcer.announce({ number: data.number, counter: data.counter, kind, seq });
    else highlight(seq);
  }
  render(state);
}

/** After an outage: calls made meanwhile are announced (the latest few), the newest highlighted. */
function announceMissed(state) {
  const missed = todaysCalls(state.calls ?? []).filter((c) => lastCallSeq === null || c.seq > lastCallSeq);
  if (!missed.length) return;
  lastCallSeq = missed[0].seq;
  if (!announcer) highlight(missed[0].seq);
  for (const call of missed.slice(0, MISSED_CALLS_ANNOUNCED).reverse()) {
    announcer?.announce({ number: call.number, counter: call.counter, kind: call.kind, seq: call.seq });
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
      onStart: startedSpeaking, onEnd: stoppedSpeaking, stillCurrent: stillCurrent,
    });
    window.__announcer = announcer;
  } else {
    Object.assign(announcer, { languages, repeats, chime }); // the branch's settings may have changed
  }
}

function startedSpeaking(entry) {
  if (entry.kind === 'emergency') return; // a message: the full-screen notice already shows it
  speaking = entry;
  if (!live.state) return;
  render(live.state);
  shown.push({
    number: $('now-number').textContent, counter: Number($('now').dataset.counter), seq: entry.seq,
    highlighted: $('now').classList.contains('highlight'),
  });
  if (shown.length > SHOWN_KEEP) shown.splice(0, shown.length - SHOWN_KEEP);
}

function stoppedSpeaking(entry) {
  if (speaking !== entry) return;
  speaking = null;
  if (live.state && !announcer?.queue.length) render(live.state); // the next one starts at once otherwise
}

/** Whether a waiting announcement still names its counter's ticket (not once the counter moved on). */
function stillCurrent({ number, counter }) {
  const desk = live.state?.counters?.find((c) => c.number === counter);
  return !desk?.current || desk.current.number === number;
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
  renderNow(state, speaking ?? calls[0]);
  renderDesks(state);
  renderServices(state.services ?? []);
  renderNotices(state.notices ?? []);
  drawClock();
  fitAll();
}

function renderLabels() {
  for (const el of document.querySelectorAll('[data-i18n]')) {
    const key = el.dataset.i18n;
    const main = word(lang, key);
    if (el.dataset.shown === `${lang}:${main}`) continue;
    el.dataset.shown = `${lang}:${main}`;
    el.textContent = main;
    if (lang !== 'en') {
      const sub = document.createElement('small');
      sub.className = 'sub';
      sub.lang = 'en';
      sub.textContent = word('en', key);
      el.append(sub);
    }
  }
}

/** The branch's time zone (the device's until the first snapshot names it). */
function zone() {
  return live.state?.branch?.timezone || undefined;
}

function dayOf(date) {
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone: zone(), year: 'numeric', month: '2-digit', day: '2-digit' })
      .format(date);
  } catch {
    return date.toDateString(); // an unknown zone name: the device's day
  }
}

/** Calls of the branch's current day: after midnight yesterday's last calls are not shown. */
function todaysCalls(calls) {
  const today = dayOf(new Date());
  const unique = [];
  for (const call of calls) {
    if (dayOf(new Date(call.at)) !== today) continue;
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

/** The large panel: the call being spoken, highlighted; else the newest call. */
function renderNow(state, call) {
  const now = $('now');
  now.dataset.seq = call?.seq ?? '';
  now.dataset.kind = call?.kind ?? '';
  now.dataset.counter = call?.counter ?? '';
  $('now-number').textContent = call ? call.number : '';
  $('now-counter').textContent = call ? counterName(state, call.counter) : '';
  $('now-note').textContent = !call
    ? t(lang, 'display.no_calls')
    : call.kind === 'ticket.recalled' ? t(lang, 'display.recalled') : '';
  now.classList.toggle('empty', !call);
  if (announcer) {
    const on = speaking !== null && call === speaking;
    if (on && now.dataset.highlight !== String(speaking.seq)) restartHighlight(now, speaking.seq);
    if (!on) now.classList.remove('highlight');
  }
}

/** A panel per open counter (and per paused one still serving someone), in counter order. */
function renderDesks(state) {
  const list = $('desks');
  const desks = (state.counters ?? []).filter((c) => c.state === 'open' || c.current);
  const items = desks.map((desk) => {
    const li = document.createElement('li');
    li.className = 'desk';
    li.dataset.counter = desk.number;
    li.dataset.state = desk.current?.state ?? (desk.state === 'open' ? 'idle' : desk.state);
    const name = document.createElement('span');
    name.className = 'counter-name';
    name.textContent = nameOf(desk.names, lang);
    const number = document.createElement('span');
    number.className = 'number';
    number.textContent = desk.current?.number ?? '';
    if (!desk.current) {
      number.classList.add('idle');
      number.textContent = word(lang, 'display.desk_waiting');
    }
    li.classList.toggle('announcing', speaking !== null && speaking.counter === desk.number);
    li.append(name, number);
    return li;
  });
  list.replaceChildren(...items);
  const { cols, rows } = grid(items.length, list.clientWidth, list.clientHeight, 2.2);
  list.style.setProperty('--cols', String(cols));
  list.style.setProperty('--rows', String(rows));
}

/** Columns and rows for n tiles in a w×h box, making tiles as large as they can be near `ratio` (w:h). */
function grid(n, w, h, ratio) {
  let best = { cols: 1, rows: Math.max(1, n), size: 0 };
  for (let cols = 1; cols <= Math.max(1, n); cols += 1) {
    const rows = Math.ceil(Math.max(1, n) / cols);
    const size = Math.min(w / cols, (h / rows) * ratio);
    if (size > best.size) best = { cols, rows, size };
  }
  return best;
}

function renderServices(services) {
  const shownServices = services.filter((s) => s.active);
  const portrait = window.innerHeight > window.innerWidth;
  const n = Math.max(1, shownServices.length);
  // Landscape: one row up to 8 services, then three rows; portrait: two columns, three past 8.
  const cols = portrait ? (n <= 2 ? n : n <= 8 ? 2 : 3) : n <= 8 ? n : Math.ceil(n / 3);
  const rows = Math.ceil(n / cols);
  document.body.dataset.serviceRows = String(rows); // board.css gives the strip more room for more rows
  const items = shownServices.map((service) => {
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
  list.style.setProperty('--cols', String(cols));
  list.style.setProperty('--rows', String(rows));
  list.dataset.rows = rows > 1 || portrait ? 'many' : 'one';
  list.replaceChildren(...items);
}

/**
 * Notices (state.notices, once the server sends them: [{id, text | {lang: text}, level}]):
 * an emergency one takes the whole screen; the others take turns in the ticker.
 */
function renderNotices(notices) {
  // Emergency mode (state.emergency, the incident in force) covers the board, a drill marked 演练 DRILL.
  const incident = live.state?.emergency ?? null;
  const emergency = incident ? { texts: fallbackTexts(incident) } : null;
  $('emergency').hidden = !emergency;
  $('emergency').classList.toggle('drill', Boolean(incident?.drill));
  $('emergency').querySelector('h2').textContent = incident ? emergencyTitle(incident, lang) : t(lang, 'display.emergency');
  showNotice($('emergency-text'), emergency);
  const others = notices;
  if (others.length) showNotice($('ticker'), others[noticeIndex % others.length]);
  else {
    $('ticker').textContent = t(lang, 'display.ticker_default');
    delete $('ticker').dataset.notice;
  }
}

/** The incident's texts with the board's language filled from the nearest one given. */
function fallbackTexts(incident) {
  return { ...incident.texts, [lang]: emergencyText(incident, lang) };
}

/** A notice in the board's language with its English text beside it, as the board's labels are. */
function showNotice(el, notice) {
  const texts = notice?.texts ?? notice?.text ?? notice?.message ?? '';
  const main = notice ? nameOf(texts, lang) : '';
  const english = typeof texts === 'object' && lang !== 'en' && texts.en && texts.en !== main ? texts.en : '';
  const shownAs = `${main}\u0000${english}`;
  if (el.dataset.notice === shownAs) return; // the ticker redraws every few seconds
  el.dataset.notice = shownAs;
  el.textContent = main;
  if (english) {
    const sub = document.createElement('small');
    sub.className = 'sub';
    sub.lang = 'en';
    sub.textContent = english;
    el.append(el.id === 'ticker' ? ' · ' : document.createElement('br'), sub);
  }
}

setInterval(() => {
  noticeIndex += 1;
  if (live.state) renderNotices(live.state.notices ?? []);
}, NOTICE_EVERY_MS);

/**
 * Shrink each text that does not fit its box (a long service or counter name, a long
 * number) until it does: names are never cut short, whatever their length and the screen.
 */
function fit(el) {
  el.classList.remove('wrapped');
  el.style.fontSize = '';
  const base = parseFloat(getComputedStyle(el).fontSize);
  shrink(el);
  // A long service name that would shrink past legibility on one line takes two instead.
  if (el.matches('.service-name') && parseFloat(getComputedStyle(el).fontSize) < 0.8 * base) {
    el.classList.add('wrapped');
    el.style.fontSize = '';
    shrink(el);
  }
}

function shrink(el) {
  let size = parseFloat(getComputedStyle(el).fontSize);
  // The line heights in board.css leave room for the font's tallest glyphs, so a text
  // taller than its box has really been squeezed by its neighbours.
  const over = () => el.scrollWidth > el.clientWidth + 0.5 || el.scrollHeight > el.clientHeight + 0.5;
  for (let i = 0; i < 30 && size > 6 && over(); i += 1) {
    size *= 0.92;
    el.style.fontSize = `${size}px`;
  }
}

function fitAll() {
  for (const el of document.querySelectorAll(
    '.branch-name, #now-number, #now-counter, .desk .counter-name, .desk .number, .services .service-name, .services .count',
  )) fit(el);
}

window.addEventListener('resize', () => live.state && render(live.state));

/** Highlight the newest call (again, for a recall) when no voice announces it; data-highlight says which event. */
function highlight(seq) {
  restartHighlight($('now'), seq);
  clearTimeout(highlightTimer);
  highlightTimer = setTimeout(() => $('now').classList.remove('highlight'), HIGHLIGHT_MS);
}

function restartHighlight(now, seq) {
  now.dataset.highlight = seq;
  now.classList.remove('highlight');
  void now.offsetWidth; // restart the animation for a recall of the same call
  now.classList.add('highlight');
}

// --- the clock ----------------------------------------------------------------------------

/** The time and date in the branch's zone, drawn once the snapshot has named it. */
function drawClock() {
  const timeZone = zone();
  if (!timeZone) return;
  const now = new Date();
  try {
    $('clock-time').textContent = now.toLocaleTimeString(lang, { timeZone, hour: '2-digit', minute: '2-digit', hour12: false });
    $('clock-date').textContent = now.toLocaleDateString(lang, { timeZone, month: 'long', day: 'numeric', weekday: 'short' });
  } catch {
    $('clock-time').textContent = now.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit', hour12: false });
  }
}

function tick() {
  drawClock();
  setTimeout(tick, 1000 - (Date.now() % 1000) + 5);
}

renderLabels();
onStatus('connecting');
tick();
