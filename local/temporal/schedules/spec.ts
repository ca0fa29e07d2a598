/**
 * A ScheduleSpec compiled: its canonical form (calendar strings and cron strings turned into structured calendars
 * and intervals, as DescribeSchedule returns it) and the times it matches, with exclusions, start/end bounds and
 * deterministic jitter.
 */
import { createHash } from 'node:crypto';
import type { Duration, Timestamp } from '../proto-types';
import { durationFromMs, msFromDuration, msFromTimestamp } from '../time-format';
import { CompiledCalendar, SpecError, cleanStructuredCalendar, parseCalendar, parseCronString, type CalendarStrings, type StructuredCalendar } from './calendar';
import { checkTimeZone } from './time-zone';

export interface IntervalSpecMessage {
  interval?: Duration;
  phase?: Duration;
}

export interface ScheduleSpecMessage {
  structuredCalendar?: StructuredCalendar[];
  cronString?: string[];
  calendar?: CalendarStrings[];
  interval?: IntervalSpecMessage[];
  excludeCalendar?: CalendarStrings[];
  excludeStructuredCalendar?: StructuredCalendar[];
  startTime?: Timestamp | null;
  endTime?: Timestamp | null;
  jitter?: Duration | null;
  timezoneName?: string;
  timezoneData?: Uint8Array | null;
}

export interface NextTime {
  /** the matching time, before jitter */
  nominal: number;
  /** when the action is due: nominal plus jitter */
  actual: number;
}

/** Never look further than this many exclusions for one next time: a spec that excludes everything ends. */
const MAX_EXCLUDED_STEPS = 10_000;

export class CompiledSpec {
  readonly canonical: ScheduleSpecMessage;
  private readonly calendars: CompiledCalendar[];
  private readonly excludes: CompiledCalendar[];
  private readonly intervals: { every: number; phase: number }[];
  private readonly startMs?: number;
  private readonly endMs?: number;
  private readonly jitterMs: number;

  /** Throws SpecError when the spec is invalid. */
  constructor(spec: ScheduleSpecMessage | undefined) {
    this.canonical = canonicalize(spec ?? {});
    const zone = this.canonical.timezoneName ?? '';
    this.calendars = (this.canonical.structuredCalendar ?? []).map((c) => new CompiledCalendar(c, zone));
    this.excludes = (this.canonical.excludeStructuredCalendar ?? []).map((c) => new CompiledCalendar(c, zone));
    this.intervals = (this.canonical.interval ?? []).map((i) => ({ every: Math.floor(msFromDuration(i.interval) / 1000), phase: Math.floor(msFromDuration(i.phase) / 1000) }));
    this.startMs = this.canonical.startTime ? msFromTimestamp(this.canonical.startTime) : undefined;
    this.endMs = this.canonical.endTime ? msFromTimestamp(this.canonical.endTime) : undefined;
    this.jitterMs = msFromDuration(this.canonical.jitter);
  }

  /** The first time after `afterMs` the spec matches, or undefined when it matches nothing more. */
  next(afterMs: number, jitterSeed: string): NextTime | undefined {
    let after = afterMs;
    if (this.startMs !== undefined && after < this.startMs) after = this.startMs - 1000;
    let nominal: number | undefined;
    for (let i = 0; i < MAX_EXCLUDED_STEPS; i++) {
      nominal = this.rawNext(after);
      if (nominal === undefined || (this.endMs !== undefined && nominal > this.endMs)) return undefined;
      if (!this.excludes.some((x) => x.matches(nominal as number))) break;
      after = nominal;
      nominal = undefined;
    }
    if (nominal === undefined) return undefined;
    let maxJitter = this.jitterMs;
    if (maxJitter > 0) {
      // Jitter never pushes an action past the next nominal time.
      const following = this.rawNext(nominal);
      if (following !== undefined) maxJitter = Math.min(maxJitter, following - nominal);
    }
    return { nominal, actual: nominal + jitter(jitterSeed, nominal, maxJitter) };
  }

