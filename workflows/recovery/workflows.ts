import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  isCancellation,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  executeChild,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import { RetryState, type Duration } from '@temporalio/common';
import type { CreationEvent, ProfileLookup, RecoveryActivities, SeededDomain, TransferReport } from '../../activities/recovery/activities';
import { NON_RETRYABLE_FAILURES, RecoveryFailure } from './failures';
import {
  DEFAULT_HOME_WAIT,
  RECOVERY_TASK_QUEUE,
  cancelRequestProblem,
  cancelRestore,
  copyRequestProblem,
  formatProfileRef,
  initialState,
  nextQueuedRestore,
  profileStatus,
  reportHome,
  requestCopy,
  retryRequestProblem,
  retryRestore,
  setReplication,
  updateRestore,
  type HomeDirectory,
  type ProfileKey,
  type ProfileState,
  type RestoreFigures,
} from './model';
import { grantSlots, hasGrantsToSend, initialSlots, needsLivenessAudit, reclaimSlots, releaseSlot, requestSlot, type SlotTransfer, type SlotsState } from './slots';
import {
  cancelRestoreUpdate,
  homeReportedSignal,
  releaseSlotSignal,
  requestCopyUpdate,
  retryRestoreUpdate,
  requestSlotSignal,
  setReplicationUpdate,
  slotGrantedSignal,
  slotsQuery,
  statusQuery,
  transferEndedSignal,
  type TransferOutcome,
} from './messages';

/** Ordinary AWS calls: throttling and faults retried with exponential backoff, the failure types above honoured. */
const awsCall: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '2 hours',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '2 minutes', nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
};

const acts = proxyActivities<RecoveryActivities>(awsCall);

/**
 * Transfers run minutes to hours. A "DataSync Task Execution State Change" event, through the gateway, ends the wait
 * the moment the execution ends (`transferEndedSignal`); polling DescribeTaskExecution by activity retries is only
 * the safety net for an event lost on the way (EventBridge delivers best effort), so it is slow: a slot idles at
 * most 5 minutes when the event never comes.
 */
const { followTransfer } = proxyActivities<RecoveryActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '3 days',
  retry: { initialInterval: '1 minute', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
});

/**
 * Cleanup and slot release must outlast any outage and any surprise: every failure is retried (even one that looks
 * permanent, such as a policy missing DeleteTask, which an operator can fix), for a week.
 */
const { deleteTransferResources, releaseDataSyncSlot } = proxyActivities<RecoveryActivities>({
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '7 days',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes: [] },
});

/**
 * The semaphore's grants: if they failed for good (a worker outage longer than an ordinary call's 2 hours), the slots
 * workflow would fail and lose every restore's place in line; so they are retried for as long as it takes.
 */
const { deliverSlotGrants } = proxyActivities<RecoveryActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: [] },
});

/** What failed, under the Child/Activity failure wrappers. */
function rootCause(err: unknown): unknown {
  let e: unknown = err;
  while ((e instanceof ChildWorkflowFailure || e instanceof ActivityFailure) && e.cause) e = e.cause;
  return e;
}

function failureMessage(err: unknown): string {
  const e = rootCause(err);
  if (e instanceof TimeoutFailure) return `timed out (${e.timeoutType})`;
  return e instanceof Error ? e.message : String(e);
}

function failureType(err: unknown): string | undefined {
  const e = rootCause(err);
  return e instanceof ApplicationFailure ? e.type ?? undefined : undefined;
}

function shouldContinueAsNew(limit: number): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > limit;
}

// ---------------------------------------------------------------------------------------------------------------
// One long-lived workflow per profile or space.

export interface ProfileRecoveryInput {
  key: ProfileKey;
  /** Carried across continue-as-new. */
  state?: ProfileState;
  /** History length after which the workflow continues as new when idle (default 2,000). */
  continueAsNewAfterEvents?: number;
  /** Longest wait for a new home directory to be opened before a restore gives up (default DEFAULT_HOME_WAIT, 30 days). */
  homeWaitTimeout?: Duration;
}

