/**
 * What workers call: polling for workflow and activity tasks, completing or failing them, heartbeats, shutdown.
 * Every completion names its task by token; a token for a task that moved on (timed out, retried, workflow closed)
 * gets NOT_FOUND, which tells the worker to drop its result.
 */
import { ServiceError, invalidArgument, namespaceNotFound, notFound, taskNotFound, workflowClosed } from './errors';
import { activityById, activityForToken, cancelledActivity, completeActivity, failActivity, heartbeat, pauseActivity, resetActivity, unpauseActivity } from './activities';
import type { Engine } from './engine';
import type { LongPoll } from './long-poll';
import type { Duration, Failure, Payloads, WorkflowExecution } from './proto-types';
import { msFromDuration } from './time-format';
import { decodeTaskToken } from './task-token';
import { versionOfWorker, versionString } from './worker-deployments';
import { completeWorkflowTask, type CompletionRequest } from './workflow-task-completion';
import type { PollResponse, WorkflowRun } from './workflow-run';

type PollRequest = {
  namespace?: string;
  taskQueue?: { name?: string; kind?: string };
  identity?: string;
  workerInstanceKey?: string;
  deploymentOptions?: { deploymentName?: string; buildId?: string; workerVersioningMode?: string };
};

async function pollTaskQueue(engine: Engine, kind: 'workflow' | 'activity', req: PollRequest, poll: LongPoll): Promise<PollResponse> {
  const ns = engine.namespaces.get(req.namespace);
  if (!req.taskQueue?.name) throw invalidArgument('TaskQueue is not set on request.');
  const queues = kind === 'workflow' ? engine.workflowTasks : engine.activityTasks;
  // A versioned worker's poll registers its deployment version on the task queue (not on its sticky queue).
  const version = versionOfWorker(req.deploymentOptions);
  if (version && req.taskQueue.kind !== 'TASK_QUEUE_KIND_STICKY') {
    engine.deployments.register(ns.name, version, req.taskQueue.name, kind === 'workflow' ? 'TASK_QUEUE_TYPE_WORKFLOW' : 'TASK_QUEUE_TYPE_ACTIVITY');
  }
  // A poll of a worker instance (or a sticky queue) after its ShutdownWorker, one sent just before it: answered empty
  // at once, as the real server does, instead of being handed a task the stopping worker would never run.
  const shutDown = engine.shutDownWorkers;
  if (shutDown.has(ns.name, 'instance', req.workerInstanceKey) || (req.taskQueue.kind === 'TASK_QUEUE_KIND_STICKY' && shutDown.has(ns.name, 'sticky', req.taskQueue.name))) return {};
  const info = { identity: req.identity ?? '', version: version ? versionString(version) : undefined, instanceKey: req.workerInstanceKey || undefined };
  const task = await queues.poll(ns.name, kind, req.taskQueue.name, info, (cancel) => poll.onEnd(cancel));
  return task ?? {};
}

export function pollWorkflowTaskQueue(engine: Engine, req: PollRequest, poll: LongPoll): Promise<PollResponse> {
  return pollTaskQueue(engine, 'workflow', req, poll);
}

/** A real server's token names a namespace by id: unknown here is NamespaceNotFound, known still finds no task. */
function foreignTokenNotFound(engine: Engine, namespaceId: string, what: string): ServiceError {
  const ns = engine.namespaces.byId(namespaceId);
  return ns ? taskNotFound(what) : namespaceNotFound(namespaceId);
}

/** The run whose started workflow task the token names; the task must still be that attempt, started. */
function runOfStartedWorkflowTask(engine: Engine, taskToken: Buffer | undefined): WorkflowRun {
  const token = decodeTaskToken(taskToken);
  if (token.kind === 'foreign') throw foreignTokenNotFound(engine, token.namespaceId, 'Workflow task');
  if (token.kind !== 'workflow') throw invalidArgument('not a workflow task token');
  const run = engine.runForToken(token.namespace, token.runId);
  if (!run || !run.isOpen) throw workflowClosed();
  const wt = run.wt;
  if (!wt || wt.scheduledEventId !== token.scheduledEventId || wt.attempt !== token.attempt || wt.startedEventId === undefined) throw taskNotFound('Workflow task');
  return run;
}

export function respondWorkflowTaskCompleted(engine: Engine, req: CompletionRequest & { taskToken?: Buffer; namespace?: string }): object {
  const run = runOfStartedWorkflowTask(engine, req.taskToken);
  return { activityTasks: completeWorkflowTask(engine, run, req) };
}

