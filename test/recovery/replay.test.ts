/**
 * Upgrades: profile and semaphore workflows live for ever, so every release must replay the histories that earlier
 * releases' workflows wrote. The histories under fixtures/histories/<release>/ were recorded from real runs on the
 * embedded server (record-histories.ts) and are replayed here with the SDK's replayer against today's workflow code:
 * a change that would break a running workflow (a nondeterministic command sequence) fails this test.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordedHistories, recordedReleases, replayRecorded } from '../support/histories';
import { recoveryBundle } from './harness';

const root = join(__dirname, 'fixtures', 'histories');
const releases = recordedReleases(root);

describe('replay of recorded recovery histories', () => {
  it('there are histories of every long-lived workflow type, running and closed', () => {
    expect(releases.length).toBeGreaterThan(0);
    for (const release of releases) {
      const entries = recordedHistories(root, release).map(([, r]) => r);
      for (const type of ['profileRecovery', 'dataSyncSlots', 'restoreHomeDirectory', 'recoveryEventIntake']) {
        expect(entries.some((r) => r.workflowType === type), `${release}: ${type}`).toBe(true);
      }
      expect(entries.some((r) => r.workflowType === 'profileRecovery' && r.status === 'RUNNING')).toBe(true);
      expect(entries.some((r) => r.workflowType === 'restoreHomeDirectory' && r.status === 'RUNNING')).toBe(true);
    }
  });

  it.each(releases)('every history recorded from release %s replays on the current workflow code', async (release) => {
    const outcomes = await replayRecorded(root, release, await recoveryBundle(), `recovery-${release}`);
    expect(outcomes.filter((o) => o.error)).toEqual([]);
  }, 120_000);
});