export async function profileRecovery(input: ProfileRecoveryInput): Promise<void> {
  let state = input.state ?? initialState(input.key);
  const limit = input.continueAsNewAfterEvents ?? 2000;
  const now = () => new Date().toISOString();

  setHandler(homeReportedSignal, (report) => {
    const r = reportHome(state, report);
    state = r.state;
    log.info('home reported', { eventId: report.eventId, source: report.source, home: `${report.efsId}/${report.homeUid}`, outcome: r.outcome });
  });
  setHandler(
    setReplicationUpdate,
    (change) => {
      const changed = state.replication !== change.enabled;
      state = setReplication(state, change, now());
      return { replication: state.replication, changed };
    },
    {
      validator: (change) => {
        if (typeof change?.enabled !== 'boolean' || !change.by) throw new Error('setReplication needs { enabled: boolean, by: string }');
      },
    },
  );
  setHandler(
    requestCopyUpdate,
    (req) => {
      const r = requestCopy(state, req, now());
      state = r.state;
      return r.restoreId === undefined ? { pending: true } : { pending: false, restoreId: r.restoreId };
    },
    {
      validator: (req) => {
        if (!req?.from?.homeUid || !req.source || !req.by) throw new Error('requestCopy needs { source, from, by }');
        const problem = copyRequestProblem(state, req);
        if (problem) throw new Error(problem);
      },
    },
  );
  setHandler(
    retryRestoreUpdate,
    (req) => {
      const r = retryRestore(state, req, now());
      state = r.state;
      return { restoreId: r.restoreId, retryOf: r.retryOf };
    },
    {
      validator: (req) => {
        if (!req?.by) throw new Error('retryRestore needs { by, restoreId? }');
        const problem = retryRequestProblem(state, req);
        if (problem) throw new Error(problem);
      },
    },
  );
  // The running restore's scope and who asked to cancel it: an operator's cancel reaches the child through it.
  let running: { id: number; scope: CancellationScope; cancelledBy?: string } | undefined;
  setHandler(
    cancelRestoreUpdate,
    (req) => {
      const r = cancelRestore(state, req, now());
      state = r.state;
      if (r.running && running?.id === r.restoreId) {
        running.cancelledBy = req.by;
        running.scope.cancel();
      }
      return { restoreId: r.restoreId, wasRunning: r.running };
    },
    {
      validator: (req) => {
        if (!req?.by) throw new Error('cancelRestore needs { by, restoreId? }');
        const problem = cancelRequestProblem(state, req);
        if (problem) throw new Error(problem);
      },
    },
  );
  setHandler(statusQuery, () => profileStatus(state));

  for (;;) {
    await condition(() => nextQueuedRestore(state) !== undefined || shouldContinueAsNew(limit));
    const restore = nextQueuedRestore(state);
    if (restore) {
      state = updateRestore(state, restore.id, { status: 'running', startedAt: now() });
      const scope = new CancellationScope();
      running = { id: restore.id, scope };
      try {
        const figures = await scope.run(() =>
          executeChild(restoreHomeDirectory, {
            workflowId: restore.workflowId,
            taskQueue: RECOVERY_TASK_QUEUE,
            args: [{ target: state.key, from: restore.from, to: restore.to, homeWaitTimeout: input.homeWaitTimeout }],
          }),
        );
        state = updateRestore(state, restore.id, { status: 'succeeded', endedAt: now(), figures });
      } catch (err) {
        const by = running.cancelledBy;
        state =
          by !== undefined && isCancellation(err)
            ? updateRestore(state, restore.id, { status: 'cancelled', endedAt: now(), error: `cancelled by ${by}` })
            : updateRestore(state, restore.id, { status: 'failed', endedAt: now(), error: failureMessage(err) });
      } finally {
        running = undefined;
      }
      continue;
    }
    await condition(allHandlersFinished);
    if (nextQueuedRestore(state) === undefined) {
      await continueAsNew<typeof profileRecovery>({ ...input, state });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// One restore: wait for the new home, take a DataSync slot, copy, always clean up and give the slot back.

export interface RestoreInput {
  target: ProfileKey;
  from: HomeDirectory;
  to: HomeDirectory;
  homeWaitTimeout?: Duration;
}

/**
 * The semaphore forgets no waiter, but an operator can terminate it. While the grant is awaited, an activity checks
 * now and then (by its retries, so the wait costs the history a fixed few events however long it lasts) that the
 * semaphore still knows this restore and asks again if not; the grant cancels it.
 */
const { keepSlotRequestAlive } = proxyActivities<RecoveryActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '15 minutes', backoffCoefficient: 2, maximumInterval: '1 hour', nonRetryableErrorTypes: [] },
});

async function waitForSlotGrant(restoreId: string, transfer: SlotTransfer, granted: () => boolean): Promise<void> {
  const watchScope = new CancellationScope();
  const watch = watchScope.run(() => keepSlotRequestAlive(restoreId, transfer)).catch(() => undefined);
  await condition(granted);
  watchScope.cancel();
  await watch;
}

