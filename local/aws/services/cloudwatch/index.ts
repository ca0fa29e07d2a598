/**
 * Amazon CloudWatch (awsJson1_0, query compatible: `GraniteServiceVersion20100801.*`, what @aws-sdk/client-cloudwatch
 * sends): metrics (PutMetricData, GetMetricData with metric math, ListMetrics) and metric alarms (PutMetricAlarm with
 * a metric or metric-math queries, DescribeAlarms, DeleteAlarms, SetAlarmState), evaluated every emulated minute.
 * Alarm actions on SNS topics publish to the emulated SNS when it runs (shared outbox, see ../sns).
 */
import { z } from 'zod';
import { defineService, operation, type OperationContext, type ServiceContext } from '../../service';
import { COMPARISON_OPERATORS, cloudWatchTime, evaluateAlarm, eventConfiguration, type Alarm, type AlarmState, type AlarmStateValue } from './alarms';
import { MetricMathError } from './metric-math';
import { metricStoreOf, putDatapoint, sortedDimensions, STATISTICS, type MetricStore, type Statistic } from './metric-store';
import { queryListProblem, runQueries, type MetricDataQuery } from './queries';
import { alarmNotification, alarmSubject, snsOutboxOf, type SnsOutbox } from './sns-outbox';

export interface CloudWatchState {
  metrics: MetricStore;
  alarms: Map<string, Alarm>;
  outbox: SnsOutbox;
}

type Ctx = OperationContext<CloudWatchState>;
type SCtx = ServiceContext<CloudWatchState>;

const MINUTE = 60_000;
/** Most minutes one catch-up evaluates (a clock that jumped a year evaluates the last week only). */
const MAX_CATCH_UP_MINUTES = 7 * 24 * 60;
/** The server's wording for more than 10 metrics is not documented; this is the CDK's (unconfirmed). */
export const TOO_MANY_METRICS = 'Alarms on math expressions cannot contain more than 10 individual metrics';

const dimension = z.looseObject({ Name: z.string().min(1).max(255), Value: z.string().min(1).max(1024) });
const metricDataQuery = z.looseObject({
  Id: z.string().min(1).max(255),
  MetricStat: z
    .looseObject({
      Metric: z.looseObject({ Namespace: z.string().optional(), MetricName: z.string().optional(), Dimensions: z.array(dimension).max(30).optional() }),
      Period: z.number().int().min(1),
      Stat: z.string(),
      Unit: z.string().optional(),
    })
    .optional(),
  Expression: z.string().min(1).max(2048).optional(),
  Label: z.string().optional(),
  ReturnData: z.boolean().optional(),
  Period: z.number().int().min(1).optional(),
  AccountId: z.string().optional(),
});
const epochSeconds = z.union([z.number(), z.string()]).transform((v) => (typeof v === 'number' ? v * 1000 : Date.parse(v)));

function invalid(ctx: { error: Ctx['error'] }, message: string, code = 'InvalidParameterValue') {
  return ctx.error(code, message);
}

function setState(ctx: SCtx, alarm: Alarm, next: AlarmState): void {
  const previous = alarm.state;
  alarm.state = next;
  if (previous.value === next.value) return;
  const eventState = (s: AlarmState) => ({ value: s.value, reason: s.reason, ...(s.reasonData ? { reasonData: s.reasonData } : {}), timestamp: cloudWatchTime(s.timestampMs) });
  ctx.publish({
    source: 'aws.cloudwatch',
    detailType: 'CloudWatch Alarm State Change',
    resources: [alarm.arn],
    detail: { alarmName: alarm.name, state: eventState(next), previousState: eventState(previous), configuration: eventConfiguration(alarm) },
  });
  if (!alarm.actionsEnabled) return;
  const actions = next.value === 'ALARM' ? alarm.alarmActions : next.value === 'OK' ? alarm.okActions : alarm.insufficientDataActions;
  for (const topicArn of actions.filter((a) => a.startsWith('arn:aws:sns:'))) {
    ctx.state.outbox.messages.push({ topicArn, subject: alarmSubject(ctx.region, alarm), message: alarmNotification(ctx, alarm, previous) });
  }
}

