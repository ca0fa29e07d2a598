/**
 * The processing workflow with its alarms wired to SNS only: the emulated CloudWatch publishes the alarm notification
 * to the topic, the emulated SNS delivers it signed to the gateway's POST /events/sns, which verifies it and signals
 * the workflow (the EventBridge events carry the job state changes alone). The restart comes through that path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { processingInput, startProcessing, startProcessingStack, stepRuns, type ProcessingStack } from './harness';

let stack: ProcessingStack;
beforeAll(async () => {
  stack = await startProcessingStack({ alarmsVia: 'sns' });
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

describe('alarms through SNS', () => {
  it('restarts an undersized executor fleet bigger when the alarm arrives through SNS and the gateway', async () => {
    const topic = stack.alarmTopicArn as string;
    const handle = await startProcessing(stack, processingInput('fe-sns', { policy: { alarmTopicArns: [topic] } }));
    const result = await handle.result();
    expect(result.attempts.map((a) => [a.jobName, a.resources.instanceCount, a.outcome])).toEqual([
      ['fe-sns-a1', 3, 'executor-alarm'],
      ['fe-sns-a2', 5, 'completed'],
    ]);
    // Stopped on the signal, not by the 15-minute safety-net poll (3 min provisioning + 5 min load + 1 min).
    expect(result.attempts[0]?.durationMs).toBeLessThanOrEqual(11 * 60_000);
    const runs = await stepRuns(stack, 'fe-sns');
    expect(runs.filter((r) => r.outcome === 'completed').map((r) => r.step)).toEqual(['load', 'join', 'aggregate']);

    const deliveries = (await (await fetch(`${stack.emu.endpoint}/_emulator/services/sns/deliveries`)).json()) as { settled: { type: string; state: string; endpoint: string; body: string }[] };
    const alarms = deliveries.settled.filter((d) => d.type === 'Notification').map((d) => ({ state: d.state, endpoint: d.endpoint, alarm: (JSON.parse(JSON.parse(d.body).Message) as { AlarmName: string }).AlarmName }));
    expect(alarms).toContainEqual({ state: 'delivered', endpoint: `${stack.gateway.url}/events/sns`, alarm: 'fe-sns-a1-executors-1' });
    // No alarm event went to the gateway through EventBridge.
    const events = (await (await fetch(`${stack.emu.endpoint}/_emulator/events`)).json()) as { events: { state: string; event: { 'detail-type': string } }[] };
    const alarmEvents = events.events.filter((e) => e.event['detail-type'] === 'CloudWatch Alarm State Change');
    expect(alarmEvents.length).toBeGreaterThan(0);
    expect(alarmEvents.every((e) => e.state === 'filtered')).toBe(true);
    expect((await stack.cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: 'fe-sns-' }))).MetricAlarms).toEqual([]);
  });

  it('finds an alarm whose notification never came by the safety-net poll, and restarts the job bigger', async () => {
    // No alarm action: on this stack nothing tells the workflow of the alarm but the poll, here every 5 minutes.
    const handle = await startProcessing(stack, processingInput('fe-unheard', { policy: { pollIntervalMinutes: 5 } }));
    const result = await handle.result();
    expect(result.attempts.map((a) => [a.jobName, a.resources.instanceCount, a.outcome])).toEqual([
      ['fe-unheard-a1', 3, 'executor-alarm'],
      ['fe-unheard-a2', 5, 'completed'],
    ]);
    // The alarm fired at join's first datapoint (minute 9); the poll at minute 10 found it, before join's end at 15.5.
    expect(result.attempts[0]?.durationMs).toBeLessThanOrEqual(12 * 60_000);
    const runs = await stepRuns(stack, 'fe-unheard');
    expect(runs.filter((r) => r.outcome === 'completed').map((r) => r.step)).toEqual(['load', 'join', 'aggregate']);
    expect((await stack.cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: 'fe-unheard-' }))).MetricAlarms).toEqual([]);
  });
});
