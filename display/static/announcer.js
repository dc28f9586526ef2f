/**
 * The announcement queue of one display: chime, then the call in each of the branch's
 * languages, `repeats` times. A new call never interrupts the one being spoken; calls are
 * spoken in the order they came.
 *
 *   const announcer = new Announcer({ branch: 'demo', languages: ['zh-CN', 'en'] });
 *   announcer.announce({ number: 'A023', counter: 3, seq: 41 });
 *
 * A burst is spoken faster, so that the voice keeps up with the picture:
 * - after the first call of a burst (a call that had to wait for the one before it), the
 *   short form (`A024 号，5 号窗口` / `A024, counter 5`), once, without the chime;
 * - a call already waiting, or being spoken, for the same ticket at the same counter (a recall
 *   moments after the call) is merged into it (`merged`);
 * - past MAX_BACKLOG waiting calls, the oldest one already superseded at its counter (a later
 *   call waits for that counter, or `stillCurrent(call)` says the counter has moved on) is
 *   dropped (`dropped`); a call nobody has superseded is never dropped below MAX_QUEUE.
 * `onStart(entry)` and `onEnd(entry)` tell the board what is being spoken, so it can show it.
 *
 * Each language is spoken by the browser (speechSynthesis) when it has a voice for it
 * (cmn…/zh… for Chinese, en… for English); otherwise by the server's WAV
 * (GET /api/v1/branches/{b}/announcements/{number}/{counter}.wav?lang=…) through an
 * audio element (the full form: the server makes no short one); when the server has no
 * speech engine either (503 no_tts), the chime alone.
 * Nothing here can stop the board: every failure is logged and the queue moves on.
 *
 * `log` (also window.__announcer.log on the board) holds one entry per announcement:
 * {number, counter, kind, seq, form, text, startedAt, endedAt, parts: [{lang, via, outcome, startedAt, endedAt}]},
 * times from performance.now(); form is full|short, via is speech|wav|none, outcome
 * ended|error|timeout|blocked.
 * `fast: true` (the board's ?announce=fast) plays everything quicker for tests and demos;
 * the queue behaves exactly the same.
 */

import { t } from '/static/common/i18n.js';

const MAX_QUEUE = 20;
const MAX_BACKLOG = 4;
const VOICE_WAIT_MS = 1500;
const NO_TTS_RETRY_MS = 5 * 60 * 1000;
const LOG_KEEP = 200;

const VOICE_PREFIXES = {
  'zh-CN': [/^(zh|cmn)[-_](cn|hans)/i, /^(zh|cmn)\b/i],
  'zh-TW': [/^(zh|cmn)[-_](tw|hant)/i, /^(zh|cmn)\b/i],
  en: [/^en[-_](gb|us)/i, /^en\b/i],
};

/** The short form of a call, said after the first of a burst (display/phrases.py SHORT_TEMPLATES). */
export const SHORT_CALL = {
  'zh-CN': '{number} 号，{counter} 号窗口',
  en: '{number}, counter {counter}',
  'zh-TW': '{number} 號，{counter} 號櫃檯',
};

/** A call as the board writes it, in its full or short form. */
export function callText(number, counter, lang, form = 'full') {
  if (form === 'full') return t(lang, 'announce.call', { number, counter });
  return (SHORT_CALL[lang] ?? SHORT_CALL['zh-CN']).replace('{number}', number).replace('{counter}', counter);
}

/** How a speech engine should read a call: the ticket's digits one by one. */
export function spokenText(number, counter, lang, form = 'full') {
  const [, letter, digits] = /^([A-Z]*)(\d*)$/.exec(number) ?? [null, number, ''];
  if (lang === 'en') return callText([letter, ...digits].join(' '), counter, 'en', form);
  const hanzi = '零一二三四五六七八九';
  const spelled = letter + [...digits].map((d) => hanzi[Number(d)]).join('');
  return callText(spelled, counter, lang, form).replace(/ /g, '');
}

/** A message's text in `lang`: its own, else (zh-TW) the zh-CN one, else the first given. */
function messageIn(texts, lang) {
  return texts[lang] || (lang === 'zh-TW' ? texts['zh-CN'] : '') || texts['zh-CN'] || Object.values(texts)[0] || '';
}

export class Announcer {
  constructor({
    branch, languages = ['zh-CN', 'en'], repeats = 1, chime = true, fast = false, onBlocked = () => {},
    onStart = () => {}, onEnd = () => {}, stillCurrent = () => true,
  }) {
    Object.assign(this, { branch, languages, repeats, chime, fast, onBlocked, onStart, onEnd, stillCurrent });
    this.log = [];
    this.merged = []; // calls folded into one already waiting or being spoken
    this.dropped = []; // calls left out of a long backlog, superseded at their counter
    this.queue = [];
    this.current = null;
    this.soundBlocked = false;
    this._noTtsUntil = 0;
    this._canSpeak = false; // the server has sent a WAV
    this._probe = null; // the request that will tell whether it can
    this._audioContext = null;
    this._voices = loadVoices();
  }

