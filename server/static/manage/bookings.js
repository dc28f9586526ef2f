// The dashboard's "today's bookings": per service and slot, how many are booked, checked in, due
// (the slot has begun, within the grace time), late (past it), no-show and cancelled, as the
// server counts them (GET …/bookings?date=: {services: [{service, slots: [tally]}]}).
import { both } from "/static/common/i18n.js";
import { slotTime } from "/static/book/common.js";

const COLUMNS = ["booked", "checked_in", "due", "late", "no_show", "cancelled"];
/** Counts a manager must act on: shown in amber when not zero. */
const WATCH = new Set(["late", "no_show"]);

/** The rows of the table, one per service and slot that has any booking, in slot order. */
export function bookingRows(answer) {
  const rows = [];
  for (const { service, slots } of answer?.services ?? []) {
    for (const s of slots) {
      if (COLUMNS.some((c) => s[c])) rows.push({ service, ...s });
    }
  }
  return rows.sort((a, b) => a.start.localeCompare(b.start) || a.service.localeCompare(b.service));
}

/** Draw today's bookings into `table` (a <table>) in `lang`. */
export function drawBookings(table, answer, lang) {
  const rows = bookingRows(answer);
  const head = ["booking.dash_slot", "booking.dash_service", ...COLUMNS.map((c) => `booking.dash_${c}`)];
  table.replaceChildren();
  const tr = table.createTHead().insertRow();
  for (const h of head) tr.append(Object.assign(document.createElement("th"), { textContent: both(lang, h) }));
  const body = table.createTBody();
  if (!rows.length) {
    const cell = body.insertRow().insertCell();
    cell.colSpan = head.length;
    cell.textContent = both(lang, "booking.dash_none");
    return;
  }
  for (const r of rows) {
    const line = body.insertRow();
    line.dataset.service = r.service;
    line.dataset.slot = r.slot;
    line.insertCell().textContent = slotTime(r);
    line.insertCell().textContent = r.service;
    for (const c of COLUMNS) {
      const cell = line.insertCell();
      cell.textContent = String(r[c] ?? 0);
      cell.dataset.count = c;
      if (WATCH.has(c) && r[c]) cell.className = "amber";
    }
  }
}
