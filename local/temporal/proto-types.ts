/**
 * The shapes of the Temporal messages our handlers read and write, as protobufjs presents them with our conventions (see
 * CONVERSION in proto.ts). Only the fields we use are named; payloads, headers, failures and the like pass through
 * untouched, so they stay opaque `Message`s.
 */
import type { Message } from './proto';

export type { Message };

export interface Timestamp {
  seconds?: number;
  nanos?: number;
}
export type Duration = Timestamp;

export interface Payloads {
  payloads?: Message[];
}

export interface WorkflowExecution {
  workflowId?: string;
  runId?: string;
}

export interface TaskQueue {
  name?: string;
  kind?: string;
  normalName?: string;
}

export interface RetryPolicy {
  initialInterval?: Duration;
  backoffCoefficient?: number;
  maximumInterval?: Duration;
  maximumAttempts?: number;
  nonRetryableErrorTypes?: string[];
}

export interface Failure {
  message?: string;
  source?: string;
  stackTrace?: string;
  cause?: Failure;
  applicationFailureInfo?: { type?: string; nonRetryable?: boolean; details?: Payloads; nextRetryDelay?: Duration };
  timeoutFailureInfo?: { timeoutType?: string; lastHeartbeatDetails?: Payloads };
  canceledFailureInfo?: { details?: Payloads };
  terminatedFailureInfo?: Message;
  serverFailureInfo?: { nonRetryable?: boolean };
  activityFailureInfo?: Message;
  childWorkflowExecutionFailureInfo?: Message;
  [other: string]: unknown;
}

export interface HistoryEvent {
  eventId: number;
  eventTime: Timestamp;
  eventType: string;
  taskId: number;
  [attributes: string]: unknown;
}

export interface SearchAttributes {
  indexedFields?: Record<string, { metadata?: Record<string, Buffer>; data?: Buffer }>;
}

export interface Memo {
  fields?: Record<string, Message>;
}

/** The parts of StartWorkflowExecution / SignalWithStart / StartChildWorkflowExecution a new run is made of. */
export interface StartWorkflowRequest {
  namespace?: string;
  workflowId?: string;
  workflowType?: { name?: string };
  taskQueue?: TaskQueue;
  input?: Payloads;
  workflowExecutionTimeout?: Duration;
  workflowRunTimeout?: Duration;
  workflowTaskTimeout?: Duration;
  identity?: string;
  requestId?: string;
  workflowIdReusePolicy?: string;
  workflowIdConflictPolicy?: string;
  retryPolicy?: RetryPolicy;
  cronSchedule?: string;
  memo?: Memo;
  searchAttributes?: SearchAttributes;
  header?: Message;
  workflowStartDelay?: Duration;
  userMetadata?: Message;
  lastCompletionResult?: Payloads;
  continuedFailure?: Failure;
  versioningOverride?: Message;
  /** priorityKey, fairnessKey, fairnessWeight: kept on the started event, so the workflow sees it in its info */
  priority?: Message;
}

export interface Command {
  commandType?: string;
  userMetadata?: Message;
  [attributes: string]: unknown;
}

export interface ProtocolMessage {
  id?: string;
  protocolInstanceId?: string;
  eventId?: number;
  commandIndex?: number;
  body?: { type_url?: string; typeUrl?: string; value?: Buffer };
}

export interface WorkflowQuery {
  queryType?: string;
  queryArgs?: Payloads;
  header?: Message;
}

export interface UpdateRequest {
  meta?: { updateId?: string; identity?: string };
  input?: { header?: Message; name?: string; args?: Payloads };
}

export interface UpdateOutcome {
  success?: Payloads;
  failure?: Failure;
}
