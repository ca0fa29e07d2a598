/**
 * The server's schedules, by namespace and id: the WorkflowService schedule calls (create, describe, update, patch,
 * delete, list, count, matching times), the bridge to the engine (starting, watching, cancelling and terminating the
 * workflows schedules start), and what the state file saves and loads.
 */
import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Engine } from '../engine';
import type { NamespaceState } from '../namespaces';
import { ServiceError, invalidArgument, notFound } from '../errors';
import { attributesOf } from '../history';
import type { Failure, Memo, Payloads, SearchAttributes, Timestamp } from '../proto-types';
import { msFromTimestamp } from '../time-format';
import { knownAttributes, validatedSearchValues } from '../visibility-store';
import { compileVisibilityQuery, VisibilityQueryError } from '../visibility/query';
import { encodeSearchAttributes } from '../visibility/search-attributes';
import { STATUS_ENUM, type WorkflowRun } from '../workflow-run';
import { SpecError } from './calendar';
import { overlapPolicyOf, type OverlapPolicy } from './overlap';
import {
  Schedule,
  catchupWindowMs,
  decodeConflictToken,
  encodeConflictToken,
  type NewWorkflowExecutionInfo,
  type ScheduleHost,
  type SchedulePolicies,
  type ScheduleRecord,
  type ScheduleState,
  type WorkflowState,
} from './scheduler';
import { CompiledSpec, type ScheduleSpecMessage } from './spec';

interface ScheduleMessage {
  spec?: ScheduleSpecMessage;
  action?: { startWorkflow?: NewWorkflowExecutionInfo };
  policies?: { overlapPolicy?: string | number; catchupWindow?: Timestamp | null; pauseOnFailure?: boolean; keepOriginalWorkflowId?: boolean };
  state?: { notes?: string; paused?: boolean; limitedActions?: boolean; remainingActions?: number | string };
}

interface PatchMessage {
  triggerImmediately?: { overlapPolicy?: string | number; scheduledTime?: Timestamp | null } | null;
  backfillRequest?: { startTime?: Timestamp | null; endTime?: Timestamp | null; overlapPolicy?: string | number }[];
  pause?: string;
  unpause?: string;
}

type Req = { namespace?: string; scheduleId?: string; identity?: string; requestId?: string };

const MAX_ID_LENGTH = 1000;
/** The timestamp appended to scheduled workflow ids: `-2009-11-10T23:00:00Z`. */
const APPENDED_LENGTH = 21;
const DEFAULT_PAGE_SIZE = 1000;

const key = (namespace: string, scheduleId: string): string => `${namespace}\n${scheduleId}`;

function specError(err: unknown): never {
  if (err instanceof SpecError) throw invalidArgument(err.message);
  throw err;
}

function overlap(value: unknown, what: string): OverlapPolicy {
  const policy = overlapPolicyOf(value);
  if (!policy) throw invalidArgument(`${what}: unknown overlap policy ${String(value)}`);
  return policy;
}

export class ScheduleStore {
  private readonly schedules = new Map<string, Schedule>();
  /** Told of every schedule that changed or was deleted (undefined): the state file. */
  onChanged?: (namespace: string, scheduleId: string, record: ScheduleRecord | undefined) => void;
  private readonly host: ScheduleHost;
  private closed = false;

  constructor(
    private readonly engine: Engine,
    log?: Logger,
  ) {
    this.host = {
      now: () => engine.time.now(),
      scheduleAt: (at, fire) => engine.time.scheduleAt(at, fire, { passive: true }),
      startWorkflow: (_namespace, req) => engine.startWorkflowExecution(req),
      workflowState: (namespace, workflowId, firstRunId) => this.workflowState(namespace, workflowId, firstRunId),
      cancelWorkflow: (namespace, workflowId, reason, identity) => engine.requestCancelWorkflowExecution({ namespace, workflowExecution: { workflowId }, reason, identity }),
      terminateWorkflow: (namespace, workflowId, reason, identity) => engine.terminateWorkflowExecution({ namespace, workflowExecution: { workflowId }, reason, identity }),
      scheduledSearchAttributes: (namespace, nominalMs, scheduleId) =>
        encodeSearchAttributes({ TemporalScheduledStartTime: nominalMs, TemporalScheduledById: scheduleId }, knownAttributes(engine.namespaces.get(namespace))),
      typedSearchAttributes: (namespace, attrs) => {
        const ns = engine.namespaces.get(namespace);
        const values = searchValuesOrNone(ns, attrs);
        return Object.keys(values).length > 0 ? { indexedFields: encodeSearchAttributes(values, knownAttributes(ns)) } : undefined;
      },
      changed: (s) => this.onChanged?.(s.record.namespace, s.record.scheduleId, s.record),
      log,
    };
  }

