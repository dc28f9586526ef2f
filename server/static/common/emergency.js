// Emergency mode as every screen shows it: state.emergency (the snapshot's incident in force,
// or null) in the screen's language, a drill marked 演练 DRILL, and which services it stops.
import { t } from '/static/common/i18n.js';

/** Where a language without its own message looks next (server/domain/emergency.py FALLBACK). */
const FALLBACK = { 'zh-CN': ['zh-CN', 'zh-TW', 'en'], 'zh-TW': ['zh-TW', 'zh-CN', 'en'], en: ['en', 'zh-CN', 'zh-TW'] };

/** The incident's message in `lang`, or the nearest one given. */
export function emergencyText(incident, lang) {
  const texts = incident?.texts ?? {};
  for (const l of FALLBACK[lang] ?? FALLBACK['zh-CN']) if (texts[l]) return texts[l];
  return '';
}

/** The heading: 紧急通知 · Emergency notice, or for a drill 演练 DRILL first. */
export function emergencyTitle(incident, lang) {
  const title = [t(lang, 'display.emergency'), lang === 'en' ? '' : t('en', 'display.emergency')].filter(Boolean).join(' · ');
  return incident?.drill ? `${t(lang, 'emergency.drill')} · ${title}` : title;
}

/** Whether the incident stops issuing of service `code`. */
export function stopsService(incident, code) {
  if (!incident) return false;
  return incident.scope === 'all' || (Array.isArray(incident.scope) && incident.scope.includes(code));
}

/** Whether it stops every service (the screen is covered, not just some buttons off). */
export const stopsAll = (incident) => Boolean(incident) && incident.scope === 'all';
