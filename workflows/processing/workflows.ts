/**
 * One workflow per checkpointed processing job (id `processing/<base name>`): attempts `<base>-a1`, `-a2`, ... on the
 * same checkpoint prefix, each watched by its own CloudWatch alarms (always deleted when the attempt ends, also on
 * failure or cancel). It waits on signals (alarm and job-state events through the gateway) with a slow poll by
 * activity retries as the safety net, so an attempt costs the same events however long its job runs. On an alarm it stops the job and starts the next
 * attempt with the delta for that breach; failures go through the restart policy table (model.ts). Each attempt
 * runs in a run of its own: between attempts the workflow continues as new with its status, so a job's history stays
 * one attempt long however many it takes, and its queries still tell the whole story.
 */
import { ApplicationFailure, CancellationScope, allHandlersFinished, condition, continueAsNew, isCancellation, patched, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { JobDescription, ProcessingActivities } from '../../activities/processing/activities';
import { costUsd, instanceType } from '../../common/instance-types';
import { PROCESSING_NON_RETRYABLE, ProcessingFailure } from './failures';
import { alarmSignal, approveBudgetUpdate, jobStateSignal, processingStatusQuery, type AlarmNotice, type JobStateNotice } from './messages';
import {
  DEFAULT_POLICY,
  attemptJobName,
  classifyFailure,
  estimatedAttemptCost,
  inAnotherFamily,
  parseAlarmName,
  resourcesOf,
  scaleOut,
  scaleUp,
  summary,
  withResources,
  type AlarmRole,
  type AttemptRecord,
  type CarriedRun,
  type ProcessingInput,
  type ProcessingResult,
  type ProcessingStatus,
  type Resources,
} from './model';

const acts = proxyActivities<ProcessingActivities>({
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '2 hours',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '2 minutes', nonRetryableErrorTypes: PROCESSING_NON_RETRYABLE },
});

/** Alarm deletion and stopping on cancel outlast any outage: every failure retried, for a week. */
const cleanup = proxyActivities<ProcessingActivities>({
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '7 days',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes: [] },
});

const TERMINAL = new Set(['Completed', 'Failed', 'Stopped']);
const MINUTE = 60_000;

type Notice = ({ kind: 'alarm' } & AlarmNotice) | ({ kind: 'job' } & JobStateNotice);

