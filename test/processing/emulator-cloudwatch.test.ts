/** Emulated CloudWatch through @aws-sdk/client-cloudwatch: metric math as documented, alarms, their events. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CloudWatchClient,
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  PutMetricAlarmCommand,
  PutMetricDataCommand,
  SetAlarmStateCommand,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import type { RunningEmulator } from '../../local/aws';
import { caught, clientConfig, control, startTestEmulator } from '../aws/harness';

const START = Date.parse('2026-03-01T09:00:00Z');
const MIN = 60_000;
let now = START;
let emu: RunningEmulator;
let cw: CloudWatchClient;

function advance(ms: number): void {
  for (let left = ms; left > 0; left -= Math.min(left, MIN)) {
    now += Math.min(left, MIN);
    emu.emulator.advanceJobs();
  }
}

const metric = (id: string, name: string, host = 'h'): MetricDataQuery => ({
  Id: id,
  MetricStat: { Metric: { Namespace: 'Test', MetricName: name, Dimensions: [{ Name: 'Host', Value: host }] }, Period: 60, Stat: 'Average' },
  ReturnData: false,
});

/** Puts one value per minute from START (undefined = no datapoint). */
async function series(name: string, values: (number | undefined)[], host = 'h'): Promise<void> {
  const data = values.flatMap((v, i) => (v === undefined ? [] : [{ MetricName: name, Dimensions: [{ Name: 'Host', Value: host }], Timestamp: new Date(START + i * MIN), Value: v }]));
  await cw.send(new PutMetricDataCommand({ Namespace: 'Test', MetricData: data }));
}

async function math(expression: string, names: string[]): Promise<(number | undefined)[]> {
  const out = await cw.send(
    new GetMetricDataCommand({
      StartTime: new Date(START),
      EndTime: new Date(START + 5 * MIN),
      ScanBy: 'TimestampAscending',
      MetricDataQueries: [...names.map((n) => metric(n, n)), { Id: 'e', Expression: expression, ReturnData: true }],
    }),
  );
  const r = out.MetricDataResults?.[0];
  const byTime = new Map(r?.Timestamps?.map((t, i) => [t.getTime(), r.Values?.[i]]));
  return [0, 1, 2, 3, 4].map((i) => byTime.get(START + i * MIN));
}

beforeAll(async () => {
  emu = await startTestEmulator({ clock: { now: () => now } });
  cw = new CloudWatchClient(clientConfig(emu.endpoint, 1));
  await series('m1', [30, 20, 0, 0]);
  await series('m2', [20, undefined, 20, undefined]);
  await series('c', [1, 1, 0, 0]);
  await series('t', [30, undefined, 0, 0, 30]);
  await series('f', [0, 0, 20, undefined, 20]);
});
afterAll(async () => {
  await emu?.close();
});

describe('metric math, per timestamp, as the CloudWatch documentation gives it', () => {
  it('compares and combines with AND, a missing point counting as 0', async () => {
    expect(await math('m1 > 15 AND m2 > 15', ['m1', 'm2'])).toEqual([1, 0, 0, 0, undefined]);
    expect(await math('m1 + m2', ['m1', 'm2'])).toEqual([50, 20, 20, 0, undefined]);
    expect(await math('m2 / m1', ['m1', 'm2'])).toEqual([20 / 30, 0, undefined, undefined, undefined]);
  });

  it('IF keeps the condition timestamps: 0 where the true branch lacks a point, dropped where the false one does', async () => {
    // c = [1,1,0,0,-] (its fifth point is absent), t = [30,-,0,0,30], f = [0,0,20,-,20] -> [30,0,20,-,-]
    expect(await math('IF(c, t, f)', ['c', 't', 'f'])).toEqual([30, 0, 20, undefined, undefined]);
  });

  it('AVG/MAX of METRICS("substring") is a series over the matching metric queries', async () => {
    expect(await math('MAX(METRICS("m"))', ['m1', 'm2'])).toEqual([30, 20, 20, 0, undefined]);
    expect(await math('AVG(METRICS())', ['m1', 'm2'])).toEqual([25, 20, 10, 0, undefined]);
  });
});

