/** Schedule specs of the embedded server: which times cron strings, calendars and intervals match, in time zones. */
import { describe, expect, it } from 'vitest';
import { CompiledSpec } from '../../local/temporal/schedules/spec';
import { SpecError } from '../../local/temporal/schedules/calendar';

const H = 3_600_000;
const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();
const sec = (ms: number) => ({ seconds: ms / 1000, nanos: 0 });

function times(spec: ConstructorParameters<typeof CompiledSpec>[0], from: string, count: number, seed = 's'): string[] {
  const c = new CompiledSpec(spec);
  const out: string[] = [];
  for (let t = c.next(at(from), seed); t && out.length < count; t = c.next(t.nominal, seed)) out.push(iso(t.actual));
  return out;
}

describe('schedule specs', () => {
  it('matches a cron string on the listed weekdays, and describes it as a structured calendar', () => {
    expect(times({ cronString: ['0 12 * * MON-WED,FRI'] }, '2026-03-05T13:00:00Z', 4)).toEqual([
      '2026-03-06T12:00:00.000Z',
      '2026-03-09T12:00:00.000Z',
      '2026-03-10T12:00:00.000Z',
      '2026-03-11T12:00:00.000Z',
    ]);
    const cal = new CompiledSpec({ cronString: ['0 12 * * MON-WED,FRI'] }).canonical.structuredCalendar?.[0];
    expect(cal?.hour).toEqual([{ start: 12, end: 12, step: 1 }]);
    expect(cal?.dayOfWeek).toEqual([
      { start: 1, end: 3, step: 1 },
      { start: 5, end: 5, step: 1 },
    ]);
    expect(cal?.year).toEqual([]);
  });

  it('keeps 09:00 local time across a daylight saving change (TZ= prefix or timezone_name)', () => {
    const expected = ['2026-03-07T14:00:00.000Z', '2026-03-08T13:00:00.000Z', '2026-03-09T13:00:00.000Z'];
    expect(times({ cronString: ['TZ=America/New_York 0 9 * * *'] }, '2026-03-07T00:00:00Z', 3)).toEqual(expected);
    expect(times({ calendar: [{ hour: '9', dayOfMonth: '*' }], timezoneName: 'America/New_York' }, '2026-03-07T00:00:00Z', 3)).toEqual(expected);
  });

  it('skips a wall-clock time the spring-forward removes and matches twice one the fall-back repeats', () => {
    // 02:30 does not exist in New York on 2026-03-08.
    expect(times({ cronString: ['30 2 * * *'], timezoneName: 'America/New_York' }, '2026-03-07T00:00:00Z', 2)).toEqual(['2026-03-07T07:30:00.000Z', '2026-03-09T06:30:00.000Z']);
    // 01:30 happens twice on 2026-11-01 (EDT, then EST).
    expect(times({ cronString: ['30 1 * * *'], timezoneName: 'America/New_York' }, '2026-10-31T12:00:00Z', 3)).toEqual([
      '2026-11-01T05:30:00.000Z',
      '2026-11-01T06:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
    ]);
  });

  it('matches intervals with a phase from the epoch, and @every', () => {
    expect(times({ interval: [{ interval: sec(H), phase: sec(19 * 60_000) }] }, '2026-01-01T00:30:00Z', 2)).toEqual(['2026-01-01T01:19:00.000Z', '2026-01-01T02:19:00.000Z']);
    expect(times({ cronString: ['@every 2h/30m'] }, '2026-01-01T00:00:00Z', 2)).toEqual(['2026-01-01T00:30:00.000Z', '2026-01-01T02:30:00.000Z']);
  });

  it('leaves out excluded times and keeps within start and end', () => {
    const weekends = { dayOfWeek: [{ start: 0, end: 0 }, { start: 6, end: 6 }], second: [{ start: 0 }], minute: [{ start: 0 }], hour: [{ start: 0, end: 23 }], dayOfMonth: [{ start: 1, end: 31 }], month: [{ start: 1, end: 12 }] };
    expect(times({ cronString: ['@daily'], excludeStructuredCalendar: [weekends] }, '2026-03-06T01:00:00Z', 2)).toEqual(['2026-03-09T00:00:00.000Z', '2026-03-10T00:00:00.000Z']);
    expect(times({ cronString: ['@daily'], startTime: sec(at('2026-05-01T00:00:00Z')), endTime: sec(at('2026-05-02T00:00:00Z')) }, '2026-01-01T00:00:00Z', 5)).toEqual([
      '2026-05-01T00:00:00.000Z',
      '2026-05-02T00:00:00.000Z',
    ]);
  });

  it('adds the same jitter for the same schedule and time, never past the next nominal time', () => {
    const spec = { interval: [{ interval: sec(60_000) }], jitter: sec(10 * 60_000) };
    const a = new CompiledSpec(spec).next(at('2026-01-01T00:00:00Z'), 'ns-a');
    const b = new CompiledSpec(spec).next(at('2026-01-01T00:00:00Z'), 'ns-a');
    expect(a).toEqual(b);
    const delays = new Set<number>();
    for (let t = new CompiledSpec(spec).next(0, 'x'), i = 0; t && i < 50; t = new CompiledSpec(spec).next(t.nominal, 'x'), i++) {
      expect(t.actual - t.nominal).toBeGreaterThanOrEqual(0);
      expect(t.actual - t.nominal).toBeLessThan(60_000);
      delays.add(t.actual - t.nominal);
    }
    expect(delays.size).toBeGreaterThan(10);
  });

  it('refuses invalid specs with a message naming the problem', () => {
    expect(() => new CompiledSpec({ cronString: ['0 25 * * *'] })).toThrow(/hour '25': out of range/);
    expect(() => new CompiledSpec({ cronString: ['* * *'] })).toThrow(SpecError);
    expect(() => new CompiledSpec({ structuredCalendar: [{ hour: [{ start: 42 }] }] })).toThrow(/hour start 42/);
    expect(() => new CompiledSpec({ interval: [{ interval: sec(60_000), phase: sec(120_000) }] })).toThrow(/phase/);
    expect(() => new CompiledSpec({ cronString: ['0 9 * * *'], timezoneName: 'Mars/Olympus' })).toThrow(/unknown time zone/);
  });
});
