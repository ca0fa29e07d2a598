/**
 * Calendar specs: the string form (CalendarSpec, cron strings) compiled to the structured form the server keeps and
 * describes (StructuredCalendarSpec), its validation, and matching: the next wall-clock time a spec matches.
 * Semantics as documented in temporal/api/schedule/v1/message.proto and as Temporal's scheduler implements them
 * (ranges `x`, `x-z`, `x/y`, `x-z/y`, lists, month and weekday names, 7 = Sunday, no cron day-of-month/day-of-week
 * "or" rule, years 2000-2100).
 */
import { dayOfWeek, daysInMonth, instantsOf, wallAsUtcMs, wallClockOf, type WallClock } from './time-zone';

export interface Range {
  start?: number;
  end?: number;
  step?: number;
}

export interface StructuredCalendar {
  second?: Range[];
  minute?: Range[];
  hour?: Range[];
  dayOfMonth?: Range[];
  month?: Range[];
  year?: Range[];
  dayOfWeek?: Range[];
  comment?: string;
}

export interface CalendarStrings {
  second?: string;
  minute?: string;
  hour?: string;
  dayOfMonth?: string;
  month?: string;
  year?: string;
  dayOfWeek?: string;
  comment?: string;
}

/** A spec the server refuses (INVALID_ARGUMENT), with a message saying what is wrong. */
export class SpecError extends Error {
  override name = 'SpecError';
}

export const MIN_YEAR = 2000;
export const MAX_YEAR = 2100;

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

type Names = 'month' | 'weekday' | undefined;

function parseValue(text: string, min: number, max: number, names: Names, field: string): number {
  const lower = text.trim().toLowerCase();
  if (names === 'month' && lower.length >= 3) {
    const i = MONTHS.findIndex((m) => m.startsWith(lower));
    if (i >= 0) return i + 1;
  }
  if (names === 'weekday' && lower.length >= 2) {
    const i = WEEKDAYS.findIndex((d) => d.startsWith(lower));
    if (i >= 0) return i;
  }
  if (!/^\d+$/.test(lower)) throw new SpecError(`invalid ${field} '${text}': not a number${names ? ` or ${names} name` : ''}`);
  const n = Number(lower);
  if (n < min || n > max) throw new SpecError(`invalid ${field} '${text}': out of range [${min}-${max}]`);
  return n;
}

/** One field's string (`*`, `x`, `x-z`, `x/y`, `x-z/y`, comma lists) to ranges. */
function parseField(text: string | undefined, fallback: string, min: number, max: number, field: string, names?: Names): Range[] {
  const s = (text ?? '').trim() || fallback;
  if (field === 'year' && s === '*') return [];
  if (field === 'dayOfWeek' && s === '*') return [{ start: 0, end: 6, step: 1 }];
  const ranges: Range[] = [];
  for (const part of s.split(',')) {
    const [body, stepText, extra] = part.split('/');
    if (extra !== undefined || body === undefined) throw new SpecError(`invalid ${field} '${s}': malformed expression`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText.trim()) || Number(stepText) < 1) throw new SpecError(`invalid ${field} '${s}': step must be a positive integer`);
      step = Number(stepText);
    }
    let start = min;
    let end = max;
    if (body.trim() !== '*') {
      const bounds = body.split('-');
      if (bounds.length > 2) throw new SpecError(`invalid ${field} '${s}': malformed range`);
      start = parseValue(bounds[0], min, max, names, field);
      if (bounds.length === 2) end = parseValue(bounds[1], start, max, names, field);
      else if (stepText === undefined) end = start;
    }
    ranges.push({ start, end, step });
  }
  return field === 'dayOfWeek' ? sundayAsZero(ranges) : ranges;
}

/** 7 means Sunday in strings; the structured form only has 0-6. */
function sundayAsZero(ranges: Range[]): Range[] {
  const out: Range[] = [];
  for (const r of ranges) {
    const start = r.start ?? 0;
    const end = r.end ?? start;
    const step = r.step ?? 1;
    if (end < 7) {
      out.push(r);
      continue;
    }
    for (let v = start; v <= end; v += step) out.push({ start: v % 7, end: v % 7, step: 1 });
  }
  return out;
}

export function parseCalendar(cal: CalendarStrings): StructuredCalendar {
  return {
    second: parseField(cal.second, '0', 0, 59, 'second'),
    minute: parseField(cal.minute, '0', 0, 59, 'minute'),
    hour: parseField(cal.hour, '0', 0, 23, 'hour'),
    dayOfMonth: parseField(cal.dayOfMonth, '*', 1, 31, 'dayOfMonth'),
    month: parseField(cal.month, '*', 1, 12, 'month', 'month'),
    year: parseField(cal.year, '*', MIN_YEAR, MAX_YEAR, 'year'),
    dayOfWeek: parseField(cal.dayOfWeek, '*', 0, 7, 'dayOfWeek', 'weekday'),
    comment: cal.comment ?? '',
  };
}