  /** Every matching time in (fromMs, toMs], at most `limit`. */
  matchingTimes(fromMs: number, toMs: number, jitterSeed: string, limit: number): NextTime[] {
    const out: NextTime[] = [];
    for (let t = this.next(fromMs, jitterSeed); t && t.actual <= toMs && out.length < limit; t = this.next(t.nominal, jitterSeed)) out.push(t);
    return out;
  }

  private rawNext(after: number): number | undefined {
    let best: number | undefined;
    for (const c of this.calendars) {
      const t = c.next(after);
      if (t !== undefined && (best === undefined || t < best)) best = t;
    }
    const ts = Math.floor(after / 1000);
    for (const { every, phase } of this.intervals) {
      const t = (Math.floor((ts - phase) / every) + 1) * every + phase;
      if (best === undefined || t * 1000 < best) best = t * 1000;
    }
    return best;
  }
}

/** Deterministic jitter in [0, max): the same schedule and nominal time always get the same delay. */
function jitter(seed: string, nominal: number, maxMs: number): number {
  if (maxMs <= 0) return 0;
  const hash = createHash('sha256').update(`${seed}/${nominal}`).digest();
  return Math.floor((hash.readUInt32BE(0) / 2 ** 32) * maxMs);
}

/** Compiles calendar and cron strings into the structured form, validates, and fills defaults. */
export function canonicalize(spec: ScheduleSpecMessage): ScheduleSpecMessage {
  if (spec.timezoneData && spec.timezoneData.length > 0) {
    throw new SpecError('timezone_data is not supported by the embedded server; give the IANA name in timezone_name');
  }
  const structured: StructuredCalendar[] = [...(spec.structuredCalendar ?? [])];
  const intervals: IntervalSpecMessage[] = [...(spec.interval ?? [])];
  for (const cal of spec.calendar ?? []) structured.push(parseCalendar(cal));
  const excludes: StructuredCalendar[] = [...(spec.excludeStructuredCalendar ?? [])];
  for (const cal of spec.excludeCalendar ?? []) excludes.push(parseCalendar(cal));
  let zone = spec.timezoneName ?? '';
  let cronZone: string | undefined;
  for (const cron of spec.cronString ?? []) {
    const parsed = parseCronString(cron);
    if (cronZone !== undefined && parsed.timeZone !== cronZone) throw new SpecError('conflicting time zone names: every cron string must name the same time zone (or none)');
    cronZone = parsed.timeZone;
    if (parsed.calendar) structured.push(parsed.calendar);
    if (parsed.interval) intervals.push({ interval: durationFromMs(parsed.interval.intervalMs), phase: durationFromMs(parsed.interval.phaseMs) });
  }
  if (cronZone) {
    if (zone && zone !== cronZone) throw new SpecError(`conflicting time zone names: the cron strings say ${cronZone}, timezone_name says ${zone}`);
    zone = cronZone;
  }
  try {
    checkTimeZone(zone);
  } catch (err) {
    throw new SpecError(err instanceof Error ? err.message : String(err));
  }
  for (const i of intervals) {
    const every = msFromDuration(i.interval);
    const phase = msFromDuration(i.phase);
    if (every < 1000) throw new SpecError('invalid interval: it must be at least one second');
    if (phase < 0) throw new SpecError('invalid interval: the phase is negative');
    if (phase >= every) throw new SpecError('invalid interval: the phase must be shorter than the interval');
  }
  if (msFromDuration(spec.jitter) < 0) throw new SpecError('invalid jitter: it is negative');
  if (spec.startTime && spec.endTime && msFromTimestamp(spec.endTime) < msFromTimestamp(spec.startTime)) throw new SpecError('invalid spec: end_time is before start_time');
  return {
    structuredCalendar: structured.map(cleanStructuredCalendar),
    interval: intervals.map((i) => ({ interval: i.interval, phase: i.phase ?? durationFromMs(0) })),
    excludeStructuredCalendar: excludes.map(cleanStructuredCalendar),
    startTime: spec.startTime ?? undefined,
    endTime: spec.endTime ?? undefined,
    jitter: spec.jitter ?? undefined,
    timezoneName: zone,
  };
}
