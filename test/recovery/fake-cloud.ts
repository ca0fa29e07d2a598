/**
 * An in-memory stand-in for the AWS side of the recovery activities, at activity granularity, on the server's
 * virtual clock: workflow tests use it to pin the workflows' behaviour (restore decisions, the DataSync cap,
 * cleanup on every path) independently of the emulator. Temporal-side activities stay the real ones.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { createRecoveryActivities, type RecoveryActivities } from '../../activities/recovery/activities';
import type { Clock } from '../../local/clock';
import { RecoveryFailure, recoveryFailure } from '../../workflows/recovery/failures';
import { RECOVERY_TASK_QUEUE, profileWorkflowId, type ProfileKey, type ProfileKind } from '../../workflows/recovery/model';
import { homeReportedSignal } from '../../workflows/recovery/messages';

interface Profile {
  homeUid: string;
  /** When its first app is InService (virtual ms); undefined: never. */
  readyAt?: number;
}

interface Task {
  restoreId: string;
  from: string;
  to: string;
  createdAt: number;
  done: boolean;
}

export class FakeCloud {
  readonly domains = new Map<string, { name: string; efsId: string }>();
  readonly profiles = new Map<string, Profile>();
  /** efsId/homeUid -> file name -> content */
  readonly files = new Map<string, Map<string, string>>();
  readonly liveTasks = new Map<string, Task>();
  maxLiveTasks = 0;
  tasksDeleted = 0;
  transferMs = 10 * 60_000;
  appStartMs = 3 * 60_000;
  /** restore ids whose transfer ends in ERROR */
  failing = new Set<string>();
  /** restore ids whose transfer stays TRANSFERRING until removed (virtual time races ahead when idle) */
  held = new Set<string>();
  /** Domain ids whose DescribeDomain AWS refuses as malformed (ValidationException). */
  malformedDomains = new Set<string>();
  /** How many more DeleteTask calls are refused with AccessDenied (a policy an operator has yet to fix). */
  deletesDenied = 0;
  private uid = 200_000;

  constructor(private readonly clock: Clock) {}

  addDomain(domainId: string, name: string, efsId: string): void {
    this.domains.set(domainId, { name, efsId });
  }

  /** Creates (or recreates) a profile: a new home uid, its app InService after appStartMs. */
  createProfile(domainId: string, kind: ProfileKind, name: string, opts: { appStarts?: boolean } = {}): string {
    const homeUid = String(++this.uid);
    this.profiles.set(`${domainId}/${kind}/${name}`, { homeUid, readyAt: opts.appStarts === false ? undefined : this.clock.now() + this.appStartMs });
    return homeUid;
  }

  deleteProfile(domainId: string, kind: ProfileKind, name: string): void {
    this.profiles.delete(`${domainId}/${kind}/${name}`);
  }

  write(efsId: string, homeUid: string, file: string, content: string): void {
    const dir = this.files.get(`${efsId}/${homeUid}`) ?? new Map<string, string>();
    dir.set(file, content);
    this.files.set(`${efsId}/${homeUid}`, dir);
  }

  read(efsId: string, homeUid: string): Record<string, string> {
    return Object.fromEntries(this.files.get(`${efsId}/${homeUid}`) ?? []);
  }