const PREDEFINED: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `1h30m`, `2d`: Go duration syntax plus days, as Temporal's `@every` takes. */
export function parseDuration(text: string): number {
  const t = text.trim();
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    matched = re.lastIndex;
  }
  if (t === '' || matched !== t.length) throw new SpecError(`invalid duration '${text}' (use a number with a unit: s, m, h or d, e.g. 90m)`);
  return total;
}

export interface ParsedCron {
  calendar?: StructuredCalendar;
  interval?: { intervalMs: number; phaseMs: number };
  /** from a `TZ=` / `CRON_TZ=` prefix; '' when none */
  timeZone: string;
}

/** A cron string: 5, 6 or 7 fields, `@daily`-style shorthands, `@every 2h[/15m]`, optional `TZ=` prefix and `# comment`. */
export function parseCronString(input: string): ParsedCron {
  let c = input.trim();
  let comment = '';
  const hash = c.indexOf('#');
  if (hash >= 0) {
    comment = c.slice(hash + 1).trim();
    c = c.slice(0, hash).trim();
  }
  let timeZone = '';
  if (c.startsWith('TZ=') || c.startsWith('CRON_TZ=')) {
    const space = c.search(/\s/);
    if (space < 0) throw new SpecError(`invalid cron string '${input}': nothing after the time zone`);
    timeZone = c.slice(c.indexOf('=') + 1, space);
    c = c.slice(space).trim();
  }
  if (c.startsWith('@every')) {
    const rest = c.slice('@every'.length).trim();
    if (!rest) throw new SpecError(`invalid cron string '${input}': @every needs an interval`);
    const [every, phase] = rest.split('/');
    return { interval: { intervalMs: parseDuration(every), phaseMs: phase === undefined ? 0 : parseDuration(phase) }, timeZone };
  }
  c = PREDEFINED[c] ?? c;
  const f = c.split(/\s+/).filter((x) => x !== '');
  let cal: CalendarStrings;
  if (f.length === 5) cal = { minute: f[0], hour: f[1], dayOfMonth: f[2], month: f[3], dayOfWeek: f[4] };
  else if (f.length === 6) cal = { minute: f[0], hour: f[1], dayOfMonth: f[2], month: f[3], dayOfWeek: f[4], year: f[5] };
  else if (f.length === 7) cal = { second: f[0], minute: f[1], hour: f[2], dayOfMonth: f[3], month: f[4], dayOfWeek: f[5], year: f[6] };
  else throw new SpecError(`invalid cron string '${input}': expected 5, 6 or 7 fields, or @every/@daily/...`);
  try {
    return { calendar: parseCalendar({ ...cal, comment }), timeZone };
  } catch (err) {
    if (err instanceof SpecError) throw new SpecError(`invalid cron string '${input}': ${err.message}`);
    throw err;
  }
}

const LIMITS: [keyof StructuredCalendar, number, number][] = [
  ['second', 0, 59],
  ['minute', 0, 59],
  ['hour', 0, 23],
  ['dayOfMonth', 1, 31],
  ['month', 1, 12],
  ['year', MIN_YEAR, MAX_YEAR],
  ['dayOfWeek', 0, 6],
];

/** Validates a structured calendar and fills range defaults (end before start = start, step 0 = 1). */
export function cleanStructuredCalendar(sc: StructuredCalendar): StructuredCalendar {
  const errors: string[] = [];
  const out: StructuredCalendar = { comment: sc.comment ?? '' };
  for (const [field, min, max] of LIMITS) {
    const ranges = (sc[field] as Range[] | undefined) ?? [];
    out[field] = ranges.map((r) => {
      const start = r.start ?? 0;
      const end = r.end ?? 0;
      const step = r.step ?? 0;
      if (start < min || start > max) errors.push(`${field} start ${start} is not in range [${min}-${max}]`);
      if (end !== 0 && (end < start || end > max)) errors.push(`${field} end ${end} is before its start or not in range [${min}-${max}]`);
      if (step < 0) errors.push(`${field} step ${step} is negative`);
      return { start, end: end < start ? start : end, step: step === 0 ? 1 : step };
    }) as never;
  }
  if ((sc.comment ?? '').length > 200) errors.push('comment is longer than 200 characters');
  if (errors.length > 0) throw new SpecError(`invalid calendar spec: ${errors.join(', ')}`);
  return out;
}

