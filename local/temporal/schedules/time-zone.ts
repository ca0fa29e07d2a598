/**
 * Wall-clock time in an IANA time zone, through the platform's Intl (ICU) time-zone data: the fields of an instant,
 * and the instants a wall-clock time stands for (none in a spring-forward gap, two in a fall-back hour), which is
 * how Temporal's calendar specs treat daylight saving time.
 */

export interface WallClock {
  year: number;
  /** 1-12 */
  month: number;
  /** 1-31 */
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Throws a RangeError naming the zone when the platform does not know it. */
export function checkTimeZone(zone: string): void {
  if (zone === '' || zone === 'UTC') return;
  try {
    formatter(zone);
  } catch {
    throw new RangeError(`unknown time zone '${zone}' (give an IANA name such as 'Europe/Berlin', or UTC)`);
  }
}

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

function isUtc(zone: string): boolean {
  return zone === '' || zone === 'UTC';
}

/** The wall-clock fields of `ms` in `zone` (whole seconds). */
export function wallClockOf(ms: number, zone: string): WallClock {
  if (isUtc(zone)) {
    const d = new Date(ms);
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
  }
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year, month: parts.month, day: parts.day, hour: parts.hour % 24, minute: parts.minute, second: parts.second };
}

/** The wall-clock fields read as if they were UTC: a number that orders wall-clock times. */
export function wallAsUtcMs(w: WallClock): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
}

/** ms to add to an instant to get its wall-clock time (read as UTC) in `zone`. */
function offsetAt(ms: number, zone: string): number {
  const secondMs = Math.floor(ms / 1000) * 1000;
  return wallAsUtcMs(wallClockOf(secondMs, zone)) - secondMs;
}

/** Every instant whose wall-clock time in `zone` is `w`, ascending: usually one, none in a gap, two in an overlap. */
export function instantsOf(w: WallClock, zone: string): number[] {
  const local = wallAsUtcMs(w);
  if (isUtc(zone)) return [local];
  const offsets = new Set([offsetAt(local - DAY_MS, zone), offsetAt(local, zone), offsetAt(local + DAY_MS, zone)]);
  const out: number[] = [];
  for (const offset of offsets) {
    const candidate = local - offset;
    if (offsetAt(candidate, zone) === offset && !out.includes(candidate)) out.push(candidate);
  }
  return out.sort((a, b) => a - b);
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** 0 = Sunday */
export function dayOfWeek(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay();
}