describe('alarms', () => {
  const base = { EvaluationPeriods: 3, DatapointsToAlarm: 2, Threshold: 80, ComparisonOperator: 'GreaterThanThreshold' as const };

  it('refuses more than 10 metrics, not exactly one query returning data, and M > N, with AWS validation errors', async () => {
    const eleven = Array.from({ length: 11 }, (_, i) => metric(`m${i}`, 'x'));
    let err = await caught(cw.send(new PutMetricAlarmCommand({ AlarmName: 'a', ...base, Metrics: [...eleven, { Id: 'e', Expression: 'MAX(METRICS())', ReturnData: true }] })));
    expect([err.Code, err.message]).toEqual(['ValidationError', 'Alarms on math expressions cannot contain more than 10 individual metrics']);
    err = await caught(cw.send(new PutMetricAlarmCommand({ AlarmName: 'a', ...base, Metrics: [{ ...metric('m', 'x'), ReturnData: true }, { Id: 'e', Expression: 'm * 2', ReturnData: true }] })));
    expect(err.message).toBe('Exactly one element of the metrics list should return data.');
    err = await caught(cw.send(new PutMetricAlarmCommand({ AlarmName: 'a', ...base, DatapointsToAlarm: 4, Metrics: [{ ...metric('m', 'x'), ReturnData: true }] })));
    expect(err.message).toBe('DatapointsToAlarm must be less than or equal to EvaluationPeriods');
    expect((await cw.send(new DescribeAlarmsCommand({}))).MetricAlarms).toEqual([]);
  });

  it('goes to ALARM on 2 of the last 3 minutes breaching (not consecutive), publishes the documented event, and back to OK', async () => {
    now = START + 60 * MIN;
    const t0 = now;
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: 'driver',
        ...base,
        AlarmActions: ['arn:aws:sns:us-east-1:123456789012:alarms'],
        Metrics: [metric('memoryDriver', 'MemoryUtilization', 'job/algo-1'), { Id: 'breach', Expression: 'IF(memoryDriver > 80, 1, 0)', ReturnData: true }],
        Threshold: 0.5,
      }),
    );
    expect((await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['driver'] }))).MetricAlarms?.[0]?.StateValue).toBe('INSUFFICIENT_DATA');
    const put = (minute: number, v: number) =>
      cw.send(new PutMetricDataCommand({ Namespace: 'Test', MetricData: [{ MetricName: 'MemoryUtilization', Dimensions: [{ Name: 'Host', Value: 'job/algo-1' }], Timestamp: new Date(t0 + minute * MIN + 1000), Value: v }] }));
    await put(0, 90);
    await put(1, 50);
    advance(2 * MIN);
    expect((await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['driver'] }))).MetricAlarms?.[0]?.StateValue).toBe('OK');
    await put(2, 95);
    advance(MIN);
    const alarm = (await cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: 'dri' }))).MetricAlarms?.[0];
    expect(alarm?.StateValue).toBe('ALARM');
    expect(alarm?.StateReason).toMatch(/^Threshold Crossed: 2 out of the last 3 datapoints/);
    const events = await control<{ events: { event: { resources: string[]; detail: Record<string, unknown> } }[] }>(emu.endpoint, 'GET', '/events?source=aws.cloudwatch');
    const change = events.body.events.map((e) => e.event).find((e) => (e.detail.state as { value: string }).value === 'ALARM');
    expect(change?.resources).toEqual(['arn:aws:cloudwatch:us-east-1:123456789012:alarm:driver']);
    expect(change?.detail).toMatchObject({
      alarmName: 'driver',
      previousState: { value: 'OK' },
      state: { value: 'ALARM', timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/) },
      configuration: { metrics: [{ id: 'memoryDriver', metricStat: { metric: { namespace: 'Test', name: 'MemoryUtilization', dimensions: { Host: 'job/algo-1' } }, period: 60, stat: 'Average' } }, { id: 'breach', expression: 'IF(memoryDriver > 80, 1, 0)', returnData: true }] },
    });
    expect(JSON.parse((change?.detail.state as { reasonData: string }).reasonData)).toMatchObject({ threshold: 0.5, period: 60 });
  });

  it('treats missing data as the alarm says, sets state by hand, and deletes nothing when a name is unknown', async () => {
    await cw.send(new PutMetricAlarmCommand({ AlarmName: 'silent', ...base, TreatMissingData: 'breaching', Metrics: [{ ...metric('q', 'Nothing'), ReturnData: true }] }));
    advance(MIN);
    expect((await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['silent'] }))).MetricAlarms?.[0]?.StateValue).toBe('ALARM');
    await cw.send(new PutMetricAlarmCommand({ AlarmName: 'quiet', ...base, Metrics: [{ ...metric('q', 'Nothing'), ReturnData: true }] }));
    advance(MIN);
    expect((await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['quiet'] }))).MetricAlarms?.[0]?.StateValue).toBe('INSUFFICIENT_DATA');
    await cw.send(new SetAlarmStateCommand({ AlarmName: 'quiet', StateValue: 'ALARM', StateReason: 'testing' }));
    expect((await cw.send(new DescribeAlarmsCommand({ StateValue: 'ALARM' }))).MetricAlarms?.map((a) => a.AlarmName)).toEqual(['quiet', 'silent']);
    // The driver alarm's data stopped: one breaching point of 3 is left in its window (missing ones do not count).
    expect((await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['driver'] }))).MetricAlarms?.[0]?.StateValue).toBe('OK');
    const err = await caught(cw.send(new DeleteAlarmsCommand({ AlarmNames: ['quiet', 'nope'] })));
    expect(err.name).toBe('ResourceNotFound');
    await cw.send(new DeleteAlarmsCommand({ AlarmNames: ['quiet', 'silent', 'driver'] }));
    expect((await cw.send(new DescribeAlarmsCommand({}))).MetricAlarms).toEqual([]);
  });
});
