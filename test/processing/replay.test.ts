/**
 * Upgrades: a processing job runs for hours to days, so a release must replay the histories of the jobs the previous
 * release left in flight. The histories under fixtures/histories/<release>/ were recorded from real runs
 * (record-histories.ts): executor and driver restarts, a console stop, a capacity retry, a user error, a cancel, and
 * jobs stopped in attempt 1, in attempt 2 and while awaiting a budget approval. They are replayed here with the SDK's
 * replayer against today's workflow code: a change that would break a running job (a nondeterministic command
 * sequence, for example the wait reshaped without `patched()`) fails this test.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordedHistories, recordedReleases, replayRecorded } from '../support/histories';
import { workflowBundle } from '../support/stack';

const root = join(__dirname, 'fixtures', 'histories');
const releases = recordedReleases(root);

describe('replay of recorded processing histories', () => {
  it('there are histories of closed jobs (completed, failed, cancelled) and of jobs in flight', () => {
    expect(releases.length).toBeGreaterThan(0);
    for (const release of releases) {
      const statuses = recordedHistories(root, release).map(([, r]) => r.status);
      for (const status of ['COMPLETED', 'FAILED', 'CANCELLED', 'RUNNING']) expect(statuses, `${release}: ${status}`).toContain(status);
    }
  });

  it.each(releases)('every history recorded from release %s replays on the current workflow code', async (release) => {
    const outcomes = await replayRecorded(root, release, await workflowBundle('processing/workflows.ts'), `processing-${release}`);
    expect(outcomes.filter((o) => o.error)).toEqual([]);
  }, 120_000);
});
