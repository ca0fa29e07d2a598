/**
 * Throttling slows a run but never fails it, and no record is lost to it. The emulator's clock stands still and
 * moves one second only while the writers are held up, so a group's write capacity (provisioned, or the on-demand
 * rate the emulator is set to) bounds the run's emulated rate whatever this machine's speed: the run is throttled
 * (ThrottlingException in the emulator's request journal), takes at least rows / capacity emulated seconds,
 * completes with every record readable, and its adaptive concurrency backs off, then grows back once the capacity
 * is raised.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { UpdateFeatureGroupCommand } from '@aws-sdk/client-sagemaker';
import { BatchGetRecordCommand } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { FEATURES_TASK_QUEUE, ingestionWorkflowId } from '../../workflows/features/model';
import type { featureIngestion } from '../../workflows/features/ingestion';
import type { JournalEntry } from '../../local/aws/journal';
import { control } from '../aws/harness';
import { prepareGroup, syntheticRows, transactionsCsv, upload, type FeaturesStack } from './harness';
import { frozenClockStack, paceClockByThrottling } from './frozen-clock';

const RUNTIME = '/services/sagemaker-featurestore-runtime';
/** Write units a second while throttled; every record here is one unit (under 1 KB). */
const CAPACITY = 50;
const ROWS = 1_500;
const MAX_CONCURRENCY = 4;

let stack: FeaturesStack;
frozenClockStack((s) => (stack = s));
afterEach(async () => {
  await control(stack.emulator.endpoint, 'PUT', `${RUNTIME}/throughput`, { onDemandWriteUnitsPerSecond: 10_000 });
});

async function readable(group: string, ids: string[]): Promise<number> {
  let found = 0;
  for (let i = 0; i < ids.length; i += 100) {
    const r = await stack.aws.runtime.send(new BatchGetRecordCommand({ Identifiers: [{ FeatureGroupName: group, RecordIdentifiersValueAsString: ids.slice(i, i + 100) }] }));
    found += r.Records?.length ?? 0;
  }
  return found;
}

const modes = [
  {
    mode: 'provisioned write capacity',
    group: 'tx-provisioned',
    throughput: { ThroughputMode: 'Provisioned', ProvisionedReadCapacityUnits: 1, ProvisionedWriteCapacityUnits: CAPACITY },
    limit: async () => undefined,
    raise: (group: string) => stack.aws.sagemaker.send(new UpdateFeatureGroupCommand({ FeatureGroupName: group, ThroughputConfig: { ProvisionedWriteCapacityUnits: 40_000 } })),
  },
  {
    mode: 'the on-demand rate the emulator is set to',
    group: 'tx-on-demand',
    throughput: { ThroughputMode: 'OnDemand' },
    limit: () => control(stack.emulator.endpoint, 'PUT', `${RUNTIME}/throughput`, { onDemandWriteUnitsPerSecond: CAPACITY }),
    raise: () => control(stack.emulator.endpoint, 'PUT', `${RUNTIME}/throughput`, { onDemandWriteUnitsPerSecond: 40_000 }),
  },
] as const;

describe.each(modes)('beyond $mode', ({ group, throughput, limit, raise }) => {
  it('a run is throttled and slowed, completes with every record readable, and its concurrency backs off and grows back', async () => {
    await prepareGroup(stack, group, { extra: { ThroughputConfig: throughput } });
    await limit();
    const rows = syntheticRows(ROWS);
    const source = await upload(stack, `${group}/tx.csv`, transactionsCsv(rows));
    await control(stack.emulator.endpoint, 'DELETE', '/journal');

    const handle = await stack.client.workflow.start<typeof featureIngestion>('featureIngestion', {
      taskQueue: FEATURES_TASK_QUEUE,
      workflowId: ingestionWorkflowId(group),
      // One chunk, so its concurrency has the whole second half of the rows to grow back in.
      args: [{ runId: group, featureGroupName: group, sources: [source], ledger: 's3://ledger/runs', chunkRows: ROWS, window: 1, maxConcurrency: MAX_CONCURRENCY }],
    });
    // Half the rows at the small capacity, the clock moving only while writers wait; then plenty of capacity.
    const slow = await paceClockByThrottling(stack, group, { until: (j) => j.recordsWritten >= ROWS / 2 });
    const writtenSlowly = (await stack.journal(group)).recordsWritten;
    await raise(group);
    const result = await handle.result();

    // Slowed: no more than the capacity per emulated second (plus the first second's burst) ...
    expect(writtenSlowly).toBeGreaterThanOrEqual(ROWS / 2);
    expect(writtenSlowly).toBeLessThanOrEqual(CAPACITY * (slow.seconds + 1));
    expect(slow.seconds).toBeGreaterThanOrEqual(ROWS / 2 / CAPACITY - 1);
    // ... yet complete, with nothing lost or written twice, and every record readable.
    expect(result).toMatchObject({ phase: 'completed', rowsTotal: ROWS, rowsWritten: ROWS, rowsFailed: 0, chunksDone: 1 });
    const j = await stack.journal(group);
    expect(j).toMatchObject({ recordsWritten: ROWS, distinctRecords: ROWS, duplicatedRecords: 0 });
    expect(await readable(group, rows.map((r) => r.tid))).toBe(ROWS);

    // Throttled as AWS throttles: ThrottlingException (HTTP 400) in the request journal, each one waited out by the run.
    const { entries } = (await control<{ entries: JournalEntry[] }>(stack.emulator.endpoint, 'GET', '/journal?service=sagemaker-featurestore-runtime&operation=BatchWriteRecord')).body;
    const throttled = entries.filter((e) => e.error === 'ThrottlingException');
    expect(throttled.length).toBeGreaterThanOrEqual(2);
    expect(throttled.every((e) => e.status === 400)).toBe(true);
    expect(j.throttledRequests).toBe(throttled.length);
    expect(result.throttled).toBe(throttled.length);
    expect(result.unprocessed).toBe(j.entriesUnprocessed);
    expect(entries.filter((e) => e.status === 200).length + throttled.length).toBe(entries.length);

    // The chunk's concurrency was halved on throttling, and grew back to the maximum once the capacity was there.
    expect(result.concurrency.backoffs).toBeGreaterThanOrEqual(1);
    expect(result.concurrency.lowest).toBeLessThan(MAX_CONCURRENCY);
    expect(result.concurrency.growths).toBeGreaterThanOrEqual(MAX_CONCURRENCY - result.concurrency.lowest!);
    expect(result.concurrency.lowestAtEnd).toBe(MAX_CONCURRENCY);
  });
});
