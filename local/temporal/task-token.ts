/**
 * Task tokens are opaque to workers; ours name the run, the task's scheduled event and attempt, so a completion for
 * a task that timed out, was retried or whose workflow closed meanwhile is recognised as stale (NOT_FOUND).
 */
import { Reader } from 'protobufjs';
import { invalidArgument } from './errors';

export type TaskToken =
  | { kind: 'workflow'; namespace: string; runId: string; scheduledEventId: number; attempt: number }
  | { kind: 'activity'; namespace: string; runId: string; scheduledEventId: number; attempt: number }
  | { kind: 'query'; namespace: string; runId: string; queryId: string }
  /** A token in the real server's format (another server's task): it names no task of ours. */
  | { kind: 'foreign'; namespaceId: string; workflowId: string; runId: string; activityId?: string };

export function encodeTaskToken(t: TaskToken): Buffer {
  return Buffer.from(JSON.stringify(t));
}

export function decodeTaskToken(b: Buffer | undefined): TaskToken {
  if (!b || b.length === 0) throw invalidArgument('Task token not set on request.');
  try {
    const t = JSON.parse(b.toString('utf8')) as TaskToken & { namespace?: unknown };
    if (typeof t.runId === 'string' && typeof t.namespace === 'string' && t.kind !== 'foreign') return t;
  } catch {
    // fall through
  }
  const foreign = decodeServerToken(b);
  if (foreign) return foreign;
  throw invalidArgument('Error deserializing task token.');
}

/**
 * The real server's task token (temporal.server.api.token.v1.Task: namespace id 1, workflow id 2, run id 3,
 * scheduled event id 4, attempt 5, activity id 6, ...), as a client may hold one from another server; undefined
 * when the bytes are not one.
 */
function decodeServerToken(b: Buffer): TaskToken | undefined {
  const fields: Record<number, string> = {};
  try {
    const r = Reader.create(b);
    while (r.pos < r.len) {
      const tag = r.uint32();
      const field = tag >>> 3;
      if ((tag & 7) === 2 && [1, 2, 3, 6].includes(field)) fields[field] = r.string();
      else r.skipType(tag & 7);
    }
  } catch {
    return undefined;
  }
  if (!fields[1] || !fields[2] || !fields[3]) return undefined;
  return { kind: 'foreign', namespaceId: fields[1], workflowId: fields[2], runId: fields[3], activityId: fields[6] };
}