/** Whichever comes first: the execution's end as its event reported it, or as the safety-net poll found it. */
async function transferEnd(taskExecutionArn: string, reported: () => TransferOutcome | undefined): Promise<Omit<RestoreFigures, 'durationMs'>> {
  let polled: { figures: Omit<RestoreFigures, 'durationMs'> } | { error: unknown } | undefined;
  const pollScope = new CancellationScope();
  void pollScope.run(() => followTransfer(taskExecutionArn)).then(
    (figures) => (polled = { figures }),
    (error: unknown) => (polled = { error }),
  );
  await condition(() => polled !== undefined || reported() !== undefined);
  const outcome = reported();
  if (outcome) {
    if (polled === undefined) pollScope.cancel();
    if (outcome.status === 'failed') throw ApplicationFailure.create({ type: RecoveryFailure.TransferFailed, nonRetryable: true, message: outcome.message });
    return outcome.figures;
  }
  if (polled && 'error' in polled) throw polled.error;
  return (polled as { figures: Omit<RestoreFigures, 'durationMs'> }).figures;
}

export async function restoreHomeDirectory(input: RestoreInput): Promise<RestoreFigures> {
  const restoreId = workflowInfo().workflowId;
  const started = Date.now();
  const homeWait = input.homeWaitTimeout ?? DEFAULT_HOME_WAIT;
  const { waitForHomeDirectory } = proxyActivities<RecoveryActivities>({
    startToCloseTimeout: '1 minute',
    // The user may first open Studio weeks after the profile was recreated; the wait costs constant history
    // (activity retries). It is bounded so that a profile never opened does not hold its later restores for ever.
    scheduleToCloseTimeout: homeWait,
    retry: { initialInterval: '15 seconds', backoffCoefficient: 1.5, maximumInterval: '5 minutes', nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
  });
  try {
    await waitForHomeDirectory(input.target, input.to);
  } catch (err) {
    // Out of time: the server ends the retries with the last "not yet" (retry state TIMEOUT), or a timeout failure.
    const outOfTime = (err instanceof ActivityFailure && err.retryState === RetryState.TIMEOUT) || rootCause(err) instanceof TimeoutFailure;
    if (!outOfTime) throw err;
    throw ApplicationFailure.create({
      type: RecoveryFailure.GaveUpWaiting,
      nonRetryable: true,
      message: `gave up waiting: ${input.target.kind} ${input.target.name} was not opened (no app InService) within ${String(homeWait)}; \`mlops recovery retry ${formatProfileRef(input.target)}\` waits again`,
    });
  }

  let granted = false;
  setHandler(slotGrantedSignal, () => {
    granted = true;
  });
  const ended = new Map<string, TransferOutcome>();
  setHandler(transferEndedSignal, ({ taskExecutionArn, outcome }) => {
    ended.set(taskExecutionArn, outcome);
  });
  const transfer = { restoreId, from: input.from, to: input.to };
  try {
    await acts.requestDataSyncSlot(restoreId, transfer);
    await waitForSlotGrant(restoreId, transfer, () => granted);
    const { taskExecutionArn } = await acts.startTransfer(transfer);
    const figures = await transferEnd(taskExecutionArn, () => ended.get(taskExecutionArn));
    return { ...figures, durationMs: Date.now() - started };
  } finally {
    // Runs on success, failure and cancellation alike; the slot goes back only once the task is gone.
    await CancellationScope.nonCancellable(async () => {
      try {
        await deleteTransferResources(transfer);
      } catch (err) {
        // Only after a week of retries. The copy's own outcome stands (its figures are not lost to a cleanup
        // failure); the slot stays counted until the semaphore's audit finds this closed holder and deletes what is left.
        log.error('gave up deleting the DataSync task and locations of this restore; the slot audit will retry', { restoreId, error: failureMessage(err) });
        return;
      }
      await releaseDataSyncSlot(restoreId);
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The semaphore on live DataSync tasks, shared by every restore.

export interface DataSyncSlotsInput {
  state?: SlotsState;
  continueAsNewAfterEvents?: number;
  /** How long waiters wait on a full semaphore before the holders are checked for liveness (default 15 minutes). */
  auditInterval?: Duration;
}

export async function dataSyncSlots(input: DataSyncSlotsInput): Promise<void> {
  let state = input.state ?? initialSlots();
  const limit = input.continueAsNewAfterEvents ?? 5000;
  const now = () => new Date().toISOString();
  setHandler(requestSlotSignal, ({ holder, capacity, transfer }) => {
    state = requestSlot(state, holder, now(), capacity, transfer);
  });
  setHandler(releaseSlotSignal, ({ holder }) => {
    state = releaseSlot(state, holder);
  });
  setHandler(slotsQuery, () => state);

  // A holder that died without releasing (terminated, reset) would keep its slot for ever: when waiters find the
  // semaphore full for a whole audit interval, closed holders are found, what they left in DataSync is deleted,
  // and only then are their slots reclaimed (the cap counts live tasks, not live workflows).
  let auditing = false;
  const audit = async () => {
    for (;;) {
      await condition(() => needsLivenessAudit(state));
      await sleep(input.auditInterval ?? '15 minutes');
      if (!needsLivenessAudit(state)) continue;
      auditing = true;
      try {
        const closed = await acts.findClosedWorkflows(state.holders.map((h) => h.holder));
        const cleaned: string[] = [];
        for (const holder of closed) {
          const transfer = state.holders.find((h) => h.holder === holder)?.transfer;
          try {
            if (transfer) await acts.deleteTransferResources(transfer);
            cleaned.push(holder);
          } catch (err) {
            // Its task may still exist: keep the slot counted, try again at the next audit.
            log.warn('cannot clean up after a dead slot holder', { holder, error: failureMessage(err) });
          }
        }
        state = reclaimSlots(state, cleaned);
      } catch (err) {
        // The semaphore must outlive a failed audit; the next one tries again.
        log.warn('slot audit failed', { error: failureMessage(err) });
      } finally {
        auditing = false;
      }
    }
  };
  void audit();

  for (;;) {
    await condition(() => hasGrantsToSend(state) || shouldContinueAsNew(limit));
    if (hasGrantsToSend(state)) {
      const r = grantSlots(state, now());
      state = r.state;
      const gone = await deliverSlotGrants(r.grants);
      state = reclaimSlots(state, gone);
      continue;
    }
    await condition(() => allHandlersFinished() && !auditing);
    if (!hasGrantsToSend(state)) await continueAsNew<typeof dataSyncSlots>({ ...input, state });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Short workflows: one per CloudTrail event (the gateway's entry), and the CLI's commands that need AWS.

export type IntakeOutcome = { status: 'delivered'; workflowId: string } | { status: 'ignored'; reason: string };

/**
 * The gateway has answered 202 once this workflow exists, so EventBridge will not deliver the event again: the
 * delivery is retried for as long as it takes (a worker outage, a policy an operator must fix). A profile or domain
 * that is gone ends it (ignored); a request AWS refuses as malformed fails it at once, since it would be refused the
 * same way for ever (the failed intake is visible, and a redelivery of the event may start it again).
 */
const { deliverCreationEvent } = proxyActivities<RecoveryActivities>({
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    nonRetryableErrorTypes: [RecoveryFailure.ProfileNotFound, RecoveryFailure.DomainNotFound, RecoveryFailure.InvalidRequest],
  },
});

/** Started by the gateway with the CloudTrail eventID in its id, so a redelivered event is refused by Temporal itself. */
export async function recoveryEventIntake(event: CreationEvent): Promise<IntakeOutcome> {
  try {
    const r = await deliverCreationEvent(event);
    return { status: 'delivered', workflowId: r.workflowId };
  } catch (err) {
    const type = failureType(err);
    if (type === RecoveryFailure.ProfileNotFound || type === RecoveryFailure.DomainNotFound) return { status: 'ignored', reason: failureMessage(err) };
    throw err;
  }
}

/** Bounded: the restore's own poll is the safety net if this never gets through. */
const { reportTransferEnded } = proxyActivities<RecoveryActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '1 hour',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
});

/**
 * Started by the gateway for a DataSync execution that reached SUCCESS or ERROR (id: `transferIntakeWorkflowId`, so
 * the same end reported twice is refused by Temporal): finds the restore by its task's tag and tells it.
 */
export async function transferEventIntake(taskExecutionArn: string): Promise<TransferReport> {
  return await reportTransferEnded(taskExecutionArn);
}

/**
 * A domain's listing makes a few calls per profile: minutes for hundreds of profiles, longer than one ordinary call
 * may take. It heartbeats its place as it goes, so a worker that dies is noticed within the heartbeat timeout and
 * the retry carries on from there.
 */
const { seedDomainHomes } = proxyActivities<RecoveryActivities>({ ...awsCall, startToCloseTimeout: '25 minutes', heartbeatTimeout: '1 minute' });

/** `mlops recovery seed`: record the current home of every profile and space, copying nothing; one activity a domain. */
export async function seedRecovery(): Promise<{ domains: SeededDomain[] }> {
  const at = new Date().toISOString();
  const domains: SeededDomain[] = [];
  for (const domain of await acts.listLiveDomains()) domains.push(await seedDomainHomes(domain, at));
  return { domains };
}

/** `mlops recovery copy` and friends: resolve domain and profile names against AWS. */
export async function lookupProfiles(keys: ProfileKey[]): Promise<ProfileLookup[]> {
  return await acts.describeProfiles(keys);
}

/** `mlops recovery grant-access`. */
export async function grantEfsAccess(efsId: string, securityGroupId: string) {
  return await acts.allowNfsFromSecurityGroup(efsId, securityGroupId);
}