  // ---- state file -----------------------------------------------------------------------------------------------

  /** Schedules read from the state file; `resume` starts their clocks. */
  load(records: Iterable<ScheduleRecord>): void {
    for (const record of records) {
      if (!this.engine.namespaces.find(record.namespace)) continue;
      this.schedules.set(key(record.namespace, record.scheduleId), new Schedule(record, this.host));
    }
  }

  /** Catches up what came due while the server was down (within each catch-up window) and arms the next actions. */
  resume(): void {
    for (const s of this.schedules.values()) s.wake();
  }

  records(): ScheduleRecord[] {
    return [...this.schedules.values()].map((s) => s.record);
  }

  close(): void {
    this.closed = true;
    for (const s of this.schedules.values()) s.stop();
  }

  /** The engine tells of every run that closed: a schedule waits for the workflows it started. */
  runClosed(run: WorkflowRun): void {
    if (this.closed || run.nextRunId) return;
    const scheduleId = run.searchValues.TemporalScheduledById;
    if (typeof scheduleId !== 'string') return;
    this.schedules.get(key(run.namespace, scheduleId))?.workflowClosed(run.workflowId, stateOf(run));
  }

  private workflowState(namespace: string, workflowId: string, firstRunId: string): WorkflowState {
    const ns = this.engine.namespaces.find(namespace);
    if (!ns) return {};
    // The first run may be gone (retention): then the latest with that id is the chain if it started from it.
    const latest = ns.latestRun.get(workflowId);
    let run: WorkflowRun | undefined = ns.runs.get(firstRunId) ?? (latest?.config.firstExecutionRunId === firstRunId ? latest : undefined);
    if (!run) return {};
    for (let i = 0; run.nextRunId && i < 10_000; i++) {
      const next: WorkflowRun | undefined = ns.runs.get(run.nextRunId);
      if (!next) break;
      run = next;
    }
    return stateOf(run);
  }

  // ---- calls --------------------------------------------------------------------------------------------------------

  private get(req: Req): Schedule {
    const ns = this.engine.namespaces.get(req.namespace);
    if (!req.scheduleId) throw invalidArgument('ScheduleId is not set on request.');
    const s = this.schedules.get(key(ns.name, req.scheduleId));
    if (!s) throw notFound(`schedule "${req.scheduleId}" not found in namespace "${ns.name}"`);
    return s;
  }

  /** Validates a schedule message into its parts; INVALID_ARGUMENT (and nothing changed) when it does not fit. */
  private parts(namespace: string, schedule: ScheduleMessage | undefined): { compiled: CompiledSpec; action: NewWorkflowExecutionInfo; policies: SchedulePolicies; state: ScheduleState } {
    if (!schedule) throw invalidArgument('Schedule is not set on request.');
    const ns = this.engine.namespaces.get(namespace);
    const action = schedule.action?.startWorkflow;
    if (!action) throw invalidArgument('Schedule action is not set: a schedule needs a startWorkflow action.');
    if (!action.workflowId) throw invalidArgument('WorkflowId is not set on the schedule action.');
    if (!action.workflowType?.name) throw invalidArgument('WorkflowType is not set on the schedule action.');
    if (!action.taskQueue?.name) throw invalidArgument('TaskQueue is not set on the schedule action.');
    if (action.cronSchedule) throw invalidArgument('CronSchedule is not allowed in a schedule action: give the times in the schedule spec.');
    if (action.workflowId.length + APPENDED_LENGTH > MAX_ID_LENGTH) throw invalidArgument('WorkflowId of the schedule action exceeds length limit (with the timestamp appended).');
    validatedSearchValues(ns, action.searchAttributes);
    let compiled: CompiledSpec;
    try {
      compiled = new CompiledSpec(schedule.spec);
    } catch (err) {
      specError(err);
    }
    const p = schedule.policies ?? {};
    const policies: SchedulePolicies = {
      overlapPolicy: overlap(p.overlapPolicy, 'schedule policies'),
      catchupWindowMs: catchupWindowMs(p.catchupWindow),
      pauseOnFailure: p.pauseOnFailure === true,
      keepOriginalWorkflowId: p.keepOriginalWorkflowId === true,
    };
    if (policies.overlapPolicy === 'SCHEDULE_OVERLAP_POLICY_UNSPECIFIED') policies.overlapPolicy = 'SCHEDULE_OVERLAP_POLICY_SKIP';
    const s = schedule.state ?? {};
    const remaining = Number(s.remainingActions ?? 0);
    if (!Number.isSafeInteger(remaining) || remaining < 0) throw invalidArgument('RemainingActions must be a non-negative integer.');
    const state: ScheduleState = { notes: s.notes ?? '', paused: s.paused === true, limitedActions: s.limitedActions === true, remainingActions: s.limitedActions ? remaining : 0 };
    const { workflowIdReusePolicy: _reuse, cronSchedule: _cron, ...kept } = action;
    return { compiled, action: kept, policies, state };
  }

