// format.js: how numbers, durations and times read on the lead's pages.

/** count formats an integer with thousands separators, or "—" for none. */
export function count(n) {
  return typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString('en') : '—';
}

/** counted is count(n) with the noun, plural unless n is 1 ("1 task", "3 tasks"). */
export function counted(n, noun) {
  return `${count(n)} ${noun}${n === 1 ? '' : 's'}`;
}

/** score formats an automatic metric value with three decimals. */
export function score(v) {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(3) : '—';
}

/** duration formats seconds as "45 s", "3 min 5 s" or "2 h 10 min". */
export function duration(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** hours formats an estimate of hours of work. */
export function hours(h) {
  if (typeof h !== 'number' || !Number.isFinite(h)) return '—';
  if (h < 1) return `${Math.max(1, Math.round(h * 60))} min`;
  return `${h.toLocaleString('en', { maximumFractionDigits: 1 })} h`;
}

/** when formats an ISO time for people, in their time zone. */
export function when(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return d.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'medium' });
}

/** captioner names a captioner as NAME@VERSION (NAME alone without a version). */
export function captioner(c) {
  return c.version ? `${c.name}@${c.version}` : c.name;
}