function values(ranges: Range[] | undefined, max: number): number[] {
  const set = new Set<number>();
  for (const r of ranges ?? []) {
    const start = r.start ?? 0;
    const end = Math.min(max, Math.max(start, r.end ?? start));
    const step = Math.max(1, r.step ?? 1);
    for (let v = start; v <= end; v += step) set.add(v);
  }
  return [...set].sort((a, b) => a - b);
}

/** A structured calendar ready to match, in one time zone. */
export class CompiledCalendar {
  private readonly seconds: number[];
  private readonly minutes: number[];
  private readonly hours: number[];
  private readonly days: number[];
  private readonly months: number[];
  /** empty: every year */
  private readonly years: number[];
  private readonly weekdays: Set<number>;
  private readonly never: boolean;

  constructor(
    sc: StructuredCalendar,
    private readonly zone: string,
  ) {
    this.seconds = values(sc.second, 59);
    this.minutes = values(sc.minute, 59);
    this.hours = values(sc.hour, 23);
    this.days = values(sc.dayOfMonth, 31);
    this.months = values(sc.month, 12);
    this.years = values(sc.year, MAX_YEAR);
    this.weekdays = new Set(values(sc.dayOfWeek, 6));
    this.never = [this.seconds, this.minutes, this.hours, this.days, this.months].some((v) => v.length === 0) || this.weekdays.size === 0;
  }

  matches(ms: number): boolean {
    if (this.never) return false;
    const w = wallClockOf(ms, this.zone);
    return (
      (this.years.length === 0 || this.years.includes(w.year)) &&
      this.months.includes(w.month) &&
      this.days.includes(w.day) &&
      this.weekdays.has(dayOfWeek(w.year, w.month, w.day)) &&
      this.hours.includes(w.hour) &&
      this.minutes.includes(w.minute) &&
      this.seconds.includes(w.second)
    );
  }

  /**
   * The first instant after `afterMs` (whole seconds) whose wall-clock time matches; undefined when none before
   * 2101. A wall-clock time a spring-forward skips never matches; one a fall-back repeats matches twice.
   */
  next(afterMs: number): number | undefined {
    if (this.never) return undefined;
    const first = Math.floor(afterMs / 1000) * 1000 + 1000;
    // Start a few hours back in wall-clock time when a fall-back near `first` may repeat earlier wall-clock times.
    const from = this.zone && this.zone !== 'UTC' && offsetChanged(first, this.zone) ? first - 3 * 3_600_000 : first;
    let best: number | undefined;
    let bestLocal = 0;
    for (const w of this.wallTimesFrom(wallClockOf(from, this.zone))) {
      const local = wallAsUtcMs(w);
      if (best !== undefined && local > bestLocal + 3 * 3_600_000) break;
      for (const instant of instantsOf(w, this.zone)) {
        if (instant >= first && (best === undefined || instant < best)) {
          best = instant;
          bestLocal = local;
        }
      }
    }
    return best;
  }

  /** Matching wall-clock times from `from` (inclusive), in wall-clock order. */
  private *wallTimesFrom(from: WallClock): Generator<WallClock> {
    const years = this.years.length > 0 ? this.years.filter((y) => y >= from.year) : range(Math.max(from.year, MIN_YEAR - 30), MAX_YEAR);
    for (const year of years) {
      const sameYear = year === from.year;
      for (const month of this.months) {
        if (sameYear && month < from.month) continue;
        const sameMonth = sameYear && month === from.month;
        const last = daysInMonth(year, month);
        for (const day of this.days) {
          if (day > last) break;
          if (sameMonth && day < from.day) continue;
          if (!this.weekdays.has(dayOfWeek(year, month, day))) continue;
          const sameDay = sameMonth && day === from.day;
          for (const hour of this.hours) {
            if (sameDay && hour < from.hour) continue;
            const sameHour = sameDay && hour === from.hour;
            for (const minute of this.minutes) {
              if (sameHour && minute < from.minute) continue;
              const sameMinute = sameHour && minute === from.minute;
              for (const second of this.seconds) {
                if (sameMinute && second < from.second) continue;
                yield { year, month, day, hour, minute, second };
              }
            }
          }
        }
      }
    }
  }
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let y = from; y <= to; y++) out.push(y);
  return out;
}

/** Whether the zone's UTC offset changes within three hours of `ms`. */
function offsetChanged(ms: number, zone: string): boolean {
  const offset = (t: number): number => wallAsUtcMs(wallClockOf(t, zone)) - t;
  const here = offset(ms);
  return offset(ms - 3 * 3_600_000) !== here || offset(ms + 3 * 3_600_000) !== here;
}