export function respondWorkflowTaskFailed(engine: Engine, req: { taskToken?: Buffer; cause?: string; failure?: Failure; identity?: string }): object {
  const run = runOfStartedWorkflowTask(engine, req.taskToken);
  run.failWorkflowTask(req.cause || 'WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED', req.failure, req.identity ?? '');
  return {};
}

/**
 * A worker going away. Its sticky queue will not be polled again, so its tasks go to the normal queue. Activities it
 * was running are abandoned to their timeouts; they stop counting as in flight, so time skipping can reach those
 * timeouts instead of waiting for them in real time.
 */
export function shutdownWorker(
  engine: Engine,
  req: { namespace?: string; stickyTaskQueue?: string; identity?: string; workerInstanceKey?: string; taskQueue?: string; taskQueueTypes?: string[] },
): object {
  const ns = engine.namespaces.find(req.namespace ?? '');
  if (!ns) return {};
  const sticky = req.stickyTaskQueue;
  if (sticky) {
    engine.shutDownWorkers.add(ns.name, 'sticky', sticky);
    engine.workflowTasks.releasePollers(ns.name, 'workflow', sticky);
  }
  // Its open polls are answered empty now, and any it sends later at once, so no task is handed to a poll the worker
  // is dropping. (workerPollCompleteOnShutdown is not advertised: a worker whose server died keeps such polls open
  // against the next server on the same address, where no ShutdownWorker ever arrived, and would take new tasks.)
  const instance = req.workerInstanceKey;
  if (instance) {
    engine.shutDownWorkers.add(ns.name, 'instance', instance);
    if (req.taskQueue) {
      const types = req.taskQueueTypes && req.taskQueueTypes.length > 0 ? req.taskQueueTypes : ['TASK_QUEUE_TYPE_WORKFLOW', 'TASK_QUEUE_TYPE_ACTIVITY'];
      if (types.includes('TASK_QUEUE_TYPE_WORKFLOW')) engine.workflowTasks.releasePollersOf(ns.name, 'workflow', req.taskQueue, instance);
      if (types.includes('TASK_QUEUE_TYPE_ACTIVITY')) engine.activityTasks.releasePollersOf(ns.name, 'activity', req.taskQueue, instance);
    }
  }
  for (const run of ns.runs.values()) {
    if (sticky && run.stickyQueue === sticky) run.leaveStickyQueue();
    // A workflow task this worker had just been handed as it cut its polls off is lost with it: abandoned to its
    // timeout like its activities, so time skipping can reach that timeout instead of waiting for it in real time.
    const wt = run.wt;
    if (instance && run.isOpen && wt?.startedEventId !== undefined && wt.startedInstance === instance) run.markIdle('wt');
    if (!req.identity || !run.isOpen) continue;
    for (const a of run.activities.values()) {
      if (a.state === 'started' && a.startedIdentity === req.identity) run.markIdle('activity', a.scheduledEventId);
    }
  }
  return {};
}

// ---- activity tasks ---------------------------------------------------------------------------------------------

export function pollActivityTaskQueue(engine: Engine, req: PollRequest, poll: LongPoll): Promise<PollResponse> {
  return pollTaskQueue(engine, 'activity', req, poll);
}

function activityFromToken(engine: Engine, taskToken: Buffer | undefined, namespace?: string): { run: WorkflowRun; a: NonNullable<ReturnType<typeof activityForToken>> } {
  // As the real frontend's namespace check, which runs before the token is read: an unknown namespace is named.
  if (namespace) engine.namespaces.get(namespace);
  const token = decodeTaskToken(taskToken);
  if (token.kind === 'foreign') throw foreignTokenNotFound(engine, token.namespaceId, 'Activity task');
  if (token.kind !== 'activity') throw invalidArgument('not an activity task token');
  const run = engine.runForToken(token.namespace, token.runId);
  if (!run || !run.isOpen) throw workflowClosed();
  const a = activityForToken(run, token.scheduledEventId, token.attempt);
  if (!a) throw taskNotFound('Activity task');
  return { run, a };
}

function activityFromId(engine: Engine, req: { namespace?: string; workflowId?: string; runId?: string; activityId?: string }): { run: WorkflowRun; a: NonNullable<ReturnType<typeof activityForToken>> } {
  const run = engine.openRun(req.namespace, { workflowId: req.workflowId, runId: req.runId });
  const a = activityById(run, req.activityId ?? '');
  if (!a || a.state !== 'started') throw taskNotFound('Activity task');
  return { run, a };
}

export function recordActivityTaskHeartbeat(engine: Engine, req: { namespace?: string; taskToken?: Buffer; details?: Payloads }): object {
  const { run, a } = activityFromToken(engine, req.taskToken, req.namespace);
  return heartbeat(run, a, req.details);
}