  create(req: Req & { schedule?: ScheduleMessage; initialPatch?: PatchMessage; memo?: Memo; searchAttributes?: SearchAttributes }): object {
    const ns = this.engine.namespaces.get(req.namespace);
    if (!req.scheduleId) throw invalidArgument('ScheduleId is not set on request.');
    if (req.scheduleId.length > MAX_ID_LENGTH) throw invalidArgument('ScheduleId exceeds length limit.');
    const existing = this.schedules.get(key(ns.name, req.scheduleId));
    if (existing) {
      if (req.requestId && existing.record.createRequestId === req.requestId) return { conflictToken: Buffer.alloc(0) };
      throw new ServiceError(status.ALREADY_EXISTS, `schedule "${req.scheduleId}" is already registered`, {
        typeName: 'temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure',
        value: { startRequestId: existing.record.createRequestId ?? '', runId: '' },
      });
    }
    const { compiled, action, policies, state } = this.parts(ns.name, req.schedule);
    const scheduleSearch = req.searchAttributes?.indexedFields && Object.keys(req.searchAttributes.indexedFields).length > 0 ? req.searchAttributes : undefined;
    validatedSearchValues(ns, scheduleSearch);
    const patch = req.initialPatch ?? {};
    this.checkPatch(patch);
    const now = this.engine.time.now();
    const record: ScheduleRecord = {
      namespace: ns.name,
      scheduleId: req.scheduleId,
      spec: compiled.canonical,
      action,
      policies,
      state,
      memo: req.memo?.fields && Object.keys(req.memo.fields).length > 0 ? req.memo : undefined,
      searchAttributes: scheduleSearch,
      info: { actionCount: 0, missedCatchupWindow: 0, overlapSkipped: 0, bufferDropped: 0, runningWorkflows: [], recentActions: [], createTime: now },
      lastProcessedMs: now,
      conflictToken: 1,
      buffer: [],
      backfills: [],
      createRequestId: req.requestId,
      requestIds: [],
    };
    const schedule = new Schedule(record, this.host);
    this.schedules.set(key(ns.name, req.scheduleId), schedule);
    this.applyPatch(schedule, patch);
    schedule.process();
    return { conflictToken: encodeConflictToken(record.conflictToken) };
  }

  describe(req: Req): object {
    return this.get(req).describe();
  }

  update(req: Req & { schedule?: ScheduleMessage; conflictToken?: Uint8Array; searchAttributes?: SearchAttributes | null; memo?: Memo | null }): object {
    const schedule = this.get(req);
    const token = decodeConflictToken(req.conflictToken);
    if (token !== undefined && token !== schedule.record.conflictToken) {
      throw new ServiceError(status.FAILED_PRECONDITION, `schedule "${schedule.id}" was changed since the conflict token was read; describe it again and retry`);
    }
    const { compiled, action, policies, state } = this.parts(schedule.record.namespace, req.schedule);
    const ns = this.engine.namespaces.get(schedule.record.namespace);
    if (req.searchAttributes) validatedSearchValues(ns, req.searchAttributes);
    if (schedule.seenRequest(req.requestId)) return {};
    // What came due under the old definition is taken first.
    schedule.process();
    schedule.replace(compiled, action, policies, state);
    if (req.searchAttributes) schedule.record.searchAttributes = Object.keys(req.searchAttributes.indexedFields ?? {}).length > 0 ? req.searchAttributes : undefined;
    if (req.memo) schedule.record.memo = Object.keys(req.memo.fields ?? {}).length > 0 ? req.memo : undefined;
    schedule.process();
    return {};
  }

  patch(req: Req & { patch?: PatchMessage }): object {
    const schedule = this.get(req);
    const patch = req.patch ?? {};
    this.checkPatch(patch);
    if (schedule.seenRequest(req.requestId)) return {};
    // Time up to now is processed under the state before the patch (so an unpause does not run the paused time).
    schedule.process();
    this.applyPatch(schedule, patch);
    schedule.process();
    return {};
  }

