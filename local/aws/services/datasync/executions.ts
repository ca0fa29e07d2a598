/**
 * The life of a DataSync task execution: QUEUED -> LAUNCHING -> PREPARING -> TRANSFERRING -> VERIFYING -> SUCCESS
 * or ERROR, with default phase durations that grow with the data (scenarios override them, kind
 * `task-execution`). Side effects happen as each status is reached: the file systems are checked when it launches,
 * compared when it prepares, written when the transfer ends, verified when it ends.
 */
import type { JobTracker, JobView, LifecycleDefinition, TransitionContext } from '../../jobs';
import type { ServiceContext } from '../../service';
import { PathError } from '../efs/file-tree';
import type { DataSyncState, EfsLocation, EndedExecution, Execution } from './state';
import { applyTransfer, differingFiles, pathFilter, planTransfer, type Side, type TransferOptions } from './transfer';

export const EXECUTION_KIND = 'task-execution';
const DEFAULT_RATE_BYTES_PER_SECOND = 100 * 1024 * 1024;
const MAX_ENDED_KEPT = 10_000;

function sideOf(state: DataSyncState, location: EfsLocation | undefined): Side | undefined {
  if (!location) return undefined;
  const fs = state.world.efs.fileSystems.get(location.fileSystemId);
  return fs ? { tree: fs.tree, dir: location.subdirectory } : undefined;
}

function fail(rec: Execution, job: JobView, code: string, detail: string): void {
  rec.failure = { atMs: job.statusSinceMs, phase: job.status, code, detail };
}

/** Starts the execution's job now (or at `atMs`), with phase durations for the data its source holds then. */
export function beginExecution(state: DataSyncState, rec: Execution, jobs: JobTracker, atMs?: number): void {
  const task = state.tasks.get(rec.taskArn);
  const source = task ? state.locations.get(task.sourceLocationArn) : undefined;
  const tree = source ? state.world.efs.fileSystems.get(source.fileSystemId)?.tree : undefined;
  const entries = source && tree?.get(source.subdirectory) ? tree.walk(source.subdirectory) : [];
  const bytes = entries.reduce((n, e) => n + (e.entry.type === 'file' ? e.entry.data.length : 0), 0);
  rec.queued = false;
  state.executions.set(rec.arn, rec);
  jobs.start(executionLifecycle(rec.options, bytes, entries.length), rec.arn, { taskArn: rec.taskArn }, atMs);
}

/** When an execution ends, the task's next queued execution starts (TaskQueueing ENABLED), from that moment. */
function startNextQueued(state: DataSyncState, taskArn: string, atMs: number, jobs: JobTracker): void {
  const next = (state.tasks.get(taskArn)?.executionArns ?? []).map((arn) => state.executions.get(arn)).find((e) => e?.queued && !e.failure);
  if (next) beginExecution(state, next, jobs, atMs);
}

/** Kept after the task (and with it the execution) is deleted, so a benchmark can tell how long each copy took. */
function recordEnd(state: DataSyncState, record: EndedExecution): void {
  // A state directory written before this record existed has none.
  const ended = (state.endedExecutions ??= []);
  ended.push(record);
  if (ended.length > MAX_ENDED_KEPT) ended.splice(0, ended.length - MAX_ENDED_KEPT);
}

function onTransition(job: JobView, ctx: TransitionContext): void {
  const state = ctx.state as DataSyncState;
  const rec = state.executions.get(job.id);
  if (!rec) return;
  const failedBefore = rec.failure !== undefined;
  if (!failedBefore) advance(state, rec, job, ctx.nowMs());
  // Set again after changing it in place: `executions` is a TrackedMap, which sees only `set`.
  state.executions.set(rec.arn, rec);
  if (!failedBefore && (rec.failure || job.ended)) {
    const endedAtMs = rec.failure?.atMs ?? job.statusSinceMs;
    recordEnd(state, { arn: rec.arn, taskArn: rec.taskArn, status: rec.failure ? 'ERROR' : job.status, startedAtMs: rec.startedAtMs, launchedAtMs: job.createdAtMs, endedAtMs });
    startNextQueued(state, rec.taskArn, endedAtMs, ctx.jobs);
  }
  ctx.publish({
    source: 'aws.datasync',
    detailType: 'DataSync Task Execution State Change',
    resources: [rec.arn],
    detail: { State: rec.failure ? 'ERROR' : job.status },
  });
}

function advance(state: DataSyncState, rec: Execution, job: JobView, nowMs: number): void {
  const task = state.tasks.get(rec.taskArn);
  const source = sideOf(state, task && state.locations.get(task.sourceLocationArn));
  const destination = sideOf(state, task && state.locations.get(task.destinationLocationArn));
  switch (job.status) {
    case 'LAUNCHING':
      if (!source || !destination) fail(rec, job, 'InvalidLocation', 'DataSync could not mount a location: its EFS file system no longer exists.');
      return;
    case 'PREPARING':
      if (!source || !destination) return fail(rec, job, 'InvalidLocation', 'DataSync could not mount a location: its EFS file system no longer exists.');
      if (source.tree.get(source.dir)?.type !== 'directory') {
        return fail(rec, job, 'PathNotFound', `The source location path ${source.dir} does not exist.`);
      }
      rec.plan = planTransfer(source, destination, rec.options, pathFilter(rec.includes, rec.excludes));
      return;
    case 'VERIFYING':
      if (!source || !destination || !rec.plan) return fail(rec, job, 'InvalidLocation', 'DataSync lost access to a location during the transfer.');
      try {
        destination.tree.mkdirp(destination.dir, { uid: 0, gid: 0 }, nowMs);
        rec.figures = applyTransfer(source, destination, rec.plan, rec.options, nowMs);
      } catch (err) {
        if (err instanceof PathError) return fail(rec, job, 'TransferError', err.message);
        throw err;
      }
      return;
    case 'SUCCESS': {
      if (!source || !destination || !rec.plan || !rec.figures) return;
      const o = rec.options;
      if (o.VerifyMode === 'POINT_IN_TIME_CONSISTENT') {
        const differing = differingFiles(source, destination, pathFilter(rec.includes, rec.excludes));
        rec.filesVerified = rec.plan.filesAtSource - differing.length;
        if (differing.length > 0) {
          return fail(rec, job, 'VerificationFailed', `Verification failed: ${differing.length} file(s) differ between source and destination, e.g. ${differing[0] as string}.`);
        }
      } else if (o.VerifyMode === 'ONLY_FILES_TRANSFERRED') {
        rec.filesVerified = rec.figures.filesTransferred;
      } else {
        rec.filesVerified = 0;
      }
      return;
    }
    default:
      return;
  }
}

