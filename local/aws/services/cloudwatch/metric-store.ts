/**
 * CloudWatch's metric data, shared with the services that publish into it directly (a processing job's per-host
 * metrics each emulated minute), as AWS services do. Plain data, so a state directory keeps it.
 */
import type { EmulatorScope } from '../../service';

export interface Dimension {
  Name: string;
  Value: string;
}

/** Statistic values of the datapoints at one timestamp (several PutMetricData calls may hit one). */
export interface Aggregate {
  sum: number;
  count: number;
  min: number;
  max: number;
}

export interface Series {
  namespace: string;
  metricName: string;
  /** Sorted by name: one series per set of dimensions, whatever order a caller gave. */
  dimensions: Dimension[];
  unit?: string;
  /** Epoch ms -> aggregate. */
  points: Map<number, Aggregate>;
}

export interface MetricStore {
  series: Map<string, Series>;
}

export const METRIC_STORE_KEY = 'cloudwatch-metrics';

export function metricStoreOf(scope: EmulatorScope): MetricStore {
  return scope.shared(METRIC_STORE_KEY, () => ({ series: new Map<string, Series>() }));
}

export function sortedDimensions(dimensions: readonly Dimension[] | undefined): Dimension[] {
  return [...(dimensions ?? [])].map((d) => ({ Name: d.Name, Value: d.Value })).sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

export function seriesKey(namespace: string, metricName: string, dimensions: readonly Dimension[] | undefined): string {
  return [namespace, metricName, ...sortedDimensions(dimensions).map((d) => `${d.Name}=${d.Value}`)].join('\u0000');
}

export function putDatapoint(
  store: MetricStore,
  m: { namespace: string; metricName: string; dimensions?: readonly Dimension[]; unit?: string },
  timestampMs: number,
  value: Aggregate,
): void {
  const key = seriesKey(m.namespace, m.metricName, m.dimensions);
  let series = store.series.get(key);
  if (!series) {
    series = { namespace: m.namespace, metricName: m.metricName, dimensions: sortedDimensions(m.dimensions), ...(m.unit ? { unit: m.unit } : {}), points: new Map() };
    store.series.set(key, series);
  }
  const old = series.points.get(timestampMs);
  series.points.set(
    timestampMs,
    old ? { sum: old.sum + value.sum, count: old.count + value.count, min: Math.min(old.min, value.min), max: Math.max(old.max, value.max) } : value,
  );
}

export function single(value: number): Aggregate {
  return { sum: value, count: 1, min: value, max: value };
}

export type Statistic = 'Average' | 'Sum' | 'Minimum' | 'Maximum' | 'SampleCount';
export const STATISTICS: readonly Statistic[] = ['Average', 'Sum', 'Minimum', 'Maximum', 'SampleCount'];

/** One value per period start in [startMs, endMs): the statistic of the datapoints in that period (periods without data are absent). */
export function periodValues(series: Series | undefined, stat: Statistic, periodMs: number, startMs: number, endMs: number): Map<number, number> {
  const buckets = new Map<number, Aggregate>();
  if (!series) return new Map();
  for (const [t, a] of series.points) {
    if (t < startMs || t >= endMs) continue;
    const p = Math.floor(t / periodMs) * periodMs;
    const b = buckets.get(p);
    buckets.set(p, b ? { sum: b.sum + a.sum, count: b.count + a.count, min: Math.min(b.min, a.min), max: Math.max(b.max, a.max) } : { ...a });
  }
  const out = new Map<number, number>();
  for (const [p, a] of [...buckets].sort((x, y) => x[0] - y[0])) {
    out.set(p, stat === 'Average' ? a.sum / a.count : stat === 'Sum' ? a.sum : stat === 'Minimum' ? a.min : stat === 'Maximum' ? a.max : a.count);
  }
  return out;
}