  /**
   * Queue a call. Returns false when it was merged into the same call waiting or being
   * spoken, or the queue is full.
   */
  announce({ number, counter, kind = 'ticket.called', seq = null }) {
    const same = (item) => item.number === number && item.counter === counter;
    if (this.queue.some(same) || (this.current && this.current.endedAt === null && same(this.current))) {
      this.merged.push({ number, counter, kind, seq });
      return false;
    }
    if (this.queue.length >= MAX_QUEUE) {
      console.warn('announcement queue full; not announcing', number);
      return false;
    }
    const item = { number, counter, kind, seq, audio: new Map() };
    this.queue.push(item);
    this._trim();
    this._prefetch(item);
    if (!this.current) this._run();
    return true;
  }

  /**
   * Queue a message (emergency mode: {lang: text}) ahead of the waiting calls, never
   * interrupting the one being said; a chime, then the message in each language by the
   * browser's voice (the server's audio is made for calls only).
   */
  announceMessage({ texts, seq = null }) {
    const item = { message: texts, kind: 'emergency', seq, audio: new Map() };
    this.queue.unshift(item);
    if (!this.current) this._run();
    return true;
  }

  /** Past MAX_BACKLOG, drop the oldest waiting calls that their counter has already moved past. */
  _trim() {
    while (this.queue.length > MAX_BACKLOG) {
      const index = this.queue.findIndex((item, i) => this._superseded(item, this.queue.slice(i + 1)));
      if (index < 0) return;
      const [gone] = this.queue.splice(index, 1);
      this.dropped.push({ number: gone.number, counter: gone.counter, kind: gone.kind, seq: gone.seq });
    }
  }

  _superseded(item, later) {
    if (item.message) return false; // a message is never dropped for a call
    if (later.some((next) => next.counter === item.counter)) return true;
    try {
      return !this.stillCurrent(item);
    } catch {
      return false;
    }
  }

  /** Resume sound after a tap when the browser blocked autoplay. */
  unlock() {
    this._context()?.resume?.();
    this.soundBlocked = false;
  }

  get busy() {
    return this.current !== null || this.queue.length > 0;
  }

  async _run() {
    let form = 'full'; // the first of a burst in full, the ones that waited for it short
    while (this.queue.length) {
      const item = this.queue.shift();
      if (item.message) form = 'full';
      const entry = {
        number: item.number,
        counter: item.counter,
        kind: item.kind,
        seq: item.seq,
        form,
        text: this.languages.map((lang) => (item.message ? messageIn(item.message, lang)
          : callText(item.number, item.counter, lang, form))).join(' / '),
        startedAt: performance.now(),
        endedAt: null,
        parts: [],
      };
      this.current = entry;
      this.log.push(entry);
      if (this.log.length > LOG_KEEP) this.log.splice(0, this.log.length - LOG_KEEP);
      this._tell(this.onStart, entry);
      try {
        if (this.chime && form === 'full') await this._chime();
        const rounds = form === 'full' ? this.repeats : 1;
        for (let round = 0; round < rounds; round += 1) {
          for (const lang of this.languages) entry.parts.push(await this._say(item, lang, form));
        }
      } catch (error) {
        console.error('announcement failed', error);
      }
      entry.endedAt = performance.now();
      for (const url of item.audio.values()) url.then((u) => u && URL.revokeObjectURL(u));
      this._tell(this.onEnd, entry);
      form = 'short';
    }
    this.current = null;
  }

  _tell(listener, entry) {
    try {
      listener(entry);
    } catch (error) {
      console.error('announcement listener failed', error);
    }
  }

  // --- speaking one language -------------------------------------------------------------

  async _say(item, lang, form = 'full') {
    const part = { lang, via: 'none', outcome: 'ended', startedAt: performance.now(), endedAt: null };
    const voice = pickVoice(await this._voices, lang);
    if (item.message) {
      if (voice) {
        part.via = 'speech';
        part.outcome = await this._speak(messageIn(item.message, lang), voice, lang);
      }
      part.endedAt = performance.now();
      return part;
    }
    if (voice) {
      part.via = 'speech';
      part.outcome = await this._speak(spokenText(item.number, item.counter, lang, form), voice, lang);
    } else {
      if (!item.audio.has(lang)) item.audio.set(lang, this._fetchWav(item, lang));
      const url = await item.audio.get(lang);
      if (url) {
        part.via = 'wav';
        part.outcome = await this._play(url);
      }
    }
    part.endedAt = performance.now();
    return part;
  }

  async _prefetch(item) {
    const voices = await this._voices;
    for (const lang of this.languages) {
      if (!pickVoice(voices, lang)) item.audio.set(lang, this._fetchWav(item, lang));
    }
  }

