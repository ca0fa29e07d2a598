/**
 * Metric alarms: evaluated at every emulated minute over their last EvaluationPeriods periods (M of N breaching
 * datapoints, not necessarily consecutive, missing data as TreatMissingData says); a state change publishes a
 * "CloudWatch Alarm State Change" event (detail shape as documented) and, with ActionsEnabled, notifies the SNS
 * topics of the new state's actions.
 */
import type { MetricDataQuery } from './queries';
import { runQueries } from './queries';
import { periodValues, seriesKey, type Dimension, type MetricStore, type Statistic } from './metric-store';
import type { Points } from './metric-math';

export type AlarmStateValue = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface AlarmState {
  value: AlarmStateValue;
  reason: string;
  reasonData?: string;
  timestampMs: number;
}

export interface SingleMetric {
  namespace: string;
  metricName: string;
  dimensions: Dimension[];
  statistic: Statistic;
  period: number;
  unit?: string;
}

export interface Alarm {
  name: string;
  arn: string;
  description?: string;
  actionsEnabled: boolean;
  alarmActions: string[];
  okActions: string[];
  insufficientDataActions: string[];
  metrics?: MetricDataQuery[];
  single?: SingleMetric;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  threshold: number;
  comparisonOperator: string;
  treatMissingData: 'missing' | 'notBreaching' | 'breaching' | 'ignore';
  state: AlarmState;
  configUpdatedMs: number;
  /** Evaluated up to (and including) this minute boundary. */
  evaluatedUpToMs: number;
  tags: { Key: string; Value: string }[];
}

export function periodOf(alarm: Alarm): number {
  if (alarm.single) return alarm.single.period;
  return alarm.metrics?.find((q) => q.MetricStat)?.MetricStat?.Period ?? alarm.metrics?.find((q) => q.Period)?.Period ?? 60;
}

const COMPARE: Record<string, (v: number, t: number) => boolean> = {
  GreaterThanOrEqualToThreshold: (v, t) => v >= t,
  GreaterThanThreshold: (v, t) => v > t,
  LessThanThreshold: (v, t) => v < t,
  LessThanOrEqualToThreshold: (v, t) => v <= t,
};
export const COMPARISON_OPERATORS = Object.keys(COMPARE);

const WORDS: Record<string, string> = {
  GreaterThanOrEqualToThreshold: 'greater than or equal to',
  GreaterThanThreshold: 'greater than',
  LessThanThreshold: 'less than',
  LessThanOrEqualToThreshold: 'less than or equal to',
};

/** The alarm's series over [startMs, endMs): the metric, or the expression that returns data. */
export function alarmSeries(store: MetricStore, alarm: Alarm, startMs: number, endMs: number): Points {
  if (alarm.single) {
    const s = alarm.single;
    return periodValues(store.series.get(seriesKey(s.namespace, s.metricName, s.dimensions)), s.statistic, s.period * 1000, startMs, endMs);
  }
  const results = runQueries(store, alarm.metrics ?? [], startMs, endMs);
  const out = results.find((r) => r.returnData);
  if (!out || out.value.kind !== 'series') return new Map();
  return new Map([...out.value.points].filter(([, v]) => Number.isFinite(v)));
}

/** CloudWatch's timestamp format in alarm events and reason data: 2019-10-02T17:04:40.989+0000. */
export function cloudWatchTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

function shortTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCFullYear() % 100)} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** The state the alarm should be in when evaluated at `atMs` (a period boundary), or undefined for "keep it". */
export function evaluateAlarm(store: MetricStore, alarm: Alarm, atMs: number): AlarmState | undefined {
  const periodMs = periodOf(alarm) * 1000;
  const n = alarm.evaluationPeriods;
  const m = alarm.datapointsToAlarm;
  const end = Math.floor(atMs / periodMs) * periodMs;
  const start = end - n * periodMs;
  const series = alarmSeries(store, alarm, start, end);
  const compare = COMPARE[alarm.comparisonOperator] ?? COMPARE.GreaterThanThreshold!;
  let breaching = 0;
  let present = 0;
  const evaluated: { timestamp: string; value?: number }[] = [];
  for (let k = n - 1; k >= 0; k--) {
    const t = start + k * periodMs;
    const v = series.get(t);
    if (v === undefined) {
      if (alarm.treatMissingData === 'breaching') breaching++;
      if (alarm.treatMissingData === 'breaching' || alarm.treatMissingData === 'notBreaching') present++;
      continue;
    }
    present++;
    evaluated.push({ timestamp: cloudWatchTime(t), value: v });
    if (compare(v, alarm.threshold)) breaching++;
  }
  const recent = evaluated.map((e) => e.value as number);
  const reasonData = JSON.stringify({
    version: '1.0',
    queryDate: cloudWatchTime(atMs),
    startDate: cloudWatchTime(start),
    period: periodMs / 1000,
    recentDatapoints: recent,
    threshold: alarm.threshold,
    evaluatedDatapoints: evaluated,
  });
  const points = evaluated.map((e) => `${e.value} (${shortTime(Date.parse(e.timestamp.replace('+0000', 'Z')))})`).join(', ');
  const words = WORDS[alarm.comparisonOperator] ?? 'greater than';
  if (breaching >= m) {
    return {
      value: 'ALARM',
      reason: `Threshold Crossed: ${breaching} out of the last ${n} datapoints [${points}] ${breaching === 1 ? 'was' : 'were'} ${words} the threshold (${alarm.threshold}) (minimum ${m} datapoint${m === 1 ? '' : 's'} for OK -> ALARM transition).`,
      reasonData,
      timestampMs: atMs,
    };
  }
  if (present === 0) {
    if (alarm.treatMissingData === 'ignore') return undefined;
    return { value: 'INSUFFICIENT_DATA', reason: `Insufficient Data: ${n} datapoint${n === 1 ? ' was' : 's were'} unknown.`, reasonData, timestampMs: atMs };
  }
  return {
    value: 'OK',
    reason: `Threshold Crossed: ${n - breaching} out of the last ${n} datapoints [${points}] ${n - breaching === 1 ? 'was' : 'were'} not ${words} the threshold (${alarm.threshold}) (minimum ${n - m + 1} datapoint${n - m + 1 === 1 ? '' : 's'} for ALARM -> OK transition).`,
    reasonData,
    timestampMs: atMs,
  };
}

/** The `configuration` of an alarm state change event. */
export function eventConfiguration(alarm: Alarm): unknown {
  const dims = (d: Dimension[] | undefined) => Object.fromEntries((d ?? []).map((x) => [x.Name, x.Value]));
  const metrics = alarm.single
    ? [
        {
          id: 'm1',
          metricStat: { metric: { namespace: alarm.single.namespace, name: alarm.single.metricName, dimensions: dims(alarm.single.dimensions) }, period: alarm.single.period, stat: alarm.single.statistic },
          returnData: true,
        },
      ]
    : (alarm.metrics ?? []).map((q) =>
        q.MetricStat
          ? {
              id: q.Id,
              metricStat: {
                metric: { namespace: q.MetricStat.Metric.Namespace, name: q.MetricStat.Metric.MetricName, dimensions: dims(q.MetricStat.Metric.Dimensions) },
                period: q.MetricStat.Period,
                stat: q.MetricStat.Stat,
              },
              returnData: q.ReturnData ?? true,
            }
          : { id: q.Id, expression: q.Expression, label: q.Label ?? q.Id, returnData: q.ReturnData ?? true },
      );
  return { ...(alarm.description ? { description: alarm.description } : {}), metrics };
}
