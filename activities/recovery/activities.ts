import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  ListAppsCommand,
  ListSpacesCommand,
  ListUserProfilesCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import {
  CancelTaskExecutionCommand,
  CreateTaskCommand,
  DeleteLocationCommand,
  DeleteTaskCommand,
  DescribeTaskCommand,
  DescribeTaskExecutionCommand,
  StartTaskExecutionCommand,
  type DataSyncClient,
  type DescribeTaskExecutionCommandOutput,
} from '@aws-sdk/client-datasync';
import { DescribeMountTargetSecurityGroupsCommand, DescribeMountTargetsCommand, type EFSClient } from '@aws-sdk/client-efs';
import { AuthorizeSecurityGroupIngressCommand, DescribeSecurityGroupsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { Logger } from '../../common/logger';
import { RecoveryFailure, recoveryFailure } from '../../workflows/recovery/failures';
import {
  DATASYNC_SLOTS_WORKFLOW_ID,
  RECOVERY_TASK_QUEUE,
  profileWorkflowId,
  type HomeDirectory,
  type HomeReport,
  type ProfileKey,
  type ProfileKind,
  type RestoreFigures,
} from '../../workflows/recovery/model';
import { DEFAULT_DATASYNC_TASK_CAP, type SlotTransfer } from '../../workflows/recovery/slots';
import {
  homeReportedSignal,
  releaseSlotSignal,
  requestSlotSignal,
  slotGrantedSignal,
  slotsQuery,
  transferEndedSignal,
  type SlotRequest,
  type TransferOutcome,
} from '../../workflows/recovery/messages';
import type { dataSyncSlots, profileRecovery } from '../../workflows/recovery/workflows';
import { aws, classifyAwsError, isAlreadyDeleted, isAwsError } from './aws-errors';
import { RESTORE_RUN_TAG, RESTORE_TAG, RESTORE_TASK_OPTIONS, dataSyncResources, transferTaskName } from './datasync-resources';
import { allPages, heartbeat } from './paging';
import { studioLookups } from './studio';

export { RESTORE_TAG, ROLE_TAG, RESTORE_TASK_OPTIONS, transferTaskName } from './datasync-resources';

export interface RecoveryActivityDeps {
  sagemaker: SageMakerClient;
  datasync: DataSyncClient;
  /**
   * The same service without SDK retries, for the creates DataSync does not de-duplicate (CreateLocationEfs,
   * CreateTask, StartTaskExecution): a retry after a lost answer would make a second one. Build it with
   * `withoutSdkRetries` (common/aws-clients.ts); the activity's retry adopts what a lost answer created.
   */
  datasyncCreates: DataSyncClient;
  efs: EFSClient;
  ec2: EC2Client;
  /** The Temporal client used to signal other workflows; the worker's own client when omitted. */
  temporal?: () => Client;
  /** Most live DataSync tasks all restores together may hold (the region quota is 100). */
  dataSyncTaskCap?: number;
  /** Security group for DataSync's network interfaces; default: the domain's Studio outbound-NFS group. */
  dataSyncSecurityGroupId?: string;
  log?: Logger;
}

/** A CloudTrail CreateUserProfile / CreateSpace call, as the gateway extracted it. */
export interface CreationEvent {
  eventId: string;
  kind: ProfileKind;
  domainId: string;
  name: string;
  /** ISO time of the call. */
  eventTime: string;
}

export interface LiveDomain {
  domainName: string;
  domainId: string;
}

/** What a seed recorded in one domain: counts, not names, so a region of thousands stays a small result. */
export interface SeededDomain extends LiveDomain {
  efsId: string;
  userProfiles: number;
  spaces: number;
}

interface SeedProgress {
  /** The last profile or space done: a retry goes on after it. */
  after?: [ProfileKind, string];
  userProfiles: number;
  spaces: number;
}

/** The order a seed walks a domain in: user profiles, then spaces, each by name. */
function seedOrder(kindA: ProfileKind, nameA: string, kindB: ProfileKind, nameB: string): number {
  if (kindA !== kindB) return kindA === 'user-profile' ? -1 : 1;
  return nameA < nameB ? -1 : nameA > nameB ? 1 : 0;
}

export interface ProfileLookup {
  key: ProfileKey;
  /** Undefined when no live domain has that name. */
  domain?: { domainId: string; efsId: string };
  /** Undefined when the profile or space does not exist (yet). */
  home?: HomeDirectory;
}

/** What one restore copies; also what the slots workflow keeps to clean up after a holder that died. */
export type TransferRequest = SlotTransfer;

export interface TransferResources {
  taskArn: string;
  taskExecutionArn: string;
  sourceLocationArn: string;
  destinationLocationArn: string;
}

export interface AccessGrant {
  efsId: string;
  mountTargets: number;
  rulesAdded: number;
  rulesAlreadyPresent: number;
}

const TERMINAL_EXECUTION = new Set(['SUCCESS', 'ERROR']);

/** How often the wait for a new home looks while the profile's app is starting (Pending). */
export const APP_STARTING_POLL = '5 seconds';

export type TransferReport = { status: 'delivered'; workflowId: string } | { status: 'ignored'; reason: string };

/** How an execution ended, from its DescribeTaskExecution answer; undefined while it runs. */
function transferOutcome(taskExecutionArn: string, e: DescribeTaskExecutionCommandOutput): TransferOutcome | undefined {
  if (e.Status === 'ERROR') {
    const why = `${e.Result?.ErrorCode ?? 'unknown'} ${e.Result?.ErrorDetail ?? ''}`.trim();
    return { status: 'failed', message: `DataSync execution ${taskExecutionArn} failed: ${why}` };
  }
  if (e.Status !== 'SUCCESS') return undefined;
  return {
    status: 'succeeded',
    figures: { bytesWritten: e.BytesWritten ?? 0, filesTransferred: e.FilesTransferred ?? 0, transferDurationMs: e.Result?.TotalDuration ?? 0, taskExecutionArn },
  };
}

export function createRecoveryActivities(deps: RecoveryActivityDeps) {
  const { sagemaker, datasync, datasyncCreates, efs, ec2 } = deps;
  const cap = deps.dataSyncTaskCap ?? DEFAULT_DATASYNC_TASK_CAP;
  const temporal = (): Client => (deps.temporal ? deps.temporal() : Context.current().client);
  const { describeDomain, homeUidOf, liveDomainsByName } = studioLookups(sagemaker);
  const { findLocations, findOrCreateLocations, findTasks, executionsOf, tagsOf } = dataSyncResources(datasync, datasyncCreates, efs, ec2, deps.dataSyncSecurityGroupId);
  const log = (): Pick<Logger, 'info' | 'warn'> => {
    try {
      return Context.current().log;
    } catch {
      return deps.log ?? { info: () => undefined, warn: () => undefined };
    }
  };

  /** The run of the workflow this activity works for; undefined when called outside an activity (unit use). */
  const currentRunId = (): string | undefined => {
    try {
      return Context.current().info.workflowExecution?.runId;
    } catch {
      return undefined;
    }
  };

  const requestDataSyncSlot = async (holder: string, transfer?: TransferRequest): Promise<void> => {
    await temporal().workflow.signalWithStart<typeof dataSyncSlots, [SlotRequest]>('dataSyncSlots', {
      workflowId: DATASYNC_SLOTS_WORKFLOW_ID,
      taskQueue: RECOVERY_TASK_QUEUE,
      args: [{}],
      signal: requestSlotSignal,
      signalArgs: [{ holder, capacity: cap, ...(transfer ? { transfer } : {}) }],
    });
  };

  /** Cancels the task's live execution, if any, and deletes it; false when it was already gone. */
  async function deleteTask(taskArn: string): Promise<boolean> {
    for (const ex of await executionsOf(taskArn)) {
      if (ex.TaskExecutionArn && ex.Status && !TERMINAL_EXECUTION.has(ex.Status) && ex.Status !== 'CANCELLING') {
        await aws(`CancelTaskExecution ${ex.TaskExecutionArn}`, () => datasync.send(new CancelTaskExecutionCommand({ TaskExecutionArn: ex.TaskExecutionArn }))).catch((err: unknown) =>
          log().warn(`cancelling ${ex.TaskExecutionArn}: ${String(err)}`),
        );
      }
    }
    try {
      await datasync.send(new DeleteTaskCommand({ TaskArn: taskArn }));
      return true;
    } catch (err) {
      if (isAwsError(err, 'InvalidRequestException') && /running|cancel|in progress|queued/i.test((err as Error).message)) {
        throw recoveryFailure(RecoveryFailure.TransferInProgress, `task ${taskArn} still running: ${(err as Error).message}`);
      }
      if (!isAlreadyDeleted(err)) throw classifyAwsError(err, `DeleteTask ${taskArn}`);
      return false;
    }
  }

  /** A task an earlier run of `restoreId` left behind: it goes, and so do its locations if they are that restore's. */
  async function deleteStaleTask(taskArn: string, restoreId: string): Promise<void> {
    let locations: string[] = [];
    try {
      const t = await datasync.send(new DescribeTaskCommand({ TaskArn: taskArn }));
      locations = [t.SourceLocationArn, t.DestinationLocationArn].filter((a): a is string => Boolean(a));
    } catch (err) {
      if (isAlreadyDeleted(err)) return;
      throw classifyAwsError(err, `DescribeTask ${taskArn}`);
    }
    await deleteTask(taskArn);
    for (const arn of locations) {
      if ((await tagsOf(arn))[RESTORE_TAG] === restoreId) await deleteLocation(arn);
    }
  }

  /** Deletes a location; false when it was already gone. */
  async function deleteLocation(arn: string): Promise<boolean> {
    try {
      await datasync.send(new DeleteLocationCommand({ LocationArn: arn }));
      return true;
    } catch (err) {
      if (!isAlreadyDeleted(err)) throw classifyAwsError(err, `DeleteLocation ${arn}`);
      return false;
    }
  }

  async function signalHome(key: ProfileKey, report: HomeReport): Promise<string> {
    const workflowId = profileWorkflowId(key);
    await temporal().workflow.signalWithStart<typeof profileRecovery, [HomeReport]>('profileRecovery', {
      workflowId,
      taskQueue: RECOVERY_TASK_QUEUE,
      args: [{ key }],
      signal: homeReportedSignal,
      signalArgs: [report],
    });
    return workflowId;
  }

  return {
    /** CloudTrail creation event -> the profile's workflow (signal-with-start), with the domain name and home id resolved. */
    async deliverCreationEvent(event: CreationEvent): Promise<{ workflowId: string; key: ProfileKey; home: HomeDirectory }> {
      const { domainName, efsId } = await describeDomain(event.domainId);
      const homeUid = await homeUidOf(event.domainId, event.kind, event.name);
      if (!homeUid) {
        throw recoveryFailure(RecoveryFailure.ProfileNotFound, `${event.kind} ${event.name} no longer exists in domain ${domainName} (${event.domainId})`);
      }
      const key: ProfileKey = { domainName, kind: event.kind, name: event.name };
      const home: HomeDirectory = { domainId: event.domainId, efsId, homeUid };
      const workflowId = await signalHome(key, { ...home, eventId: event.eventId, at: event.eventTime, source: 'cloudtrail' });
      log().info(`creation event ${event.eventId} delivered to ${workflowId} (home ${efsId}/${homeUid})`);
      return { workflowId, key, home };
    },

    /** Every live profile and space of every live domain in the region, with its current home. */
    /** The domains a seed walks: every live domain, each name with all its live ids. */
    async listLiveDomains(): Promise<LiveDomain[]> {
      const byName = await liveDomainsByName();
      return [...byName].flatMap(([domainName, ids]) => ids.map(({ domainId }) => ({ domainName, domainId })));
    },

    /**
     * Records the current home of every user profile and space of one domain in its profile's workflow, copying
     * nothing (idempotent: the report's id derives from the home). Heartbeats its place, so a retry after a worker
     * crash goes on from there instead of starting over.
     */
    async seedDomainHomes(domain: LiveDomain, at: string): Promise<SeededDomain> {
      const { domainName, domainId } = domain;
      const { efsId } = await describeDomain(domainId);
      const profiles = await allPages(async (token) => {
        const r = await aws('ListUserProfiles', () => sagemaker.send(new ListUserProfilesCommand({ DomainIdEquals: domainId, NextToken: token, MaxResults: 100 })));
        return { items: (r.UserProfiles ?? []).map((p) => p.UserProfileName ?? ''), next: r.NextToken };
      });
      const spaces = await allPages(async (token) => {
        const r = await aws('ListSpaces', () => sagemaker.send(new ListSpacesCommand({ DomainIdEquals: domainId, NextToken: token, MaxResults: 100 })));
        return { items: (r.Spaces ?? []).map((s) => s.SpaceName ?? ''), next: r.NextToken };
      });
      const named: [ProfileKind, string][] = [
        ...profiles.filter(Boolean).map((n): [ProfileKind, string] => ['user-profile', n]),
        ...spaces.filter(Boolean).map((n): [ProfileKind, string] => ['space', n]),
      ].sort(([kindA, nameA], [kindB, nameB]) => seedOrder(kindA, nameA, kindB, nameB));
      let progress: SeedProgress = { userProfiles: 0, spaces: 0 };
      try {
        const saved = Context.current().info.heartbeatDetails as SeedProgress | undefined;
        if (saved && typeof saved.userProfiles === 'number') progress = saved;
      } catch {
        // Outside an activity: start from the beginning.
      }
      // A retry lists again: it goes on after the last name done (not at an index, which profiles created or deleted
      // meanwhile would shift).
      const done = progress.after;
      const todo = done ? named.filter(([kind, name]) => seedOrder(kind, name, done[0], done[1]) > 0) : named;
      for (const [kind, name] of todo) {
        const homeUid = await homeUidOf(domainId, kind, name).catch((err: unknown) => {
          // Just created (no home yet) or deleted since the listing: nothing to record.
          if (err instanceof ApplicationFailure && (err.type === RecoveryFailure.HomeNotAssigned || err.type === RecoveryFailure.ProfileNotFound)) return undefined;
          throw err;
        });
        if (homeUid) {
          const eventId = `seed:${domainId}:${kind}:${name}:${homeUid}`;
          await signalHome({ domainName, kind, name }, { domainId, efsId, homeUid, eventId, at, source: 'seed' });
          progress = { ...progress, ...(kind === 'user-profile' ? { userProfiles: progress.userProfiles + 1 } : { spaces: progress.spaces + 1 }) };
        }
        progress = { ...progress, after: [kind, name] };
        heartbeat(progress);
      }
      return { domainName, domainId, efsId, userProfiles: progress.userProfiles, spaces: progress.spaces };
    },

    /** Operator lookups: does the domain exist (by name), and the profile or space, and where is its home. */
    async describeProfiles(keys: ProfileKey[]): Promise<ProfileLookup[]> {
      const byName = await liveDomainsByName();
      const out: ProfileLookup[] = [];
      for (const key of keys) {
        const domainId = byName.get(key.domainName)?.[0]?.domainId;
        if (!domainId) {
          out.push({ key });
          continue;
        }
        const { efsId } = await describeDomain(domainId);
        const homeUid = await homeUidOf(domainId, key.kind, key.name);
        out.push({ key, domain: { domainId, efsId }, ...(homeUid ? { home: { domainId, efsId, homeUid } } : {}) });
      }
      return out;
    },

    /** "Not yet" until the new profile has a running app (its home directory exists then). Polled by activity retries. */
    async waitForHomeDirectory(key: ProfileKey, home: HomeDirectory): Promise<void> {
      const uid = await homeUidOf(home.domainId, key.kind, key.name);
      if (uid === undefined) throw recoveryFailure(RecoveryFailure.ProfileNotFound, `${key.kind} ${key.name} no longer exists in ${home.domainId}`);
      if (uid !== home.homeUid) {
        throw recoveryFailure(RecoveryFailure.ProfileNotFound, `${key.kind} ${key.name} was created again (home ${uid}, not ${home.homeUid})`);
      }
      const r = await aws('ListApps', () =>
        sagemaker.send(
          new ListAppsCommand({
            DomainIdEquals: home.domainId,
            ...(key.kind === 'user-profile' ? { UserProfileNameEquals: key.name } : { SpaceNameEquals: key.name }),
            MaxResults: 100,
          }),
        ),
      );
      const apps = r.Apps ?? [];
      if (apps.some((a) => a.Status === 'InService')) return;
      // An app that is starting comes InService within minutes: look again soon, not at the policy's next backoff
      // (which grows towards minutes while nobody opens Studio).
      const starting = apps.some((a) => a.Status === 'Pending');
      throw recoveryFailure(
        RecoveryFailure.HomeNotReady,
        `no app of ${key.kind} ${key.name} is InService yet${starting ? ' (one is starting)' : ''}`,
        undefined,
        starting ? { nextRetryDelay: APP_STARTING_POLL } : {},
      );
    },

    /** Creates (or finds, after a retry or a crash) both locations and the task, and starts (or finds) its one execution. */
    async startTransfer(req: TransferRequest): Promise<TransferResources> {
      const { sourceLocationArn, destinationLocationArn } = await findOrCreateLocations(req.restoreId, req.from, req.to);
      // A restore id is used again when a profile's workflow starts afresh (terminated by hand): a task another run of
      // this restore left behind (its run tag differs) is deleted, never adopted, or its old result would be taken
      // for this copy. A task of this run (a retry after a lost answer or a crash) is continued.
      const runId = currentRunId();
      let taskArn: string | undefined;
      let existing: string | undefined;
      for (const arn of await findTasks(req.restoreId)) {
        if (runId !== undefined && (await tagsOf(arn))[RESTORE_RUN_TAG] !== runId) {
          log().warn(`deleting ${arn} and its locations, left behind by an earlier run of ${req.restoreId}`);
          await deleteStaleTask(arn, req.restoreId);
          continue;
        }
        const ex = (await executionsOf(arn))[0]?.TaskExecutionArn;
        taskArn ??= arn;
        if (ex) {
          taskArn = arn;
          existing = ex;
          break;
        }
      }
      if (!taskArn) {
        const r = await aws(`CreateTask ${req.restoreId}`, () =>
          datasyncCreates.send(
            new CreateTaskCommand({
              SourceLocationArn: sourceLocationArn,
              DestinationLocationArn: destinationLocationArn,
              Name: transferTaskName(req.restoreId),
              Options: RESTORE_TASK_OPTIONS,
              Tags: [{ Key: RESTORE_TAG, Value: req.restoreId }, ...(runId !== undefined ? [{ Key: RESTORE_RUN_TAG, Value: runId }] : [])],
            }),
          ),
        );
        if (!r.TaskArn) throw recoveryFailure(RecoveryFailure.AwsUnavailable, 'CreateTask returned no TaskArn');
        taskArn = r.TaskArn;
      }
      const task = taskArn;
      const taskExecutionArn =
        existing ?? (await aws(`StartTaskExecution ${task}`, () => datasyncCreates.send(new StartTaskExecutionCommand({ TaskArn: task })))).TaskExecutionArn;
      if (!taskExecutionArn) throw recoveryFailure(RecoveryFailure.AwsUnavailable, 'StartTaskExecution returned no TaskExecutionArn');
      return { taskArn: task, taskExecutionArn, sourceLocationArn, destinationLocationArn };
    },

    /** "Not yet" while the execution runs; its figures once it succeeded. Polled by activity retries. */
    async followTransfer(taskExecutionArn: string): Promise<Omit<RestoreFigures, 'durationMs'>> {
      const e = await aws(`DescribeTaskExecution ${taskExecutionArn}`, () => datasync.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: taskExecutionArn })));
      const outcome = transferOutcome(taskExecutionArn, e);
      if (!outcome) throw recoveryFailure(RecoveryFailure.TransferInProgress, `DataSync execution is ${e.Status ?? 'unknown'}`);
      if (outcome.status === 'failed') throw recoveryFailure(RecoveryFailure.TransferFailed, outcome.message);
      return outcome.figures;
    },

    /**
     * A "DataSync Task Execution State Change" to SUCCESS or ERROR (through the gateway): tells the restore whose
     * task it is (its `mlops:restore` tag) how the execution ended, so it stops waiting now. Not a restore's task, or
     * one already deleted (its restore has ended), or a restore no longer running: nothing to tell.
     */
    async reportTransferEnded(taskExecutionArn: string): Promise<TransferReport> {
      const taskArn = taskExecutionArn.replace(/\/execution\/[^/]+$/, '');
      const restoreId = (await tagsOf(taskArn))[RESTORE_TAG];
      if (!restoreId) return { status: 'ignored', reason: `${taskArn} is not a restore's task, or was deleted already` };
      let e;
      try {
        e = await datasync.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: taskExecutionArn }));
      } catch (err) {
        if (isAlreadyDeleted(err)) return { status: 'ignored', reason: `${taskExecutionArn} was deleted already` };
        throw classifyAwsError(err, `DescribeTaskExecution ${taskExecutionArn}`);
      }
      const outcome = transferOutcome(taskExecutionArn, e);
      // The event may come before DescribeTaskExecution says so: retried shortly.
      if (!outcome) throw recoveryFailure(RecoveryFailure.TransferInProgress, `the event says ended, DataSync still says ${e.Status ?? 'unknown'}`);
      try {
        await temporal().workflow.getHandle(restoreId).signal(transferEndedSignal, { taskExecutionArn, outcome });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { status: 'ignored', reason: `restore ${restoreId} is no longer running` };
        throw err;
      }
      return { status: 'delivered', workflowId: restoreId };
    },

    /** Deletes this restore's task (cancelling a live execution first) and both locations; found by name and tags. */
    async deleteTransferResources(req: TransferRequest): Promise<{ tasksDeleted: number; locationsDeleted: number }> {
      let tasksDeleted = 0;
      let locationsDeleted = 0;
      for (const taskArn of await findTasks(req.restoreId)) {
        if (await deleteTask(taskArn)) tasksDeleted++;
      }
      for (const [role, h] of [['source', req.from], ['destination', req.to]] as const) {
        for (const arn of await findLocations(req.restoreId, role, h)) {
          if (await deleteLocation(arn)) locationsDeleted++;
        }
      }
      return { tasksDeleted, locationsDeleted };
    },

    /** Queues `holder` for a DataSync slot; the slots workflow answers with the slotGranted signal. */
    requestDataSyncSlot,

    /**
     * The safety net under a restore waiting for its slot grant: if the semaphore is gone (terminated by hand) or no
     * longer knows `holder`, asks again. Never succeeds: it fails "not yet" and is retried until the workflow, granted,
     * cancels it, so however long the wait it costs the restore's history one activity.
     */
    async keepSlotRequestAlive(holder: string, transfer?: TransferRequest): Promise<never> {
      // The first attempt comes right after the request: nothing to check yet, and checking would cost every restore.
      if (Context.current().info.attempt === 1) throw recoveryFailure(RecoveryFailure.SlotNotGranted, `${holder} is waiting for a DataSync slot`);
      const semaphore = temporal().workflow.getHandle(DATASYNC_SLOTS_WORKFLOW_ID);
      let known = false;
      try {
        if ((await semaphore.describe()).status.name === 'RUNNING') {
          const slots = await semaphore.query(slotsQuery);
          known = [...slots.waiting, ...slots.holders].some((h) => h.holder === holder);
        }
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      if (!known) {
        log().warn(`the DataSync slot semaphore does not know ${holder} (terminated or restarted?): asking again`);
        await requestDataSyncSlot(holder, transfer);
      }
      throw recoveryFailure(RecoveryFailure.SlotNotGranted, `${holder} is waiting for a DataSync slot`);
    },

    async releaseDataSyncSlot(holder: string): Promise<void> {
      try {
        await temporal().workflow.getHandle(DATASYNC_SLOTS_WORKFLOW_ID).signal(releaseSlotSignal, { holder });
      } catch (err) {
        // No semaphore means no slot to give back.
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    },

    /** Tells each new holder it may go; returns the holders whose workflow is gone (their slot is reclaimed). */
    async deliverSlotGrants(holders: string[]): Promise<string[]> {
      const gone: string[] = [];
      for (const holder of holders) {
        try {
          await temporal().workflow.getHandle(holder).signal(slotGrantedSignal);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) gone.push(holder);
          else throw err;
        }
        heartbeat();
      }
      return gone;
    },

    /** The given workflows that are no longer running (a crashed or terminated slot holder). */
    async findClosedWorkflows(workflowIds: string[]): Promise<string[]> {
      const closed: string[] = [];
      for (const id of workflowIds) {
        try {
          const d = await temporal().workflow.getHandle(id).describe();
          if (d.status.name !== 'RUNNING') closed.push(id);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) closed.push(id);
          else throw err;
        }
        heartbeat();
      }
      return closed;
    },

    /** Allows NFS (TCP 2049) from `securityGroupId` on every security group of the file system's mount targets. */
    async allowNfsFromSecurityGroup(efsId: string, securityGroupId: string): Promise<AccessGrant> {
      await aws(`DescribeSecurityGroups ${securityGroupId}`, () => ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [securityGroupId] })), RecoveryFailure.SecurityGroupNotFound);
      const mts = await aws(`DescribeMountTargets ${efsId}`, () => efs.send(new DescribeMountTargetsCommand({ FileSystemId: efsId })), RecoveryFailure.FileSystemNotFound);
      const groups = new Set<string>();
      for (const mt of mts.MountTargets ?? []) {
        const r = await aws(`DescribeMountTargetSecurityGroups ${mt.MountTargetId}`, () =>
          efs.send(new DescribeMountTargetSecurityGroupsCommand({ MountTargetId: mt.MountTargetId })),
        );
        for (const sg of r.SecurityGroups ?? []) groups.add(sg);
      }
      let rulesAdded = 0;
      let rulesAlreadyPresent = 0;
      for (const groupId of groups) {
        try {
          await ec2.send(
            new AuthorizeSecurityGroupIngressCommand({
              GroupId: groupId,
              IpPermissions: [{ IpProtocol: 'tcp', FromPort: 2049, ToPort: 2049, UserIdGroupPairs: [{ GroupId: securityGroupId, Description: 'NFS from DataSync (mlops recovery)' }] }],
            }),
          );
          rulesAdded++;
        } catch (err) {
          if (isAwsError(err, 'InvalidPermission.Duplicate')) rulesAlreadyPresent++;
          else throw classifyAwsError(err, `AuthorizeSecurityGroupIngress ${groupId}`, RecoveryFailure.SecurityGroupNotFound);
        }
      }
      return { efsId, mountTargets: mts.MountTargets?.length ?? 0, rulesAdded, rulesAlreadyPresent };
    },
  };
}

export type RecoveryActivities = ReturnType<typeof createRecoveryActivities>;
