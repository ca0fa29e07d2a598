/**
 * Recorded histories for upgrade safety: a pipeline's recording script runs its workflows for real on the embedded
 * server and writes each history (the SDK's history JSON) with a manifest under fixtures/histories/<release>/; its
 * replay test replays every recorded history against today's workflow bundle, so a change that would break a workflow
 * still running when the new code is deployed (a nondeterministic command sequence) fails the test.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';

export interface RecordedHistory {
  workflowId: string;
  workflowType: string;
  /** the run's status when it was recorded (RUNNING: a workflow a deployment finds in flight) */
  status: string;
  events: number;
}

/** Writes the histories of `wanted` ([fixture name, workflow id]) to `dir`; returns their manifest entries. */
export async function writeHistories(client: Client, dir: string, wanted: [string, string][]): Promise<Record<string, RecordedHistory>> {
  mkdirSync(dir, { recursive: true });
  const manifest: Record<string, RecordedHistory> = {};
  for (const [name, workflowId] of wanted) {
    const handle = client.workflow.getHandle(workflowId);
    const [history, description] = await Promise.all([handle.fetchHistory(), handle.describe()]);
    writeFileSync(join(dir, `${name}.json`), `${historyToJSON(history)}\n`);
    manifest[name] = { workflowId, workflowType: description.type, status: description.status.name, events: history.events?.length ?? 0 };
  }
  return manifest;
}

/** The manifest of a release's histories (what the replay test checks them against). */
export function writeManifest(dir: string, manifest: Record<string, RecordedHistory>): void {
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** The releases whose histories are recorded under `root`. */
export function recordedReleases(root: string): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
}

/** The manifest of one release: [fixture name, what was recorded]. */
export function recordedHistories(root: string, release: string): [string, RecordedHistory][] {
  return Object.entries(JSON.parse(readFileSync(join(root, release, 'manifest.json'), 'utf8')) as Record<string, RecordedHistory>);
}

/** Workflow ids are unique within a release's fixtures. */
export interface ReplayOutcome {
  name: string;
  workflowId: string;
  /** the replayer's error (a nondeterminism), or a fixture whose events do not match its manifest */
  error?: string;
}

/** Replays every history of one release on `workflowBundle`: one outcome per fixture, no error when it replays. */
export async function replayRecorded(root: string, release: string, workflowBundle: { code: string }, replayName: string): Promise<ReplayOutcome[]> {
  const entries = recordedHistories(root, release);
  const outcomes = new Map<string, ReplayOutcome>(entries.map(([name, r]) => [r.workflowId, { name, workflowId: r.workflowId, error: 'not replayed' }]));
  const histories = entries.map(([name, r]) => ({ workflowId: r.workflowId, history: historyFromJSON(JSON.parse(readFileSync(join(root, release, `${name}.json`), 'utf8'))) }));
  for await (const r of Worker.runReplayHistories({ workflowBundle, replayName }, histories)) {
    const o = outcomes.get(r.workflowId);
    if (o) o.error = r.error ? String(r.error) : undefined;
  }
  for (const [i, [, r]] of entries.entries()) {
    const events = histories[i]!.history.events?.length;
    if (events !== r.events) outcomes.get(r.workflowId)!.error = `${events} events, the manifest says ${r.events}`;
  }
  return [...outcomes.values()].map(({ error, ...o }) => (error ? { ...o, error } : o));
}

/** Runs a recording script's main and exits with its outcome (the stack's handles would keep the process alive). */
export function runRecording(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
