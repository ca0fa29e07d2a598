/**
 * How far a chunk's writing runs ahead, which bounds what a crash rewrites and what the worker holds: the sliding
 * window never sends a row more than two rounds of requests (2 x concurrency x 25 rows) past the last durable
 * checkpoint, checkpoints go out as each round's worth is done, and the rows read ahead of the requests stay within
 * their limit, in order, with a source's error surfacing to the writer.
 */
import { expect, it } from 'vitest';
import type { SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { AdaptiveConcurrency, BATCH_SIZE, WINDOW_ROUNDS, writeWindowed, type PendingRecord } from '../../activities/features/batch-writer';
import { readAhead } from '../../activities/features/read-ahead';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('sends no row more than two rounds past the last durable checkpoint, and checkpoints every round', async () => {
  const CONCURRENCY = 4;
  const ROWS = 2_000;
  let sentRows = 0;
  let durableRows = 0;
  let furthestAhead = 0;
  const client = {
    async send(cmd: { input: { Entries: unknown[] } }) {
      sentRows += cmd.input.Entries.length;
      furthestAhead = Math.max(furthestAhead, sentRows - durableRows);
      await tick(1);
      return {};
    },
  } as unknown as SageMakerFeatureStoreRuntimeClient;
  const checkpoints: number[] = [];
  let next = 0;
  await writeWindowed(client, 'g', new AdaptiveConcurrency(CONCURRENCY, CONCURRENCY), {
    next: async () => {
      const batch: PendingRecord<number>[] = [];
      while (batch.length < BATCH_SIZE && next < ROWS) batch.push({ record: [{ FeatureName: 'id', ValueAsString: String(next) }], tag: next++ });
      return batch;
    },
    // A slow checkpoint: sending goes on within the window while it is written.
    persist: async (rows) => {
      await tick(5);
      durableRows = rows;
      checkpoints.push(rows);
    },
  });
  const window = WINDOW_ROUNDS * CONCURRENCY * BATCH_SIZE;
  expect(sentRows).toBe(ROWS);
  expect(checkpoints.at(-1)).toBe(ROWS);
  expect(furthestAhead).toBeLessThanOrEqual(window);
  // Sending ran ahead of the checkpoint being written (more than one round), so checkpoints did not stall it.
  expect(furthestAhead).toBeGreaterThan(CONCURRENCY * BATCH_SIZE);
  // A checkpoint once a round's worth (half the window) is done: about ROWS / round of them, not one per batch.
  expect(checkpoints.length).toBeLessThanOrEqual(Math.ceil(ROWS / (CONCURRENCY * BATCH_SIZE)) + 1);
  expect(checkpoints.length).toBeGreaterThanOrEqual(Math.floor(ROWS / window));
});

it('reads ahead in order within its limit, and hands a source error to the reader after the rows before it', async () => {
  let produced = 0;
  async function* source() {
    for (let i = 0; i < 100; i++) {
      produced += 1;
      yield i;
    }
    throw new Error('the source broke at row 100');
  }
  const ahead = readAhead(source(), { limit: 10, total: 1_000 });
  await tick(5);
  // Nothing taken yet: no more than the limit was read.
  expect(produced).toBeLessThanOrEqual(10);
  const seen: number[] = [];
  for (;;) {
    const rows: number[] | Error = await ahead.take(7).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
    if (rows instanceof Error) {
      expect(rows.message).toBe('the source broke at row 100');
      break;
    }
    expect(produced - seen.length - rows.length).toBeLessThanOrEqual(10);
    seen.push(...rows);
  }
  expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
  await ahead.close();
});

it('stops reading at its total and closes its source', async () => {
  let closed = false;
  let produced = 0;
  async function* source() {
    try {
      for (let i = 0; ; i++) {
        produced += 1;
        yield i;
      }
    } finally {
      closed = true;
    }
  }
  const ahead = readAhead(source(), { limit: 50, total: 30 });
  expect(await ahead.take(25)).toEqual(Array.from({ length: 25 }, (_, i) => i));
  expect(await ahead.take(25)).toEqual([25, 26, 27, 28, 29]);
  expect(await ahead.take(25)).toEqual([]);
  await ahead.close();
  expect(produced).toBe(30);
  expect(closed).toBe(true);
});
