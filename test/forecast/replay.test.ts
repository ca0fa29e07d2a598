/**
 * Upgrades: a retraining run lasts as long as its trainings (hours), so a release must replay the histories of the
 * runs the previous release left in flight. The histories under fixtures/histories/<release>/ were recorded from real
 * runs on both backends (record-histories.ts): first runs, runs that retrain nothing, promote or keep, an operator's
 * promotion, and runs stopped in the middle of their training. They are replayed here with the SDK's replayer against
 * today's workflow code: a change that would break a running workflow (a nondeterministic command sequence, for
 * example steps reshaped without `patched()`) fails this test.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordedHistories, recordedReleases, replayRecorded } from '../support/histories';
import { workflowBundle } from '../support/stack';

const root = join(__dirname, 'fixtures', 'histories');
const releases = recordedReleases(root);

describe('replay of recorded forecast histories', () => {
  it('there are histories of every workflow type on both backends, running and closed', () => {
    expect(releases.length).toBeGreaterThan(0);
    for (const release of releases) {
      const entries = recordedHistories(root, release);
      for (const backend of ['forecast', 'automl']) {
        const mine = entries.filter(([name]) => name.startsWith(`${backend}-`)).map(([, r]) => r);
        for (const type of ['forecastRetraining', 'forecastSegment', 'forecastPromote']) {
          expect(mine.some((r) => r.workflowType === type && r.status === 'COMPLETED'), `${release} ${backend}: ${type}`).toBe(true);
        }
        for (const type of ['forecastRetraining', 'forecastSegment']) {
          expect(mine.some((r) => r.workflowType === type && r.status === 'RUNNING'), `${release} ${backend}: ${type} running`).toBe(true);
        }
      }
    }
  });

  it.each(releases)('every history recorded from release %s replays on the current workflow code', async (release) => {
    const outcomes = await replayRecorded(root, release, await workflowBundle('forecast/index.ts'), `forecast-${release}`);
    expect(outcomes.filter((o) => o.error)).toEqual([]);
  }, 120_000);
});