  /** A blob URL of the server's WAV for this call, or null (no speech engine, network trouble). */
  async _fetchWav({ number, counter }, lang) {
    // Until the server has shown it can speak, one request at a time: a burst of calls to a
    // server without espeak-ng then costs one 503, not one per call and language.
    while (this._probe) await this._probe;
    if (Date.now() < this._noTtsUntil) return null;
    const path = `/api/v1/branches/${encodeURIComponent(this.branch)}/announcements/`
      + `${encodeURIComponent(number)}/${encodeURIComponent(counter)}.wav?lang=${encodeURIComponent(lang)}`;
    const download = this._download(path);
    if (!this._canSpeak) {
      const probe = download.then(() => {
        if (this._probe === probe) this._probe = null;
      });
      this._probe = probe;
    }
    return download;
  }

  async _download(path) {
    try {
      const response = await fetch(path);
      if (!response.ok) {
        if (response.status === 503) {
          this._canSpeak = false;
          this._noTtsUntil = Date.now() + NO_TTS_RETRY_MS;
        }
        return null;
      }
      this._canSpeak = true;
      return URL.createObjectURL(await response.blob());
    } catch {
      return null;
    }
  }

  _play(url) {
    return new Promise((resolve) => {
      const audio = new Audio();
      let timer = null;
      const done = (outcome) => {
        clearTimeout(timer);
        audio.onended = audio.onerror = audio.onloadedmetadata = null;
        audio.pause();
        resolve(outcome);
      };
      audio.onended = () => done('ended');
      audio.onerror = () => done('error');
      audio.onloadedmetadata = () => {
        // A safety net, never reached when the audio plays: a stuck element must not stop the queue.
        clearTimeout(timer);
        timer = setTimeout(() => done('timeout'), (audio.duration / audio.playbackRate) * 1000 + 3000);
      };
      timer = setTimeout(() => done('timeout'), 20000);
      audio.src = url;
      audio.playbackRate = this.fast ? 8 : 1;
      audio.play().catch((error) => {
        if (error?.name === 'NotAllowedError') this._blocked();
        done(error?.name === 'NotAllowedError' ? 'blocked' : 'error');
      });
    });
  }

  _speak(text, voice, lang) {
    return new Promise((resolve) => {
      const utterance = new SpeechSynthesisUtterance(text);
      utterance.voice = voice;
      utterance.lang = voice.lang || lang;
      utterance.rate = this.fast ? 3 : 0.9;
      const timer = setTimeout(() => done('timeout'), 15000);
      const done = (outcome) => {
        clearTimeout(timer);
        utterance.onend = utterance.onerror = null;
        if (outcome === 'timeout') speechSynthesis.cancel(); // a stuck engine must not hold the next call
        resolve(outcome);
      };
      utterance.onend = () => done('ended');
      utterance.onerror = (e) => {
        if (e.error === 'not-allowed') this._blocked();
        done(e.error === 'not-allowed' ? 'blocked' : 'error');
      };
      speechSynthesis.speak(utterance);
    });
  }

  // --- the chime -------------------------------------------------------------------------

  _context() {
    if (!this._audioContext && typeof AudioContext === 'function') {
      try {
        this._audioContext = new AudioContext();
      } catch {
        return null;
      }
    }
    return this._audioContext;
  }

  /** Two falling tones ("ding-dong"), made with WebAudio: no file to ship or load. */
  async _chime() {
    const context = this._context();
    const step = this.fast ? 0.08 : 0.45;
    const ring = this.fast ? 0.15 : 0.9;
    if (context) {
      if (context.state === 'suspended') context.resume().catch(() => {});
      if (context.state === 'suspended') this._blocked();
      const start = context.currentTime + 0.02;
      [659.25, 523.25].forEach((frequency, i) => {
        const at = start + i * step;
        const oscillator = context.createOscillator();
        const gain = context.createGain();
        oscillator.type = 'sine';
        oscillator.frequency.value = frequency;
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.4, at + 0.01);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + ring);
        oscillator.connect(gain).connect(context.destination);
        oscillator.start(at);
        oscillator.stop(at + ring + 0.05);
      });
    }
    // Wait out the chime by the clock: a suspended context must not hold the queue forever.
    await new Promise((resolve) => setTimeout(resolve, (step + ring) * 1000));
  }

  _blocked() {
    if (this.soundBlocked) return;
    this.soundBlocked = true;
    this.onBlocked();
  }
}

/** The voices the browser has, once it has told (Chrome fills the list late), or none after a while. */
function loadVoices() {
  if (typeof speechSynthesis === 'undefined') return Promise.resolve([]);
  const now = speechSynthesis.getVoices();
  if (now.length) return Promise.resolve(now);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(speechSynthesis.getVoices()), VOICE_WAIT_MS);
    speechSynthesis.addEventListener('voiceschanged', () => {
      clearTimeout(timer);
      resolve(speechSynthesis.getVoices());
    }, { once: true });
  });
}

function pickVoice(voices, lang) {
  for (const pattern of VOICE_PREFIXES[lang] ?? []) {
    const voice = voices.find((v) => pattern.test(v.lang));
    if (voice) return voice;
  }
  return null;
}
