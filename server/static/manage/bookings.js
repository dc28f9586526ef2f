// The dashboard's "today's bookings": per service and slot, how many are booked, checked in,
// late (the slot has begun and the customer has not checked in) and no-show, from the server's
// list of today's bookings. It takes either answer the server may give: rows already counted
// per service and slot, or the bookings themselves, which it counts here.
import { both } from "/static/common/i18n.js";
import { slotTime } from "/static/book/common.js";

const COLUMNS = ["booked", "checked_in", "late", "no_show", "cancelled"];

/** The rows of the table, one per service and slot, in slot order. */
export function bookingRows(answer, now = Date.now()) {
  const list = Array.isArray(answer) ? answer : answer?.bookings ?? answer?.slots ?? [];
  const rows = new Map();
  for (const item of list) {
    const slot = item.slot && typeof item.slot === "object" ? item.slot : item;
    const key = `${item.service}|${slot.start}`;
    const row = rows.get(key) ?? { service: item.service, start: slot.start, end: slot.end,
      booked: 0, checked_in: 0, late: 0, no_show: 0, cancelled: 0 };
    if (item.counts || COLUMNS.some((c) => typeof item[c] === "number")) {
      for (const c of COLUMNS) row[c] += Number((item.counts ?? item)[c] ?? 0);
    } else {
      const state = item.state;
      if (state === "cancelled") row.cancelled += 1;
      else {
        row.booked += 1;
        if (state === "checked_in" || state === "served" || state === "done") row.checked_in += 1;
        else if (state === "no_show") row.no_show += 1;
        else if (state === "late" || Date.parse(slot.start) < now) row.late += 1;
      }
    }
    rows.set(key, row);
  }
  return [...rows.values()].sort((a, b) => a.start.localeCompare(b.start) || a.service.localeCompare(b.service));
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
    for (const value of [slotTime(r), r.service, ...COLUMNS.map((c) => r[c])]) line.insertCell().textContent = String(value);
    if (r.late) line.cells[2 + COLUMNS.indexOf("late")].className = "amber";
    if (r.no_show) line.cells[2 + COLUMNS.indexOf("no_show")].className = "amber";
  }
}