  /** Temporal-side activities are the real ones; `dataSyncTaskCap` goes to the slots workflow with each request. */
  activities(client: Client, dataSyncTaskCap?: number): RecoveryActivities {
    const real = createRecoveryActivities({ sagemaker: null as never, datasync: null as never, datasyncCreates: null as never, efs: null as never, ec2: null as never, temporal: () => client, dataSyncTaskCap });
    const profileOf = (domainId: string, kind: ProfileKind, name: string) => this.profiles.get(`${domainId}/${kind}/${name}`);
    const notYet = (type: string, msg: string) => ApplicationFailure.retryable(msg, type);
    return {
      ...real,
      deliverCreationEvent: async (event) => {
        if (this.malformedDomains.has(event.domainId)) throw recoveryFailure(RecoveryFailure.InvalidRequest, `DescribeDomain ${event.domainId}: ValidationException: 1 validation error detected`);
        const domain = this.domains.get(event.domainId);
        if (!domain) throw ApplicationFailure.nonRetryable(`domain ${event.domainId}`, RecoveryFailure.DomainNotFound);
        const p = profileOf(event.domainId, event.kind, event.name);
        if (!p) throw ApplicationFailure.nonRetryable(`${event.name} gone`, RecoveryFailure.ProfileNotFound);
        const key: ProfileKey = { domainName: domain.name, kind: event.kind, name: event.name };
        const home = { domainId: event.domainId, efsId: domain.efsId, homeUid: p.homeUid };
        await client.workflow.signalWithStart('profileRecovery', {
          workflowId: profileWorkflowId(key),
          taskQueue: RECOVERY_TASK_QUEUE,
          args: [{ key }],
          signal: homeReportedSignal,
          signalArgs: [{ ...home, eventId: event.eventId, at: event.eventTime, source: 'cloudtrail' as const }],
        });
        return { workflowId: profileWorkflowId(key), key, home };
      },
      waitForHomeDirectory: async (key, home) => {
        const p = profileOf(home.domainId, key.kind, key.name);
        if (!p || p.homeUid !== home.homeUid) throw ApplicationFailure.nonRetryable('gone', RecoveryFailure.ProfileNotFound);
        if (p.readyAt === undefined || this.clock.now() < p.readyAt) throw notYet(RecoveryFailure.HomeNotReady, 'no app yet');
      },
      startTransfer: async (req) => {
        let t = this.liveTasks.get(req.restoreId);
        if (!t) {
          if (this.liveTasks.size >= 100) throw ApplicationFailure.retryable('quota of 100 tasks', RecoveryFailure.QuotaExceeded);
          t = { restoreId: req.restoreId, from: `${req.from.efsId}/${req.from.homeUid}`, to: `${req.to.efsId}/${req.to.homeUid}`, createdAt: this.clock.now(), done: false };
          this.liveTasks.set(req.restoreId, t);
          this.maxLiveTasks = Math.max(this.maxLiveTasks, this.liveTasks.size);
        }
        return { taskArn: `task:${req.restoreId}`, taskExecutionArn: `exec:${req.restoreId}`, sourceLocationArn: 's', destinationLocationArn: 'd' };
      },
      followTransfer: async (arn) => {
        const restoreId = arn.slice('exec:'.length);
        const t = this.liveTasks.get(restoreId);
        if (!t) throw ApplicationFailure.nonRetryable(`no execution ${arn}`, RecoveryFailure.TransferFailed);
        if (this.clock.now() < t.createdAt + this.transferMs || this.held.has(restoreId)) throw notYet(RecoveryFailure.TransferInProgress, 'TRANSFERRING');
        if (this.failing.has(restoreId)) throw ApplicationFailure.nonRetryable('ERROR: injected', RecoveryFailure.TransferFailed);
        const src = this.files.get(t.from) ?? new Map<string, string>();
        const dst = this.files.get(t.to) ?? new Map<string, string>();
        let files = 0;
        let bytes = 0;
        for (const [f, c] of src) {
          if (dst.has(f)) continue;
          dst.set(f, c);
          files++;
          bytes += c.length;
        }
        this.files.set(t.to, dst);
        t.done = true;
        return { bytesWritten: bytes, filesTransferred: files, transferDurationMs: this.transferMs, taskExecutionArn: arn };
      },
      deleteTransferResources: async (req) => {
        if (this.deletesDenied > 0 && this.liveTasks.has(req.restoreId)) {
          this.deletesDenied--;
          throw recoveryFailure(RecoveryFailure.AccessDenied, 'DeleteTask: AccessDeniedException: not authorized to perform datasync:DeleteTask');
        }
        const had = this.liveTasks.delete(req.restoreId);
        if (had) this.tasksDeleted++;
        return { tasksDeleted: had ? 1 : 0, locationsDeleted: had ? 2 : 0 };
      },
    };
  }
}
