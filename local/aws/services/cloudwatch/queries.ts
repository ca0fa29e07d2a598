/**
 * A list of MetricDataQuery items (GetMetricData, or a metric-math alarm) evaluated over a time range: metric
 * queries give one value per period, expressions are metric math over them (metric-math.ts).
 */
import { evaluate, metricsFilters, parseExpression, referencedIds, MetricMathError, type MathValue, type Points } from './metric-math';
import { periodValues, seriesKey, STATISTICS, type Dimension, type MetricStore, type Statistic } from './metric-store';

export interface MetricDataQuery {
  Id: string;
  MetricStat?: { Metric: { Namespace?: string; MetricName?: string; Dimensions?: Dimension[] }; Period: number; Stat: string; Unit?: string };
  Expression?: string;
  Label?: string;
  ReturnData?: boolean;
  Period?: number;
}

const ID = /^[a-z][a-zA-Z0-9_]*$/;

/** Checks a query list as PutMetricAlarm / GetMetricData do; returns a message for the ValidationError, or undefined. */
export function queryListProblem(queries: readonly MetricDataQuery[]): string | undefined {
  const ids = new Set<string>();
  for (const q of queries) {
    if (!ID.test(q.Id)) return `Invalid metrics list: the id ${q.Id} must start with a lower-case letter and hold only letters, digits and _`;
    if (ids.has(q.Id)) return `Invalid metrics list: the id ${q.Id} is used twice`;
    ids.add(q.Id);
    if ((q.MetricStat === undefined) === (q.Expression === undefined)) return `Invalid metrics list: ${q.Id} must have exactly one of MetricStat and Expression`;
    if (q.MetricStat) {
      if (!STATISTICS.includes(q.MetricStat.Stat as Statistic)) return `Invalid metrics list: statistic ${q.MetricStat.Stat} of ${q.Id} is not supported (${STATISTICS.join(', ')})`;
      if (!q.MetricStat.Metric.Namespace || !q.MetricStat.Metric.MetricName) return `Invalid metrics list: ${q.Id} needs a Namespace and a MetricName`;
      if (!(q.MetricStat.Period >= 1) || (q.MetricStat.Period >= 60 && q.MetricStat.Period % 60 !== 0)) return `Invalid metrics list: the period of ${q.Id} must be 10, 30 or a multiple of 60`;
    }
  }
  for (const q of queries) {
    if (q.Expression === undefined) continue;
    let tree;
    try {
      tree = parseExpression(q.Expression);
    } catch (err) {
      return `Invalid metrics list: ${(err as Error).message}`;
    }
    for (const id of referencedIds(tree)) {
      if (!ids.has(id)) return `Invalid metrics list: the expression of ${q.Id} refers to ${id}, which is not in the list`;
      if (id === q.Id) return `Invalid metrics list: the expression of ${q.Id} refers to itself`;
    }
    void metricsFilters(tree);
  }
  return undefined;
}

export interface QueryResult {
  id: string;
  label: string;
  returnData: boolean;
  value: MathValue;
}

/** Evaluates every query over [startMs, endMs); expressions in dependency order. Throws MetricMathError. */
export function runQueries(store: MetricStore, queries: readonly MetricDataQuery[], startMs: number, endMs: number): QueryResult[] {
  const results = new Map<string, MathValue>();
  const metricIds: string[] = [];
  for (const q of queries) {
    if (!q.MetricStat) continue;
    const m = q.MetricStat.Metric;
    const series = store.series.get(seriesKey(m.Namespace ?? '', m.MetricName ?? '', m.Dimensions));
    results.set(q.Id, { kind: 'series', points: periodValues(series, q.MetricStat.Stat as Statistic, q.MetricStat.Period * 1000, startMs, endMs) });
    metricIds.push(q.Id);
  }
  const byId = new Map(queries.map((q) => [q.Id, q]));
  const visiting = new Set<string>();
  const valueOf = (id: string): MathValue | undefined => {
    const known = results.get(id);
    if (known) return known;
    const q = byId.get(id);
    if (!q?.Expression) return undefined;
    if (visiting.has(id)) throw new MetricMathError(`Invalid metrics list: ${id} depends on itself`);
    visiting.add(id);
    const v = evaluate(parseExpression(q.Expression), {
      value: valueOf,
      metrics: (filter) => metricIds.filter((mid) => mid.includes(filter)).map((mid) => (results.get(mid) as { points: Points }).points),
    });
    visiting.delete(id);
    results.set(id, v);
    return v;
  };
  return queries.map((q) => ({
    id: q.Id,
    label: q.Label ?? (q.MetricStat?.Metric.MetricName ?? q.Id),
    returnData: q.ReturnData ?? true,
    value: valueOf(q.Id) as MathValue,
  }));
}
