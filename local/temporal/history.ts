/** History events: type names, attribute keys and the page tokens used by polls and GetWorkflowExecutionHistory. */
import type { HistoryEvent } from './proto-types';

/** `WorkflowTaskScheduled` -> `EVENT_TYPE_WORKFLOW_TASK_SCHEDULED` */
export function eventTypeName(shortName: string): string {
  return `EVENT_TYPE_${shortName.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

/** `WorkflowTaskScheduled` -> `workflowTaskScheduledEventAttributes` (the oneof field the SDK reads). */
export function attributesKey(shortName: string): string {
  return `${shortName.charAt(0).toLowerCase()}${shortName.slice(1)}EventAttributes`;
}

export function attributesOf<T>(event: HistoryEvent, shortName: string): T {
  return event[attributesKey(shortName)] as T;
}

export interface HistoryPageToken {
  /** run the token belongs to; a token from another run (result() following a continue-as-new chain) is ignored */
  runId: string;
  /** first event id of the next page */
  next: number;
  /** last event id this paging session may return (a workflow task's started event), or undefined for "latest" */
  end?: number;
  /** a transient workflow task's scheduled and started events, not in history, which end the last page */
  transient?: HistoryEvent[];
}

export function encodePageToken(t: HistoryPageToken): Buffer {
  return Buffer.from(JSON.stringify(t));
}

export function decodePageToken(b: Buffer | undefined): HistoryPageToken | undefined {
  if (!b || b.length === 0) return undefined;
  try {
    const t = JSON.parse(b.toString('utf8')) as HistoryPageToken;
    if (typeof t.runId === 'string' && typeof t.next === 'number') return t;
  } catch {
    // fall through
  }
  return undefined;
}
