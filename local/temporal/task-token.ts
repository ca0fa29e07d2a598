/**
 * Task tokens are opaque to workers; ours name the run, the task's scheduled event and attempt, so a completion for
 * a task that timed out, was retried or whose workflow closed meanwhile is recognised as stale (NOT_FOUND).
 */
import { invalidArgument } from './errors';

export type TaskToken =
  | { kind: 'workflow'; namespace: string; runId: string; scheduledEventId: number; attempt: number }
  | { kind: 'activity'; namespace: string; runId: string; scheduledEventId: number; attempt: number }
  | { kind: 'query'; namespace: string; runId: string; queryId: string };

export function encodeTaskToken(t: TaskToken): Buffer {
  return Buffer.from(JSON.stringify(t));
}

export function decodeTaskToken(b: Buffer | undefined): TaskToken {
  if (!b || b.length === 0) throw invalidArgument('Task token not set on request.');
  try {
    const t = JSON.parse(b.toString('utf8')) as TaskToken;
    if (typeof t.runId === 'string' && typeof t.namespace === 'string') return t;
  } catch {
    // fall through
  }
  throw invalidArgument('Error deserializing task token.');
}