function describeAlarm(a: Alarm) {
  return {
    AlarmName: a.name,
    AlarmArn: a.arn,
    ...(a.description ? { AlarmDescription: a.description } : {}),
    AlarmConfigurationUpdatedTimestamp: new Date(a.configUpdatedMs),
    ActionsEnabled: a.actionsEnabled,
    OKActions: a.okActions,
    AlarmActions: a.alarmActions,
    InsufficientDataActions: a.insufficientDataActions,
    StateValue: a.state.value,
    StateReason: a.state.reason,
    ...(a.state.reasonData ? { StateReasonData: a.state.reasonData } : {}),
    StateUpdatedTimestamp: new Date(a.state.timestampMs),
    StateTransitionedTimestamp: new Date(a.state.timestampMs),
    ...(a.single
      ? {
          MetricName: a.single.metricName,
          Namespace: a.single.namespace,
          Statistic: a.single.statistic,
          Dimensions: a.single.dimensions,
          Period: a.single.period,
          ...(a.single.unit ? { Unit: a.single.unit } : {}),
        }
      : { Metrics: a.metrics }),
    EvaluationPeriods: a.evaluationPeriods,
    DatapointsToAlarm: a.datapointsToAlarm,
    Threshold: a.threshold,
    ComparisonOperator: a.comparisonOperator,
    TreatMissingData: a.treatMissingData,
  };
}

function page<T>(ctx: Ctx, items: T[], token: string | undefined, size: number): { items: T[]; next?: string } {
  const start = token === undefined ? 0 : Number(Buffer.from(token, 'base64').toString('utf8'));
  if (!Number.isInteger(start) || start < 0 || start > items.length) throw ctx.error('InvalidNextToken', 'The service returned an invalid NextToken.');
  const slice = items.slice(start, start + size);
  const end = start + slice.length;
  return { items: slice, ...(end < items.length ? { next: Buffer.from(String(end)).toString('base64') } : {}) };
}

