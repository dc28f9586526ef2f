// How the report page writes figures (a module of its own so that it can be tested alone).

/** Seconds as m:ss (h:mm:ss from an hour), rounded to the second first: 239.6 s is 4:00, never 3:60. */
export function duration(seconds) {
  const whole = Math.round(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export function format(value, kind) {
  if (value === null || value === undefined) return "—";
  if (kind === "duration") return duration(value);
  if (kind === "share") return `${(value * 100).toFixed(1)}%`;
  if (kind === "rating") return value.toFixed(2);
  return String(value);
}