export function recordActivityTaskHeartbeatById(engine: Engine, req: { namespace?: string; workflowId?: string; runId?: string; activityId?: string; details?: Payloads }): object {
  const { run, a } = activityFromId(engine, req);
  return heartbeat(run, a, req.details);
}

export function respondActivityTaskCompleted(engine: Engine, req: { namespace?: string; taskToken?: Buffer; result?: Payloads; identity?: string }): object {
  const { run, a } = activityFromToken(engine, req.taskToken, req.namespace);
  completeActivity(run, a, req.result, req.identity ?? '');
  return {};
}

export function respondActivityTaskCompletedById(engine: Engine, req: { namespace?: string; workflowId?: string; runId?: string; activityId?: string; result?: Payloads; identity?: string }): object {
  const { run, a } = activityFromId(engine, req);
  completeActivity(run, a, req.result, req.identity ?? '');
  return {};
}

export function respondActivityTaskFailed(engine: Engine, req: { namespace?: string; taskToken?: Buffer; failure?: Failure; identity?: string; lastHeartbeatDetails?: Payloads }): object {
  const { run, a } = activityFromToken(engine, req.taskToken, req.namespace);
  failActivity(run, a, req.failure ?? { message: 'activity failed' }, req.identity ?? '', req.lastHeartbeatDetails);
  return {};
}

export function respondActivityTaskFailedById(engine: Engine, req: { namespace?: string; workflowId?: string; runId?: string; activityId?: string; failure?: Failure; identity?: string; lastHeartbeatDetails?: Payloads }): object {
  const { run, a } = activityFromId(engine, req);
  failActivity(run, a, req.failure ?? { message: 'activity failed' }, req.identity ?? '', req.lastHeartbeatDetails);
  return {};
}

export function respondActivityTaskCanceled(engine: Engine, req: { namespace?: string; taskToken?: Buffer; details?: Payloads; identity?: string }): object {
  const { run, a } = activityFromToken(engine, req.taskToken, req.namespace);
  cancelledActivity(run, a, req.details, req.identity ?? '');
  return {};
}

export function respondActivityTaskCanceledById(engine: Engine, req: { namespace?: string; workflowId?: string; runId?: string; activityId?: string; details?: Payloads; identity?: string }): object {
  const { run, a } = activityFromId(engine, req);
  cancelledActivity(run, a, req.details, req.identity ?? '');
  return {};
}

// ---- activity operator calls ------------------------------------------------------------------------------------

type ActivityOperation = { namespace?: string; execution?: WorkflowExecution; id?: string; type?: string; matchAll?: boolean; unpauseAll?: boolean };

/** The activities an operator call names: one by id, all of a type, or all of the (open) workflow's. */
function operatedActivities(engine: Engine, req: ActivityOperation): { run: WorkflowRun; activities: NonNullable<ReturnType<typeof activityById>>[] } {
  const run = engine.openRun(req.namespace, req.execution);
  if (!req.id && !req.type && !req.matchAll && !req.unpauseAll) throw invalidArgument('Either activity id, activity type or match all must be provided.');
  const all = [...run.activities.values()];
  const activities = req.id ? all.filter((a) => a.activityId === req.id) : req.type ? all.filter((a) => (a.activityType as { name?: string }).name === req.type) : all;
  if (activities.length === 0) throw notFound('invalid activityID or activity already timed out or invoking workflow is completed');
  return { run, activities };
}

export function pauseActivities(engine: Engine, req: ActivityOperation & { requestId?: string }): object {
  const { run, activities } = operatedActivities(engine, req);
  for (const a of activities) pauseActivity(run, a, req.requestId);
  return {};
}

export function unpauseActivities(engine: Engine, req: ActivityOperation & { resetAttempts?: boolean; resetHeartbeat?: boolean; jitter?: Duration }): object {
  const { run, activities } = operatedActivities(engine, req);
  for (const a of activities) unpauseActivity(run, a, { resetAttempts: req.resetAttempts, resetHeartbeat: req.resetHeartbeat, jitterMs: msFromDuration(req.jitter) });
  return {};
}

export function resetActivities(engine: Engine, req: ActivityOperation & { resetHeartbeat?: boolean; keepPaused?: boolean; jitter?: Duration }): object {
  const { run, activities } = operatedActivities(engine, req);
  for (const a of activities) resetActivity(run, a, { resetHeartbeat: req.resetHeartbeat, keepPaused: req.keepPaused, jitterMs: msFromDuration(req.jitter) });
  return {};
}
