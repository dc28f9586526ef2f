/**
 * The one table of every screen's words: one object per language, zh-CN first (the default),
 * then English, then Traditional Chinese (Hong Kong, Macau, Taiwan branches).
 *
 *   import { t, nameOf, languageOf } from '/static/common/i18n.js';
 *   t('zh-CN', 'display.counter', { counter: 3 })   // "3 号窗口"
 *   nameOf({ 'zh-CN': '现金', en: 'Cash' }, 'zh-TW') // "现金" (falls back to zh-CN)
 *
 * Keys are "screen.thing" (display.*, announce.*, common.*); a screen adds its own block of
 * keys to every language. A key missing in a language falls back to zh-CN, then to the key
 * itself, so a missing word shows up as text, never as "undefined".
 * `announce.call` must stay the same as CALL_TEMPLATES in display/phrases.py (a test checks).
 */

export const LANGUAGES = ['zh-CN', 'en', 'zh-TW'];
export const DEFAULT_LANGUAGE = 'zh-CN';

/** Each language's own name, for language pickers. */
export const LANGUAGE_NAMES = { 'zh-CN': '简体中文', en: 'English', 'zh-TW': '繁體中文' };

export const STRINGS = {
  'zh-CN': {
    'common.connecting': '正在连接…',
    'common.reconnecting': '连接中断，正在重新连接…',
    'common.refused': '设备未获授权：{reason}',
    'common.sound_blocked': '声音被浏览器阻止，请点击屏幕',

    'display.now_calling': '请到窗口办理',
    'display.recent_calls': '最近叫号',
    'display.ticket': '号码',
    'display.counter_col': '窗口',
    'display.counter': '{counter} 号窗口',
    'display.waiting': '等候人数',
    'display.waiting_count': '{count} 人',
    'display.green_waiting': '绿色通道 {count}',
    'display.no_calls': '请留意叫号',
    'display.ticker_default': '请保管好您的号码单，留意屏幕和语音叫号。过号请到服务台。',
    'display.emergency': '紧急通知',
    'display.recalled': '再次呼叫',

    'display.counter_serving': '正在办理',
    'display.counter_called': '请 {number} 号到本窗口',
    'display.counter_idle': '请稍候，即将叫号',
    'display.counter_paused': '暂停服务',
    'display.counter_closed': '本窗口已关闭',

    'announce.call': '请 {number} 号到 {counter} 号窗口',
  },
  en: {
    'common.connecting': 'Connecting…',
    'common.reconnecting': 'Connection lost, reconnecting…',
    'common.refused': 'Device not authorised: {reason}',
    'common.sound_blocked': 'Sound blocked by the browser: tap the screen',

    'display.now_calling': 'Now calling',
    'display.recent_calls': 'Recent calls',
    'display.ticket': 'Ticket',
    'display.counter_col': 'Counter',
    'display.counter': 'Counter {counter}',
    'display.waiting': 'Waiting',
    'display.waiting_count': '{count}',
    'display.green_waiting': 'Priority {count}',
    'display.no_calls': 'Please watch for your number',
    'display.ticker_default': 'Please keep your ticket and watch the screen. Missed your call? Ask at the information desk.',
    'display.emergency': 'Emergency notice',
    'display.recalled': 'Calling again',

    'display.counter_serving': 'Now serving',
    'display.counter_called': 'Ticket {number}, please come to this counter',
    'display.counter_idle': 'Next customer, please wait',
    'display.counter_paused': 'Paused',
    'display.counter_closed': 'Closed',

    'announce.call': 'Ticket {number}, please go to counter {counter}',
  },
  'zh-TW': {
    'common.connecting': '正在連線…',
    'common.reconnecting': '連線中斷，正在重新連線…',
    'common.refused': '裝置未獲授權：{reason}',
    'common.sound_blocked': '聲音被瀏覽器阻止，請點擊螢幕',

    'display.now_calling': '請到櫃檯辦理',
    'display.recent_calls': '最近叫號',
    'display.ticket': '號碼',
    'display.counter_col': '櫃檯',
    'display.counter': '{counter} 號櫃檯',
    'display.waiting': '等候人數',
    'display.waiting_count': '{count} 人',
    'display.green_waiting': '綠色通道 {count}',
    'display.no_calls': '請留意叫號',
    'display.ticker_default': '請保管好您的號碼單，留意螢幕和語音叫號。過號請到服務台。',
    'display.emergency': '緊急通知',
    'display.recalled': '再次呼叫',

    'display.counter_serving': '正在辦理',
    'display.counter_called': '請 {number} 號到本櫃檯',
    'display.counter_idle': '請稍候，即將叫號',
    'display.counter_paused': '暫停服務',
    'display.counter_closed': '本櫃檯已關閉',

    'announce.call': '請 {number} 號到 {counter} 號櫃檯',
  },
};

/** A supported language for any tag: "zh", "zh-Hans" → zh-CN; "zh-HK", "zh-Hant" → zh-TW; "en-GB" → en. */
export function languageOf(tag) {
  if (!tag) return DEFAULT_LANGUAGE;
  const lower = String(tag).toLowerCase();
  const exact = LANGUAGES.find((l) => l.toLowerCase() === lower);
  if (exact) return exact;
  if (/^zh-(tw|hk|mo|hant)/.test(lower)) return 'zh-TW';
  if (lower.startsWith('zh') || lower.startsWith('cmn')) return 'zh-CN';
  if (lower.startsWith('en')) return 'en';
  return DEFAULT_LANGUAGE;
}

/** The words of `key` in `lang`, with {name} placeholders filled from `params`. */
export function t(lang, key, params = {}) {
  const table = STRINGS[languageOf(lang)];
  const text = table[key] ?? STRINGS[DEFAULT_LANGUAGE][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** A name given in several languages ({"zh-CN": …, "en": …}), in `lang` or the nearest one. */
export function nameOf(names, lang) {
  if (names == null) return '';
  if (typeof names === 'string') return names;
  const want = languageOf(lang);
  return names[want] ?? names[DEFAULT_LANGUAGE] ?? names.en ?? Object.values(names)[0] ?? '';
}
