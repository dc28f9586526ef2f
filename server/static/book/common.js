// What the booking pages share: a slot's time on the branch's wall clock, the days a booking
// may be made for, the "when to set off" advice of remote queueing, and the slot a booking names.
import { t } from "/static/common/i18n.js";
import { branchTime, offsetOf } from "/static/complaints/common.js";

export { RequestError, newKey, send } from "/static/complaints/common.js";

/** How many days ahead the day picker offers (the server refuses days beyond its own limit). */
export const DAYS_AHEAD = 14;

/** The next `count` calendar dates from `today` ("2026-12-04"), as YYYY-MM-DD. */
export function nextDays(today, count = DAYS_AHEAD) {
  const [y, m, d] = today.split("-").map(Number);
  return Array.from({ length: count }, (_, i) => new Date(Date.UTC(y, m - 1, d + i)).toISOString().slice(0, 10));
}

/** Today on this phone's calendar (the branch's customers live where the branch is). */
export function localToday(now = new Date()) {
  return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

/** "12月5日 周六" / "Sat 5 Dec" for a YYYY-MM-DD. */
export function dayLabel(lang, date) {
  const at = new Date(`${date}T12:00:00Z`);
  const weekday = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"][at.getUTCDay()];
  return t(lang, "booking.day_label", { m: at.getUTCMonth() + 1, d: at.getUTCDate(), w: t(lang, `weekday.${weekday}`) });
}

/** A day's button: the date, and under it the weekday (with "today" or "tomorrow" for the first two). */
export function dayButtonWords(lang, date, index) {
  const at = new Date(`${date}T12:00:00Z`);
  const weekday = t(lang, `weekday.${["sun", "mon", "tue", "wed", "thu", "fri", "sat"][at.getUTCDay()]}`);
  const near = index === 0 ? t(lang, "booking.today") : index === 1 ? t(lang, "booking.tomorrow") : "";
  return { label: t(lang, "booking.day_short", { m: at.getUTCMonth() + 1, d: at.getUTCDate() }),
    note: near ? `${weekday} · ${near}` : weekday };
}

/** "09:30–10:00" on the branch's clock (the slot's instants carry the branch's offset). */
export function slotTime(slot) {
  const hm = (iso) => branchTime(iso, iso).slice(11, 16);
  return `${hm(slot.start)}–${hm(slot.end)}`;
}

/**
 * A ticket's appointment as a line's words ("09:30"): the server gives the slot's start (an
 * instant), a page may have the whole slot ({start, end}); null for a walk-in. With the branch's
 * time zone (`zone`, as staff pages' live state names it) the instant is read on its clock,
 * else in the offset it is written with.
 */
export function appointmentTime(appointment, zone = null) {
  if (!appointment) return null;
  if (typeof appointment !== "string") return appointment.start ? slotTime(appointment) : null;
  if (zone) {
    try {
      return new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
        .format(new Date(appointment));
    } catch {
      // an unknown zone: the written offset below
    }
  }
  return branchTime(appointment, appointment).slice(11, 16);
}

/** The slot's date on the branch's calendar. */
export function slotDate(slot) {
  return branchTime(slot.start, slot.start, { dateOnly: true });
}

/**
 * The slot a booking is for, whatever way the answer gives it: an object {slot, start, end},
 * or the opaque id with `start`/`end` beside it on the booking.
 */
export function slotOf(booking) {
  if (booking?.slot && typeof booking.slot === "object") return booking.slot;
  return { slot: booking?.slot ?? null, start: booking?.start ?? booking?.slot_start, end: booking?.end ?? booking?.slot_end };
}

/**
 * When to set off for a ticket taken now: "go" once the wait is no longer than the way there,
 * else "wait" with the minutes left before setting off. No estimate (no counter open): null.
 */
export function advice(waitSeconds, travelMinutes) {
  if (waitSeconds === null || waitSeconds === undefined || !Number.isFinite(travelMinutes)) return null;
  const waitMinutes = Math.round(waitSeconds / 60);
  return waitMinutes <= travelMinutes ? { go: true, in: 0 } : { go: false, in: waitMinutes - travelMinutes };
}

export { offsetOf };