export const cloudwatch = defineService<CloudWatchState>({
  name: 'cloudwatch',
  protocol: 'awsJson1_0',
  targetPrefix: 'GraniteServiceVersion20100801',
  signingName: 'monitoring',
  queryCompatible: true,
  validationError: { code: 'InvalidParameterValue' },
  createState: (scope) => ({ metrics: metricStoreOf(scope), alarms: new Map(), outbox: snsOutboxOf(scope) }),
  advance(ctx) {
    const now = ctx.nowMs();
    let changed = false;
    for (const alarm of ctx.state.alarms.values()) {
      const last = Math.max(alarm.evaluatedUpToMs, Math.floor(now / MINUTE) * MINUTE - MAX_CATCH_UP_MINUTES * MINUTE);
      for (let at = last + MINUTE; at <= now; at += MINUTE) {
        const next = evaluateAlarm(ctx.state.metrics, alarm, at);
        if (next) setState(ctx, alarm, next);
        alarm.evaluatedUpToMs = at;
        changed = true;
      }
    }
    return changed;
  },
  nextWakeMs(ctx) {
    if (ctx.state.alarms.size === 0) return undefined;
    return (Math.floor(ctx.nowMs() / MINUTE) + 1) * MINUTE;
  },
  operations: {
    PutMetricData: operation({
      input: z.looseObject({
        Namespace: z.string().min(1).max(255),
        MetricData: z
          .array(
            z.looseObject({
              MetricName: z.string().min(1).max(255),
              Dimensions: z.array(dimension).max(30).optional(),
              Timestamp: epochSeconds.optional(),
              Value: z.number().optional(),
              StatisticValues: z.looseObject({ SampleCount: z.number(), Sum: z.number(), Minimum: z.number(), Maximum: z.number() }).optional(),
              Values: z.array(z.number()).max(150).optional(),
              Counts: z.array(z.number()).max(150).optional(),
              Unit: z.string().optional(),
              StorageResolution: z.number().int().optional(),
            }),
          )
          .max(1000)
          .optional(),
      }),
      handler(input, ctx: Ctx) {
        if (input.Namespace.startsWith('AWS/')) throw invalid(ctx, `The value ${input.Namespace} for parameter Namespace is invalid.`);
        for (const d of input.MetricData ?? []) {
          const at = d.Timestamp ?? ctx.nowMs();
          const meta = { namespace: input.Namespace, metricName: d.MetricName, dimensions: d.Dimensions, unit: d.Unit };
          if (d.StatisticValues) {
            const s = d.StatisticValues;
            putDatapoint(ctx.state.metrics, meta, at, { sum: s.Sum, count: s.SampleCount, min: s.Minimum, max: s.Maximum });
          } else if (d.Values) {
            if (d.Counts && d.Counts.length !== d.Values.length) throw invalid(ctx, 'The parameters MetricData.member.N.Values and MetricData.member.N.Counts must be of the same size.');
            d.Values.forEach((v, i) => {
              const c = d.Counts?.[i] ?? 1;
              putDatapoint(ctx.state.metrics, meta, at, { sum: v * c, count: c, min: v, max: v });
            });
          } else if (d.Value !== undefined) {
            putDatapoint(ctx.state.metrics, meta, at, { sum: d.Value, count: 1, min: d.Value, max: d.Value });
          } else throw ctx.error('MissingParameter', 'The parameter MetricData.member.N.Value is required.');
        }
        return {};
      },
    }),
    ListMetrics: operation({
      input: z.looseObject({
        Namespace: z.string().optional(),
        MetricName: z.string().optional(),
        Dimensions: z.array(z.looseObject({ Name: z.string(), Value: z.string().optional() })).max(10).optional(),
        NextToken: z.string().optional(),
      }),
      handler(input, ctx: Ctx) {
        const all = [...ctx.state.metrics.series.values()]
          .filter(
            (s) =>
              (input.Namespace === undefined || s.namespace === input.Namespace) &&
              (input.MetricName === undefined || s.metricName === input.MetricName) &&
              (input.Dimensions ?? []).every((f) => s.dimensions.some((d) => d.Name === f.Name && (f.Value === undefined || d.Value === f.Value))),
          )
          .map((s) => ({ Namespace: s.namespace, MetricName: s.metricName, Dimensions: s.dimensions }));
        const p = page(ctx, all, input.NextToken, 500);
        return { Metrics: p.items, ...(p.next ? { NextToken: p.next } : {}) };
      },
    }),
    GetMetricData: operation({
      input: z.looseObject({
        MetricDataQueries: z.array(metricDataQuery).min(1).max(500),
        StartTime: epochSeconds,
        EndTime: epochSeconds,
        NextToken: z.string().optional(),
        ScanBy: z.enum(['TimestampDescending', 'TimestampAscending']).optional(),
        MaxDatapoints: z.number().int().optional(),
      }),
      handler(input, ctx: Ctx) {
        const queries = input.MetricDataQueries as MetricDataQuery[];
        const problem = queryListProblem(queries);
        if (problem) throw ctx.error('ValidationError', problem);
        if (!(input.EndTime > input.StartTime)) throw invalid(ctx, 'The parameter StartTime must be less than the parameter EndTime.');
        let results;
        try {
          results = runQueries(ctx.state.metrics, queries, input.StartTime, input.EndTime);
        } catch (err) {
          if (err instanceof MetricMathError) throw ctx.error('ValidationError', err.message);
          throw err;
        }
        const descending = (input.ScanBy ?? 'TimestampDescending') === 'TimestampDescending';
        const out: { Id: string; Label: string; Timestamps: Date[]; Values: number[]; StatusCode: string; Messages: unknown[] }[] = [];
        for (const r of results.filter((x) => x.returnData)) {
          const emit = (id: string, label: string, points: Map<number, number>) => {
            const rows = [...points].filter(([, v]) => Number.isFinite(v)).sort((a, b) => (descending ? b[0] - a[0] : a[0] - b[0]));
            out.push({ Id: id, Label: label, Timestamps: rows.map(([t]) => new Date(t)), Values: rows.map(([, v]) => v), StatusCode: 'Complete', Messages: [] });
          };
          if (r.value.kind === 'series') emit(r.id, r.label, r.value.points);
          else if (r.value.kind === 'array') r.value.items.forEach((p, i) => emit(r.id, `${r.label} ${i}`, p));
          else throw ctx.error('ValidationError', `The expression of ${r.id} returns a single value; it must return a time series or an array of them.`);
        }
        return { MetricDataResults: out, Messages: [] };
      },
    }),
    PutMetricAlarm: operation({
      input: z.looseObject({
        AlarmName: z.string().min(1).max(255),
        AlarmDescription: z.string().max(1024).optional(),
        ActionsEnabled: z.boolean().optional(),
        OKActions: z.array(z.string().max(1024)).max(5).optional(),
        AlarmActions: z.array(z.string().max(1024)).max(5).optional(),
        InsufficientDataActions: z.array(z.string().max(1024)).max(5).optional(),
        MetricName: z.string().optional(),
        Namespace: z.string().optional(),
        Statistic: z.enum(STATISTICS as [Statistic, ...Statistic[]]).optional(),
        Dimensions: z.array(dimension).max(30).optional(),
        Period: z.number().int().min(1).optional(),
        Unit: z.string().optional(),
        EvaluationPeriods: z.number().int().min(1),
        DatapointsToAlarm: z.number().int().min(1).optional(),
        Threshold: z.number().optional(),
        ComparisonOperator: z.string(),
        TreatMissingData: z.string().optional(),
        Metrics: z.array(metricDataQuery).optional(),
        Tags: z.array(z.looseObject({ Key: z.string(), Value: z.string() })).optional(),
      }),
      handler(input, ctx: Ctx) {
        if (!COMPARISON_OPERATORS.includes(input.ComparisonOperator)) {
          throw ctx.error('ValidationError', `1 validation error detected: Value '${input.ComparisonOperator}' at 'comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [${COMPARISON_OPERATORS.join(', ')}]`);
        }
        const treat = input.TreatMissingData ?? 'missing';
        if (!['missing', 'notBreaching', 'breaching', 'ignore'].includes(treat)) throw ctx.error('ValidationError', `Invalid value for TreatMissingData: ${treat}`);
        const datapoints = input.DatapointsToAlarm ?? input.EvaluationPeriods;
        if (datapoints > input.EvaluationPeriods) throw ctx.error('ValidationError', 'DatapointsToAlarm must be less than or equal to EvaluationPeriods');
        if (input.Threshold === undefined) throw ctx.error('ValidationError', 'Threshold is required for alarms that are not anomaly detection alarms.');
        const usesSingle = input.MetricName !== undefined || input.Namespace !== undefined || input.Statistic !== undefined || input.Period !== undefined;
        let alarmPart: Pick<Alarm, 'metrics' | 'single'>;
        let period: number;
        if (input.Metrics) {
          if (usesSingle) throw ctx.error('ValidationError', 'Metrics list cannot be used with MetricName, Namespace, Statistic, Dimensions or Period.');
          const queries = input.Metrics as MetricDataQuery[];
          if (queries.length < 1 || queries.length > 20) throw ctx.error('ValidationError', 'The metrics list must contain between 1 and 20 elements.');
          if (queries.filter((q) => q.ReturnData ?? true).length !== 1) throw ctx.error('ValidationError', 'Exactly one element of the metrics list should return data.');
          if (queries.filter((q) => q.MetricStat).length > 10) throw ctx.error('ValidationError', TOO_MANY_METRICS);
          const problem = queryListProblem(queries);
          if (problem) throw ctx.error('ValidationError', problem);
          const periods = new Set(queries.filter((q) => q.MetricStat).map((q) => q.MetricStat?.Period));
          if (periods.size > 1) throw ctx.error('ValidationError', 'All metrics in a metric math alarm must have the same period.');
          if (queries.some((q) => q.Expression && /\bSEARCH\s*\(/.test(q.Expression))) throw ctx.error('ValidationError', 'SEARCH expressions are not supported in alarms.');
          period = [...periods][0] ?? queries.find((q) => q.Period)?.Period ?? 60;
          alarmPart = { metrics: queries };
        } else {
          if (!input.MetricName || !input.Namespace || !input.Statistic || !input.Period) {
            throw ctx.error('ValidationError', 'An alarm needs either a Metrics list or MetricName, Namespace, Statistic and Period.');
          }
          period = input.Period;
          alarmPart = { single: { namespace: input.Namespace, metricName: input.MetricName, dimensions: sortedDimensions(input.Dimensions), statistic: input.Statistic, period, ...(input.Unit ? { unit: input.Unit } : {}) } };
        }
        if (period * input.EvaluationPeriods > 86_400 * 7) throw ctx.error('ValidationError', 'The evaluation period of the alarm (Period x EvaluationPeriods) cannot exceed 7 days.');
        const now = ctx.nowMs();
        const existing = ctx.state.alarms.get(input.AlarmName);
        if (!existing && ctx.state.alarms.size >= 10_000) throw ctx.error('LimitExceeded', 'The maximum number of alarms (10000) has been reached.');
        const alarm: Alarm = {
          name: input.AlarmName,
          arn: ctx.arn(`alarm:${input.AlarmName}`),
          ...(input.AlarmDescription ? { description: input.AlarmDescription } : {}),
          actionsEnabled: input.ActionsEnabled ?? true,
          alarmActions: input.AlarmActions ?? [],
          okActions: input.OKActions ?? [],
          insufficientDataActions: input.InsufficientDataActions ?? [],
          ...alarmPart,
          evaluationPeriods: input.EvaluationPeriods,
          datapointsToAlarm: datapoints,
          threshold: input.Threshold,
          comparisonOperator: input.ComparisonOperator,
          treatMissingData: treat as Alarm['treatMissingData'],
          // An update keeps the state; a new alarm starts INSUFFICIENT_DATA.
          state: existing?.state ?? { value: 'INSUFFICIENT_DATA', reason: 'Unchecked: Initial alarm creation', timestampMs: now },
          configUpdatedMs: now,
          evaluatedUpToMs: existing?.evaluatedUpToMs ?? Math.floor(now / MINUTE) * MINUTE,
          tags: (input.Tags as { Key: string; Value: string }[] | undefined) ?? existing?.tags ?? [],
        };
        ctx.state.alarms.set(alarm.name, alarm);
        return {};
      },
    }),
    DescribeAlarms: operation({
      input: z.looseObject({
        AlarmNames: z.array(z.string()).max(100).optional(),
        AlarmNamePrefix: z.string().optional(),
        StateValue: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']).optional(),
        ActionPrefix: z.string().optional(),
        AlarmTypes: z.array(z.string()).optional(),
        MaxRecords: z.number().int().min(1).max(100).optional(),
        NextToken: z.string().optional(),
      }),
      handler(input, ctx: Ctx) {
        if (input.AlarmNames && input.AlarmNamePrefix) throw invalid(ctx, 'AlarmNames and AlarmNamePrefix cannot be used together.', 'InvalidParameterCombination');
        const all = [...ctx.state.alarms.values()]
          .filter(
            (a) =>
              (!input.AlarmNames || input.AlarmNames.includes(a.name)) &&
              (!input.AlarmNamePrefix || a.name.startsWith(input.AlarmNamePrefix)) &&
              (!input.StateValue || a.state.value === input.StateValue) &&
              (!input.ActionPrefix || [...a.alarmActions, ...a.okActions, ...a.insufficientDataActions].some((x) => x.startsWith(input.ActionPrefix as string))),
          )
          .sort((a, b) => (a.name < b.name ? -1 : 1));
        const wantsMetric = !input.AlarmTypes || input.AlarmTypes.includes('MetricAlarm');
        const p = page(ctx, wantsMetric ? all : [], input.NextToken, input.MaxRecords ?? 50);
        return { MetricAlarms: p.items.map(describeAlarm), CompositeAlarms: [], ...(p.next ? { NextToken: p.next } : {}) };
      },
    }),
    DeleteAlarms: operation({
      input: z.looseObject({ AlarmNames: z.array(z.string()).max(100) }),
      handler(input, ctx: Ctx) {
        const missing = input.AlarmNames.filter((n) => !ctx.state.alarms.has(n));
        // As AWS: an unknown name deletes nothing and names what is missing.
        if (missing.length > 0) throw ctx.error('ResourceNotFound', `${missing.map((n) => `'${n}'`).join(', ')} alarm${missing.length === 1 ? ' does' : 's do'} not exist.`, { httpStatus: 404 });
        for (const n of input.AlarmNames) ctx.state.alarms.delete(n);
        return {};
      },
    }),
    SetAlarmState: operation({
      input: z.looseObject({
        AlarmName: z.string().min(1).max(255),
        StateValue: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
        StateReason: z.string().max(1023),
        StateReasonData: z.string().max(4000).optional(),
      }),
      handler(input, ctx: Ctx) {
        const alarm = ctx.state.alarms.get(input.AlarmName);
        if (!alarm) throw ctx.error('ResourceNotFound', `Alarm ${input.AlarmName} does not exist.`, { httpStatus: 404 });
        if (input.StateReasonData !== undefined) {
          try {
            JSON.parse(input.StateReasonData);
          } catch {
            throw ctx.error('InvalidFormat', 'StateReasonData is not valid JSON.');
          }
        }
        setState(ctx, alarm, { value: input.StateValue as AlarmStateValue, reason: input.StateReason, ...(input.StateReasonData ? { reasonData: input.StateReasonData } : {}), timestampMs: ctx.nowMs() });
        return {};
      },
    }),
  },
  control: [
    {
      method: 'GET',
      path: '/alarms',
      description: 'every alarm with its state and when it was last evaluated',
      handler: (_req, ctx) => ({
        alarms: [...ctx.state.alarms.values()].map((a) => ({ name: a.name, state: a.state.value, reason: a.state.reason, since: new Date(a.state.timestampMs).toISOString(), evaluatedUpTo: new Date(a.evaluatedUpToMs).toISOString() })),
      }),
    },
  ],
});