  private checkPatch(patch: PatchMessage): void {
    if (patch.triggerImmediately) overlap(patch.triggerImmediately.overlapPolicy, 'trigger');
    for (const b of patch.backfillRequest ?? []) {
      overlap(b.overlapPolicy, 'backfill');
      if (!b.startTime || !b.endTime) throw invalidArgument('A backfill request needs a start time and an end time.');
      if (msFromTimestamp(b.endTime) < msFromTimestamp(b.startTime)) throw invalidArgument('A backfill request ends before it starts.');
    }
    if (patch.pause && patch.unpause) throw invalidArgument('A patch cannot both pause and unpause.');
  }

  private applyPatch(schedule: Schedule, patch: PatchMessage): void {
    if (patch.triggerImmediately) {
      const t = patch.triggerImmediately;
      schedule.trigger(overlap(t.overlapPolicy, 'trigger'), t.scheduledTime && msFromTimestamp(t.scheduledTime) > 0 ? msFromTimestamp(t.scheduledTime) : undefined);
    }
    for (const b of patch.backfillRequest ?? []) schedule.backfill(msFromTimestamp(b.startTime), msFromTimestamp(b.endTime), overlap(b.overlapPolicy, 'backfill'));
    if (patch.pause) schedule.setPaused(true, patch.pause);
    if (patch.unpause) schedule.setPaused(false, patch.unpause);
  }

  delete(req: Req): object {
    const schedule = this.get(req);
    schedule.stop(true);
    this.schedules.delete(key(schedule.record.namespace, schedule.id));
    this.onChanged?.(schedule.record.namespace, schedule.id, undefined);
    return {};
  }

  matchingTimes(req: Req & { startTime?: Timestamp; endTime?: Timestamp }): object {
    const schedule = this.get(req);
    if (!req.startTime || !req.endTime) throw invalidArgument('StartTime and EndTime must be set.');
    return { startTime: schedule.matchingTimes(msFromTimestamp(req.startTime), msFromTimestamp(req.endTime)).map((ms) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 })) };
  }

  /** Schedules of a namespace, by id, filtered by a visibility query over their search attributes. */
  private matching(namespace: string | undefined, query: string | undefined): Schedule[] {
    const ns = this.engine.namespaces.get(namespace);
    const types = new Map([...knownAttributes(ns), ['ScheduleId', 'Keyword' as const]]);
    let compiled;
    try {
      compiled = compileVisibilityQuery(query ?? '', types);
    } catch (err) {
      if (err instanceof VisibilityQueryError) throw invalidArgument(err.message);
      throw err;
    }
    return [...this.schedules.values()]
      .filter((s) => s.record.namespace === ns.name)
      .filter((s) =>
        compiled.matches({
          WorkflowId: s.id,
          RunId: s.id,
          WorkflowType: s.record.action.workflowType?.name ?? '',
          ExecutionStatus: 'Running',
          StartTime: s.record.info.createTime,
          TaskQueue: s.record.action.taskQueue?.name ?? '',
          custom: { ...searchValuesOrNone(ns, s.record.searchAttributes), ScheduleId: s.id, TemporalSchedulePaused: s.record.state.paused },
        }),
      )
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  list(req: Req & { maximumPageSize?: number; nextPageToken?: Uint8Array; query?: string }): object {
    const all = this.matching(req.namespace, req.query);
    const size = req.maximumPageSize && req.maximumPageSize > 0 ? req.maximumPageSize : DEFAULT_PAGE_SIZE;
    const after = req.nextPageToken && req.nextPageToken.length > 0 ? Buffer.from(req.nextPageToken).toString('utf8') : undefined;
    const from = after === undefined ? 0 : all.findIndex((s) => s.id > after);
    const page = from < 0 ? [] : all.slice(from, from + size);
    const more = from >= 0 && from + size < all.length;
    return { schedules: page.map((s) => s.listEntry()), nextPageToken: more ? Buffer.from(page[page.length - 1].id) : Buffer.alloc(0) };
  }

  count(req: Req & { query?: string }): object {
    return { count: this.matching(req.namespace, req.query).length };
  }
}

/** The decoded values, or none when they no longer fit (an attribute removed since the schedule was created). */
function searchValuesOrNone(ns: NamespaceState, attrs: SearchAttributes | undefined): Record<string, unknown> {
  try {
    return validatedSearchValues(ns, attrs);
  } catch {
    return {};
  }
}

/** A run's status and outcome, for the schedule that started it. */
function stateOf(run: WorkflowRun): WorkflowState {
  const status = STATUS_ENUM[run.status];
  if (run.isOpen) return { status };
  const last = run.history[run.history.length - 1];
  if (run.status === 'Completed') return { status, result: attributesOf<{ result?: Payloads }>(last, 'WorkflowExecutionCompleted')?.result };
  if (run.status === 'Failed') return { status, failure: attributesOf<{ failure?: Failure }>(last, 'WorkflowExecutionFailed')?.failure };
  return { status };
}