/** Phase durations for this execution's data: launching takes a minute or so, the transfer grows with the bytes. */
export function executionLifecycle(options: TransferOptions, bytes: number, entries: number): LifecycleDefinition {
  const rate = options.BytesPerSecond > 0 ? options.BytesPerSecond : DEFAULT_RATE_BYTES_PER_SECOND;
  return {
    kind: EXECUTION_KIND,
    phases: [
      { status: 'QUEUED', durationMs: 2_000 },
      { status: 'LAUNCHING', durationMs: 60_000 },
      { status: 'PREPARING', durationMs: 20_000 + 2 * entries },
      { status: 'TRANSFERRING', durationMs: 30_000 + Math.ceil((bytes * 1000) / rate) },
      { status: 'VERIFYING', durationMs: options.VerifyMode === 'NONE' ? 5_000 : 10_000 + Math.ceil((bytes * 1000) / (2 * rate)) + entries },
    ],
    succeeded: 'SUCCESS',
    failed: 'ERROR',
    stopping: { status: 'CANCELLING', durationMs: 5_000 },
    stopped: 'ERROR',
    onTransition,
  };
}

export interface ExecutionView {
  status: string;
  ended: boolean;
  endedAtMs?: number;
  /** When it left the task's queue and began (its job's start). */
  launchedAtMs?: number;
  errorCode?: string;
  errorDetail?: string;
  /** Milliseconds spent in each phase so far (reached phases only). */
  durations: Record<string, number>;
  phaseStatus: { prepare: string; transfer: string; verify: string };
}

/** The execution as DescribeTaskExecution reports it: the job's timeline, unless the execution failed on its own. */
export function viewExecution(ctx: ServiceContext<DataSyncState>, rec: Execution): ExecutionView {
  const job = rec.queued ? undefined : ctx.jobs.get(EXECUTION_KIND, rec.arn);
  const now = ctx.nowMs();
  const history = (job?.history ?? []).filter((h) => !rec.failure || h.atMs <= rec.failure.atMs);
  const durations: Record<string, number> = {};
  history.forEach((h, i) => {
    const end = rec.failure && i === history.length - 1 ? rec.failure.atMs : (history[i + 1]?.atMs ?? now);
    durations[h.status] = (durations[h.status] ?? 0) + Math.max(0, end - h.atMs);
  });
  let status = job?.status ?? 'QUEUED';
  let ended = job?.ended ?? false;
  let endedAtMs = job?.endedAtMs;
  let errorCode: string | undefined;
  let errorDetail: string | undefined;
  if (rec.failure) {
    status = 'ERROR';
    ended = true;
    endedAtMs = rec.failure.atMs;
    errorCode = rec.failure.code;
    errorDetail = rec.failure.detail;
  } else if (status === 'ERROR') {
    if (rec.cancelled) {
      errorCode = 'OperationCanceled';
      errorDetail = 'The task execution was cancelled.';
    } else {
      const reason = job?.failureReason ?? 'InternalError';
      const m = /^([A-Za-z][A-Za-z0-9]*): (.*)$/s.exec(reason);
      errorCode = m ? m[1] : 'InternalError';
      errorDetail = m ? m[2] : reason;
    }
  }
  const reached = new Set(history.map((h) => h.status));
  // The phase the failure belongs to: a scenario fails at the end of a phase; the emulator's own checks name the
  // status at which they failed (copy errors on reaching VERIFYING belong to the transfer, verification to the end).
  const failedIn = status !== 'ERROR' ? undefined : rec.failure ? { LAUNCHING: 'PREPARING', PREPARING: 'PREPARING', VERIFYING: 'TRANSFERRING', SUCCESS: 'VERIFYING' }[rec.failure.phase] : history.filter((h) => h.status !== 'ERROR' && h.status !== 'CANCELLING').at(-1)?.status;
  const phase = (name: string, next: string): string => {
    if (failedIn === name) return 'ERROR';
    return reached.has(next) && !(failedIn !== undefined && next === 'SUCCESS') ? 'SUCCESS' : 'PENDING';
  };
  return {
    status,
    ended,
    ...(endedAtMs !== undefined ? { endedAtMs } : {}),
    // LaunchTime: when the execution actually began, i.e. left the task's queue (StartTime when it never waited).
    ...(job ? { launchedAtMs: job.createdAtMs } : {}),
    ...(errorCode !== undefined ? { errorCode, errorDetail } : {}),
    durations,
    phaseStatus: { prepare: phase('PREPARING', 'TRANSFERRING'), transfer: phase('TRANSFERRING', 'VERIFYING'), verify: phase('VERIFYING', 'SUCCESS') },
  };
}
