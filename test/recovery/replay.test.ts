/**
 * Upgrades: profile and semaphore workflows live for ever, so every release must replay the histories that earlier
 * releases' workflows wrote. The histories under fixtures/histories/<release>/ were recorded from real runs on the
 * embedded server (record-histories.ts) and are replayed here with the SDK's replayer against today's workflow code:
 * a change that would break a running workflow (a nondeterministic command sequence) fails this test.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from './history-json';
import { recoveryBundle } from './harness';

const root = join(__dirname, 'fixtures', 'histories');
const releases = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);

interface Recorded {
  workflowId: string;
  workflowType: string;
  status: string;
  events: number;
}

function recorded(release: string): [string, Recorded][] {
  return Object.entries(JSON.parse(readFileSync(join(root, release, 'manifest.json'), 'utf8')) as Record<string, Recorded>);
}

describe('replay of recorded recovery histories', () => {
  it('there are histories of every long-lived workflow type, running and closed', () => {
    expect(releases.length).toBeGreaterThan(0);
    for (const release of releases) {
      const entries = recorded(release).map(([, r]) => r);
      for (const type of ['profileRecovery', 'dataSyncSlots', 'restoreHomeDirectory', 'recoveryEventIntake']) {
        expect(entries.some((r) => r.workflowType === type), `${release}: ${type}`).toBe(true);
      }
      expect(entries.some((r) => r.workflowType === 'profileRecovery' && r.status === 'RUNNING')).toBe(true);
      expect(entries.some((r) => r.workflowType === 'restoreHomeDirectory' && r.status === 'RUNNING')).toBe(true);
    }
  });

  it.each(releases)('every history recorded from release %s replays on the current workflow code', async (release) => {
    const entries = recorded(release);
    const histories = entries.map(([name, r]) => {
      const history = historyFromJSON(JSON.parse(readFileSync(join(root, release, `${name}.json`), 'utf8')));
      expect(history.events?.length, name).toBe(r.events);
      return { workflowId: r.workflowId, history };
    });
    const results: { workflowId: string; error?: string }[] = [];
    for await (const r of Worker.runReplayHistories({ workflowBundle: await recoveryBundle(), replayName: `recovery-${release}` }, histories)) {
      results.push({ workflowId: r.workflowId, ...(r.error ? { error: String(r.error) } : {}) });
    }
    expect(results).toEqual(entries.map(([, r]) => ({ workflowId: r.workflowId })));
  }, 120_000);
});