export async function processingJob(input: ProcessingInput): Promise<ProcessingResult> {
  const policy = { ...DEFAULT_POLICY, ...input.policy };
  const carried = input.carried;
  let resources: Resources = carried?.resources ?? resourcesOf(input.request);
  const st: ProcessingStatus = carried?.status ?? {
    baseName: input.baseName,
    phase: 'starting',
    attempt: 0,
    resources,
    attempts: [],
    checkpointsDone: [],
    ...(policy.budgetUsd !== undefined ? { budgetUsd: policy.budgetUsd } : {}),
    spentUsd: 0,
    estimatedCostUsd: 0,
  };
  // The safety net behind the signals: one activity per wait, retried every poll interval while the job runs.
  const polling = proxyActivities<ProcessingActivities>({
    startToCloseTimeout: '2 minutes',
    // A processing job runs at most 5 days (MaxRuntimeInSeconds), then stops.
    scheduleToCloseTimeout: '10 days',
    retry: { initialInterval: policy.pollIntervalMinutes * MINUTE, backoffCoefficient: 1, maximumInterval: policy.pollIntervalMinutes * MINUTE, nonRetryableErrorTypes: PROCESSING_NON_RETRYABLE },
  });
  const inbox: Notice[] = [];
  setHandler(alarmSignal, (n) => void inbox.push({ kind: 'alarm', ...n }));
  setHandler(jobStateSignal, (n) => void inbox.push({ kind: 'job', ...n }));
  setHandler(processingStatusQuery, () => st);
  setHandler(
    approveBudgetUpdate,
    (a) => {
      st.budgetUsd = a.addUsd === undefined ? undefined : (st.budgetUsd ?? 0) + a.addUsd;
      if (st.budgetUsd === undefined) delete st.budgetUsd;
      st.note = a.addUsd === undefined ? `budget lifted${a.by ? ` by ${a.by}` : ''}` : `budget raised by $${a.addUsd.toFixed(2)}${a.by ? ` by ${a.by}` : ''}`;
      return st.budgetUsd !== undefined ? { budgetUsd: st.budgetUsd } : {};
    },
    {
      validator: (a) => {
        if (a.addUsd !== undefined && !(Number.isFinite(a.addUsd) && a.addUsd > 0)) throw new Error('addUsd must be a positive number of US dollars');
        if (st.budgetUsd === undefined) throw new Error(`${input.baseName} has no budget: there is nothing to approve`);
        if (TERMINAL_PHASES.has(st.phase)) throw new Error(`${input.baseName} has ended (${st.phase})`);
      },
    },
  );

  const fail = (type: string, headline: string): never => {
    st.phase = 'failed';
    st.note = headline;
    throw ApplicationFailure.create({ type, message: `${headline}\n${summary(st)}`, nonRetryable: true, details: [st] });
  };

  /** The signals in the inbox about this attempt: the strongest alarm in ALARM, and whether the job has ended. */
  const readInbox = (jobName: string): { alarm?: AlarmRole; ended: boolean } => {
    let alarm: AlarmRole | undefined;
    let ended = false;
    for (const n of inbox.splice(0)) {
      if (n.kind === 'alarm' && n.state === 'ALARM') {
        const parsed = parseAlarmName(n.alarmName);
        // Another attempt's alarm (late, or duplicated after its restart) changes nothing.
        if (parsed?.jobName === jobName) alarm = strongest(alarm, parsed.role);
      } else if (n.kind === 'job' && n.jobName === jobName && TERMINAL.has(n.status)) ended = true;
    }
    return { alarm, ended };
  };

  /**
   * Waits for the attempt's end: a terminal job status or, with `alarms`, one of its alarms on the running job. The
   * signals wake it at once; behind them one activity polls by its retries, so however long the job runs the wait
   * costs the history the same few events.
   */
  const watch = async (jobName: string, alarms: boolean): Promise<{ alarm?: AlarmRole; job: JobDescription }> => {
    const scope = new CancellationScope();
    let polled: { job: JobDescription; firing: string[] } | undefined;
    let pollFailure: unknown;
    scope.run(() => polling.awaitAttemptEnd({ jobName, alarms })).then(
      (r) => void (polled = r),
      (e: unknown) => void (pollFailure = e),
    );
    try {
      for (;;) {
        await condition(() => inbox.length > 0 || polled !== undefined || pollFailure !== undefined);
        if (pollFailure !== undefined) throw pollFailure;
        const read = readInbox(jobName);
        let alarm = read.alarm;
        const ended = read.ended;
        if (polled) {
          // A notification lost on the way: the alarm is still in ALARM, the job's end in its status.
          for (const name of polled.firing) alarm = strongest(alarm, parseAlarmName(name)?.role);
          return TERMINAL.has(polled.job.status) || !alarms || !alarm ? { job: polled.job } : { job: polled.job, alarm };
        }
        if (!ended && !(alarms && alarm)) continue;
        const job = await acts.describeProcessingJob({ jobName });
        if (TERMINAL.has(job.status)) return { job };
        // Stopping already (from the console, or by us): the alarm is moot; the wait goes on to the end.
        if (alarms && alarm && job.status === 'InProgress') return { job, alarm };
      }
    } finally {
      scope.cancel();
    }
  };

  /** An attempt from its start to its end; on an alarm, the job is stopped first. */
  const follow = async (jobName: string): Promise<{ alarm?: AlarmRole; job: JobDescription }> => {
    // Runs recorded before the polling by activity retries replay the wait by timers they started with.
    if (!patched(POLL_BY_ACTIVITY_RETRIES)) return followByTimers(jobName);
    const seen = await watch(jobName, true);
    if (!seen.alarm) return seen;
    return { alarm: seen.alarm, job: await stopForAlarm(jobName, seen.alarm, () => watch(jobName, false).then((w) => w.job)) };
  };

  const stopForAlarm = async (jobName: string, alarm: AlarmRole, untilEnded: () => Promise<JobDescription>): Promise<JobDescription> => {
    st.phase = 'stopping';
    st.note = `${alarm} alarm: stopping ${jobName}`;
    await acts.stopProcessingJob({ jobName });
    return untilEnded();
  };

  /** The wait of release 0.1.0 (a timer per poll interval, a poll activity when it fires), kept for its running jobs. */
  const followByTimers = async (jobName: string): Promise<{ alarm?: AlarmRole; job: JobDescription }> => {
    for (;;) {
      const signalled = await condition(() => inbox.length > 0, policy.pollIntervalMinutes * MINUTE);
      const read = readInbox(jobName);
      let alarm = read.alarm;
      const ended = read.ended;
      let job: JobDescription;
      if (!signalled) {
        // The safety net: an alarm whose notification was lost is still in ALARM; a lost job event, in the status.
        const snap = await acts.pollAttempt({ jobName });
        for (const name of snap.firing) alarm = strongest(alarm, parseAlarmName(name)?.role);
        job = snap.job;
      } else {
        if (!alarm && !ended) continue;
        job = await acts.describeProcessingJob({ jobName });
      }
      if (TERMINAL.has(job.status)) return { job };
      // Stopping already (from the console, or by us): the alarm is moot; wait for the end.
      if (!alarm || job.status !== 'InProgress') continue;
      return { alarm, job: await stopForAlarm(jobName, alarm, () => untilEndedByTimers(jobName)) };
    }
  };

  const untilEndedByTimers = async (jobName: string): Promise<JobDescription> => {
    for (;;) {
      await condition(() => inbox.some((n) => n.kind === 'job' && n.jobName === jobName && TERMINAL.has(n.status)), 5 * MINUTE);
      inbox.splice(0);
      const job = await acts.describeProcessingJob({ jobName });
      if (TERMINAL.has(job.status)) return job;
    }
  };

  // A run carried over knows the checkpoints from the end of the attempt before.
  if (!carried) st.checkpointsDone = await acts.listCheckpoints({ request: input.request });
  const triedFamilies = carried?.triedFamilies ?? [instanceType(resources.instanceType)?.family ?? ''];
  let capacityTries = carried?.capacityTries ?? 0;
  let beforeHorizontal: Resources | undefined = carried?.beforeHorizontal;
  const first = carried?.nextAttempt ?? 1;
  for (let n = first; ; n++) {
    // Between attempts (no job running, its alarms deleted) the next one starts in a new run, the status carried along.
    // Runs recorded before this change go on in one run (patched() is false on their replay).
    if (n > first && patched(CONTINUE_AS_NEW_BETWEEN_ATTEMPTS)) {
      await condition(allHandlersFinished);
      const next: CarriedRun = { status: st, nextAttempt: n, resources, triedFamilies, capacityTries, ...(beforeHorizontal ? { beforeHorizontal } : {}) };
      return await continueAsNew<typeof processingJob>({ ...input, carried: next });
    }
    if (n > policy.maxAttempts) fail(ProcessingFailure.AttemptCapReached, `${input.baseName}: all ${policy.maxAttempts} attempts used without completing`);
    const estimate = estimatedAttemptCost(input, resources);
    if (st.budgetUsd !== undefined && st.spentUsd + estimate > st.budgetUsd) {
      st.phase = 'awaiting-approval';
      st.note = `attempt ${n} (${resources.instanceCount} x ${resources.instanceType}, about $${estimate.toFixed(2)}) would pass the budget: mlops processing approve ${input.baseName}`;
      const approved = await condition(() => st.budgetUsd === undefined || st.spentUsd + estimate <= st.budgetUsd, policy.approvalTimeoutHours * 60 * MINUTE);
      if (!approved) fail(ProcessingFailure.BudgetExceeded, `${input.baseName}: attempt ${n} would pass the $${(st.budgetUsd ?? 0).toFixed(2)} budget and no approval came in ${policy.approvalTimeoutHours} h`);
    }
    const jobName = attemptJobName(input.baseName, n);
    const record: AttemptRecord = { attempt: n, jobName, resources, outcome: 'running', costUsd: 0, estimatedCostUsd: estimate };
    st.attempts.push(record);
    st.attempt = n;
    st.resources = resources;
    st.estimatedCostUsd += estimate;
    st.phase = 'starting';
    st.note = undefined;
    let result: { alarm?: AlarmRole; job: JobDescription } | 'quota';
    try {
      await acts.createAttemptAlarms({ jobName, resources, policy });
      try {
        await acts.startProcessingJob({ jobName, request: withResources(input.request, resources) });
        st.phase = 'running';
        result = await follow(jobName);
      } catch (err) {
        if (!isQuota(err)) throw err;
        result = 'quota';
        record.reason = causeMessage(err);
      }
    } catch (err) {
      if (isCancellation(err)) {
        st.phase = 'cancelled';
        await CancellationScope.nonCancellable(() => cleanup.stopProcessingJob({ jobName }));
      } else {
        // A job the service refused (or any failure past the activities' retries): the status says so and why.
        st.phase = 'failed';
        record.outcome = 'error';
        record.reason = causeMessage(err);
        st.note = `${jobName}: ${record.reason}`;
      }
      throw err;
    } finally {
      await CancellationScope.nonCancellable(() => cleanup.deleteAttemptAlarms({ jobName }));
    }

    if (result === 'quota') {
      record.outcome = 'quota';
      // More instances were refused: grow the other way from where this delta started.
      const vertical = beforeHorizontal ? scaleUp(beforeHorizontal, policy.driverSizeSteps) : undefined;
      if (!vertical) fail(ProcessingFailure.QuotaExceeded, `${input.baseName}: the instance quota refuses ${resources.instanceCount} x ${resources.instanceType}`);
      resources = vertical as Resources;
      beforeHorizontal = undefined;
      continue;
    }
    const { job } = result;
    record.createdAt = job.createdAtMs !== undefined ? new Date(job.createdAtMs).toISOString() : undefined;
    record.startedAt = job.startedAtMs !== undefined ? new Date(job.startedAtMs).toISOString() : undefined;
    record.endedAt = job.endedAtMs !== undefined ? new Date(job.endedAtMs).toISOString() : undefined;
    record.durationMs = job.endedAtMs !== undefined && job.createdAtMs !== undefined ? job.endedAtMs - job.createdAtMs : undefined;
    // Billed while the instances run: from the job's start to its end.
    record.costUsd = job.startedAtMs !== undefined && job.endedAtMs !== undefined ? costUsd(resources.instanceType, resources.instanceCount, job.endedAtMs - job.startedAtMs) : 0;
    st.spentUsd += record.costUsd;
    if (job.failureReason) record.reason = job.failureReason;
    st.checkpointsDone = await acts.listCheckpoints({ request: input.request });

    const grow = (role: AlarmRole): Resources => {
      if (role === 'driver') {
        beforeHorizontal = undefined;
        return scaleUp(resources, policy.driverSizeSteps) ?? fail(ProcessingFailure.CannotGrow, `${input.baseName}: ${resources.instanceType} is the largest of its family`);
      }
      const out = scaleOut(resources, policy);
      if (out) {
        beforeHorizontal = resources;
        return out;
      }
      return scaleUp(resources, policy.driverSizeSteps) ?? fail(ProcessingFailure.CannotGrow, `${input.baseName}: at ${policy.maxInstanceCount} instances of the largest ${resources.instanceType}`);
    };

    if (result.alarm) {
      record.outcome = result.alarm === 'driver' ? 'driver-alarm' : 'executor-alarm';
      record.reason = `${result.alarm} alarm`;
      resources = grow(result.alarm);
      continue;
    }
    if (job.status === 'Completed') {
      record.outcome = 'completed';
      st.phase = 'completed';
      st.note = undefined;
      return { ...st, status: 'Completed' };
    }
    if (job.status === 'Stopped') {
      // Stopped from outside (the console, another tool): resume from the checkpoints on the same resources.
      record.outcome = 'stopped-outside';
      continue;
    }
    const kind = classifyFailure(job.failureReason ?? '', job.exitMessage);
    record.outcome = kind;
    if (kind === 'user-error') fail(ProcessingFailure.UserError, `${input.baseName}: ${jobName} failed: ${job.failureReason ?? 'no reason given'}`);
    if (kind === 'driver-short') resources = grow('driver');
    else if (kind === 'executor-short') resources = grow('executors');
    else if (kind === 'capacity') {
      capacityTries += 1;
      if (capacityTries <= policy.capacityRetries) {
        st.phase = 'waiting-capacity';
        st.note = `no ${resources.instanceType} capacity: trying again in ${policy.capacityRetryDelayMinutes} min (${capacityTries}/${policy.capacityRetries})`;
        await sleep(policy.capacityRetryDelayMinutes * MINUTE);
      } else {
        const other = inAnotherFamily(resources, triedFamilies);
        if (!other) fail(ProcessingFailure.CannotGrow, `${input.baseName}: no capacity for ${resources.instanceType} and no other family fits`);
        resources = other as Resources;
        triedFamilies.push(instanceType(resources.instanceType)?.family ?? '');
        capacityTries = 0;
      }
    }
  }
}

const TERMINAL_PHASES = new Set(['completed', 'failed', 'cancelled']);
const CONTINUE_AS_NEW_BETWEEN_ATTEMPTS = 'continue-as-new-between-attempts';
const POLL_BY_ACTIVITY_RETRIES = 'poll-by-activity-retries';

/** Of two alarm roles, the one whose remedy comes first: a driver breach needs the bigger instance. */
function strongest(a: AlarmRole | undefined, b: AlarmRole | undefined): AlarmRole | undefined {
  return a === 'driver' ? a : (b ?? a);
}

function isQuota(err: unknown): boolean {
  const cause = (err as { cause?: { type?: string } }).cause;
  return cause?.type === ProcessingFailure.QuotaExceeded;
}

function causeMessage(err: unknown): string {
  return (err as { cause?: { message?: string } }).cause?.message ?? String(err);
}
