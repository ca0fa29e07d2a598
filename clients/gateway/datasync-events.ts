/**
 * What a "DataSync Task Execution State Change" event means for profile recovery: an execution that reached SUCCESS
 * or ERROR ends a restore's wait for its copy (a `transferEventIntake` workflow finds the restore by the task's tag).
 * AWS's event: `source: aws.datasync`, `resources: [<task execution ARN>]`, `detail: { State }`. Pure: the server
 * acts on the answer.
 */
export const DATASYNC_EXECUTION_EVENT = 'DataSync Task Execution State Change';

const EXECUTION_ARN = /^arn:aws[a-z-]*:datasync:[a-z0-9-]+:\d{12}:task\/task-[0-9a-f]{17}\/execution\/exec-[0-9a-f]{17}$/;
/** Compared without case: the DataSync guide lists the states in prose ("Success"), DescribeTaskExecution in capitals. */
const ENDED = new Set(['SUCCESS', 'ERROR']);

export type DataSyncInterpretation =
  | { kind: 'transfer-ended'; taskExecutionArn: string; state: string }
  | { kind: 'ignored'; reason: string }
  | { kind: 'malformed'; message: string }
  | { kind: 'not-datasync' };

interface Envelope {
  source?: unknown;
  'detail-type'?: unknown;
  resources?: unknown;
  detail?: unknown;
}

export function interpretDataSyncEvent(body: unknown): DataSyncInterpretation {
  const env = (body ?? {}) as Envelope;
  if (env.source !== 'aws.datasync' || env['detail-type'] !== DATASYNC_EXECUTION_EVENT) return { kind: 'not-datasync' };
  const state = (env.detail as { State?: unknown } | undefined)?.State;
  if (typeof state !== 'string' || state.length > 64) return { kind: 'malformed', message: 'detail.State (a string of at most 64 characters) is required' };
  const arn = Array.isArray(env.resources) ? env.resources.find((r): r is string => typeof r === 'string' && EXECUTION_ARN.test(r)) : undefined;
  if (!arn) return { kind: 'malformed', message: 'resources must hold the DataSync task execution ARN' };
  if (!ENDED.has(state.toUpperCase())) return { kind: 'ignored', reason: `execution ${arn.split('/').at(-1) ?? arn} is ${state}, not ended` };
  return { kind: 'transfer-ended', taskExecutionArn: arn, state: state.toUpperCase() };
}
