/**
 * Worker deployment versioning (Temporal's Worker Versioning, the "deployment" API): a versioned worker polls as one
 * version (deployment name + build id) of a deployment, which registers the version and its task queues; an operator
 * makes a version current (SetWorkerDeploymentCurrentVersion) or ramps one (SetWorkerDeploymentRampingVersion), and
 * workflow tasks go to pollers of the version their run is routed to: a pinned run to its version, others to the
 * current (or, by workflow id, the ramping) version of their task queue, and with no current version to unversioned
 * pollers. Built to the semantics of the real server's worker-deployment workflows and frontend answers (error texts,
 * no-change answers, conflict tokens, v31 "name.buildId" strings beside the structured versions).
 */
import { status } from '@grpc/grpc-js';
import { ServiceError, invalidArgument, notFound } from './errors';
import type { Message } from './proto-types';
import { timestampFromMs } from './time-format';

export interface DeploymentVersion {
  deploymentName: string;
  buildId: string;
}

export type TaskQueueType = 'TASK_QUEUE_TYPE_WORKFLOW' | 'TASK_QUEUE_TYPE_ACTIVITY';

export const UNVERSIONED = '__unversioned__';
/** How long a poll keeps a version "with pollers" (the real server's poller history). */
const POLLER_MEMORY_MS = 5 * 60_000;

/** The v31 string form the deprecated fields and the SDK's toCanonicalString use. */
export const versionString = (v: DeploymentVersion | undefined): string => (v ? `${v.deploymentName}.${v.buildId}` : UNVERSIONED);

/** A version string in the v31 ('.') or v32 (':') form, whichever delimiter comes first; undefined = unversioned. */
export function parseVersionString(s: string): DeploymentVersion | undefined {
  if (s === UNVERSIONED || s === '') return undefined;
  const dot = s.indexOf('.');
  const colon = s.indexOf(':');
  const at = dot < 0 ? colon : colon < 0 ? dot : Math.min(dot, colon);
  if (at < 0) throw invalidArgument(`invalid version string: expected delimiter ':' or '.' not found in version string ${s}`);
  const v = { deploymentName: s.slice(0, at), buildId: s.slice(at + 1) };
  if (!v.deploymentName) throw invalidArgument(`invalid version string: deployment name is empty in version string ${s}`);
  if (!v.buildId) throw invalidArgument(`invalid version string: build id is empty in version string ${s}`);
  return v;
}

/** The worker's versioned identity from its poll or completion options; undefined for an unversioned worker. */
export function versionOfWorker(opts: { deploymentName?: string; buildId?: string; workerVersioningMode?: string } | undefined): DeploymentVersion | undefined {
  if (!opts || opts.workerVersioningMode !== 'WORKER_VERSIONING_MODE_VERSIONED' || !opts.deploymentName || !opts.buildId) return undefined;
  return { deploymentName: opts.deploymentName, buildId: opts.buildId };
}

export const sameVersion = (a: DeploymentVersion | undefined, b: DeploymentVersion | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.deploymentName === b.deploymentName && a.buildId === b.buildId);

/**
 * A workflow id's place in [0, 100): at or under the ramp percentage it goes to the ramping version. The real server
 * uses FarmHash's Fingerprint32 here; this is FNV-1a, equally stable per workflow id, not the same split.
 */
export function rampThreshold(workflowId: string): number {
  if (!workflowId) return Math.random() * 100;
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(workflowId, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (100 * h) / 2 ** 32;
}

/**
 * The BuildIds search attribute after a workflow task completed, as the real server keeps it: a sentinel first
 * ('unversioned' for an unversioned run, 'pinned:<deployment>:<build id>' for a pinned one), then each build id that
 * completed a task, once, from the worker's version stamp ('unversioned:<id>' or 'versioned:<id>').
 */
export function buildIdsAfterCompletion(
  existing: readonly string[],
  stamp: { buildId?: string; useVersioning?: boolean } | undefined,
  effective: { behavior?: string; version?: DeploymentVersion },
): string[] {
  const values: string[] = [];
  if (!effective.behavior && !stamp?.useVersioning) values.push('unversioned');
  if (effective.behavior === 'VERSIONING_BEHAVIOR_PINNED' && effective.version) values.push(`pinned:${effective.version.deploymentName}:${effective.version.buildId}`);
  const stamped = stamp?.buildId ? `${stamp.useVersioning ? 'versioned' : 'unversioned'}:${stamp.buildId}` : undefined;
  values.push(...existing.filter((v) => v !== 'unversioned' && !v.startsWith('assigned:') && !v.startsWith('pinned:')));
  if (stamped && !existing.includes(stamped)) values.push(stamped);
  return values;
}

interface VersionState {
  buildId: string;
  createTime: number;
  /** by `${type}:${name}`: the task queues its pollers polled, and when last */
  taskQueues: Map<string, { name: string; type: TaskQueueType; lastPollMs: number }>;
  currentSinceTime?: number;
  rampingSinceTime?: number;
  routingChangedTime?: number;
  firstActivationTime?: number;
  lastCurrentTime?: number;
  lastDeactivationTime?: number;
  rampPercentage: number;
  metadata: Record<string, Message>;
}

interface DeploymentState {
  name: string;
  createTime: number;
  versions: Map<string, VersionState>;
  /** build id of the current version; undefined: unversioned is current */
  current?: string;
  /** build id of the ramping version, null for a ramp to unversioned, undefined for no ramp */
  ramping?: string | null;
  rampingPercentage: number;
  currentChangedTime?: number;
  rampingChangedTime?: number;
  rampingPercentageChangedTime?: number;
  revision: number;
  conflictToken: Buffer;
  lastModifierIdentity: string;
  managerIdentity: string;
}

const failedPrecondition = (message: string): ServiceError =>
  new ServiceError(status.FAILED_PRECONDITION, message, { typeName: 'temporal.api.errordetails.v1.FailedPreconditionFailure', value: {} });
const deploymentNotFound = (name: string): ServiceError => notFound(`no Worker Deployment found with name '${name}'; does your Worker Deployment have pollers?`);
const versionNotFound = (v: DeploymentVersion): ServiceError => notFound(`build ID '${v.buildId}' not found in Worker Deployment '${v.deploymentName}'`);
const managerMismatch = (manager: string, identity: string): ServiceError =>
  failedPrecondition(
    `ManagerIdentity '${manager}' is set and does not match user identity '${identity}'; to proceed, set your own identity as the ManagerIdentity, remove the ManagerIdentity, or wait for the other client to do so`,
  );

export interface DeploymentHost {
  now(): number;
  /** Routing of a namespace changed: queued tasks must be matched again. */
  routingChanged(namespace: string): void;
  /** Whether an open workflow is pinned to the version (a version no longer current or ramping drains until none is). */
  hasOpenPinned(namespace: string, version: DeploymentVersion): boolean;
}

type Req = { namespace?: string; identity?: string };
type VersionReq = Req & { version?: string; deploymentVersion?: DeploymentVersion };

export class WorkerDeployments {
  private readonly byNamespace = new Map<string, Map<string, DeploymentState>>();
  private tokenSeq = 0;

  constructor(private readonly host: DeploymentHost) {}

  private deployments(namespace: string): Map<string, DeploymentState> {
    let m = this.byNamespace.get(namespace);
    if (!m) {
      m = new Map();
      this.byNamespace.set(namespace, m);
    }
    return m;
  }

  private newToken(d: DeploymentState): void {
    d.conflictToken = Buffer.from(`${this.host.now()}:${++this.tokenSeq}`);
  }

  /** A versioned worker polled: its deployment, version and task queue exist from now on. */
  register(namespace: string, v: DeploymentVersion, taskQueue: string, type: TaskQueueType): void {
    const now = this.host.now();
    const all = this.deployments(namespace);
    let d = all.get(v.deploymentName);
    if (!d) {
      d = { name: v.deploymentName, createTime: now, versions: new Map(), rampingPercentage: 0, revision: 0, conflictToken: Buffer.alloc(0), lastModifierIdentity: '', managerIdentity: '' };
      this.newToken(d);
      all.set(d.name, d);
    }
    let version = d.versions.get(v.buildId);
    if (!version) {
      version = { buildId: v.buildId, createTime: now, taskQueues: new Map(), rampPercentage: 0, metadata: {} };
      d.versions.set(v.buildId, version);
    }
    const key = `${type}:${taskQueue}`;
    const tq = version.taskQueues.get(key);
    if (tq) tq.lastPollMs = now;
    else version.taskQueues.set(key, { name: taskQueue, type, lastPollMs: now });
  }

  /** Whether the version's pollers poll this task queue. */
  hasTaskQueue(namespace: string, v: DeploymentVersion, taskQueue: string, type: TaskQueueType): boolean {
    return this.byNamespace.get(namespace)?.get(v.deploymentName)?.versions.get(v.buildId)?.taskQueues.has(`${type}:${taskQueue}`) ?? false;
  }

  /**
   * The version a task of this queue goes to when nothing pins it: the current version of the deployment the queue
   * belongs to, or its ramping version for the share of workflow ids under the ramp percentage (all of them with
   * `useRamping`, when there is a ramp). Undefined: unversioned pollers.
   */
  targetFor(namespace: string, taskQueue: string, type: TaskQueueType, workflowId: string, useRamping = false): DeploymentVersion | undefined {
    let best: { d: DeploymentState; changed: number } | undefined;
    const key = `${type}:${taskQueue}`;
    for (const d of this.byNamespace.get(namespace)?.values() ?? []) {
      const inCurrent = d.current !== undefined && d.versions.get(d.current)?.taskQueues.has(key);
      const inRamping = typeof d.ramping === 'string' && d.versions.get(d.ramping)?.taskQueues.has(key);
      const rampsUnversioned = d.ramping === null && d.current !== undefined && inCurrent;
      if (!inCurrent && !inRamping && !rampsUnversioned) continue;
      const changed = Math.max(d.currentChangedTime ?? 0, d.rampingPercentageChangedTime ?? 0);
      if (!best || changed > best.changed) best = { d, changed };
    }
    if (!best) return undefined;
    const d = best.d;
    const current = d.current !== undefined && d.versions.get(d.current)?.taskQueues.has(key) ? { deploymentName: d.name, buildId: d.current } : undefined;
    if (d.ramping === undefined) return current;
    const ramping = d.ramping === null ? undefined : d.versions.get(d.ramping)?.taskQueues.has(key) ? { deploymentName: d.name, buildId: d.ramping } : current;
    if (useRamping) return ramping;
    if (d.rampingPercentage <= 0) return current;
    if (d.rampingPercentage >= 100) return ramping;
    return rampThreshold(workflowId) <= d.rampingPercentage ? ramping : current;
  }

  // ---- the WorkflowService calls --------------------------------------------------------------------------------

  private deployment(namespace: string, name: string | undefined): DeploymentState {
    if (!name) throw invalidArgument('deployment name cannot be empty');
    const d = this.byNamespace.get(namespace)?.get(name);
    if (!d) throw deploymentNotFound(name);
    return d;
  }

  private versionStatus(namespace: string, d: DeploymentState, v: VersionState): string {
    if (d.current === v.buildId) return 'WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT';
    if (d.ramping === v.buildId) return 'WORKER_DEPLOYMENT_VERSION_STATUS_RAMPING';
    if (v.lastDeactivationTime === undefined) return 'WORKER_DEPLOYMENT_VERSION_STATUS_INACTIVE';
    return this.host.hasOpenPinned(namespace, { deploymentName: d.name, buildId: v.buildId }) ? 'WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING' : 'WORKER_DEPLOYMENT_VERSION_STATUS_DRAINED';
  }

  private drainage(statusName: string, v: VersionState): Message | undefined {
    if (!statusName.endsWith('DRAINING') && !statusName.endsWith('DRAINED')) return undefined;
    return {
      status: statusName.endsWith('DRAINING') ? 'VERSION_DRAINAGE_STATUS_DRAINING' : 'VERSION_DRAINAGE_STATUS_DRAINED',
      lastChangedTime: timestampFromMs(v.lastDeactivationTime ?? this.host.now()),
      lastCheckedTime: timestampFromMs(this.host.now()),
    };
  }

  private ts(ms: number | undefined): object | undefined {
    return ms === undefined ? undefined : timestampFromMs(ms);
  }

  private versionSummary(namespace: string, d: DeploymentState, v: VersionState): Message {
    const st = this.versionStatus(namespace, d, v);
    const drainage = this.drainage(st, v);
    return {
      version: versionString({ deploymentName: d.name, buildId: v.buildId }),
      deploymentVersion: { deploymentName: d.name, buildId: v.buildId },
      status: st,
      createTime: timestampFromMs(v.createTime),
      drainageStatus: drainage?.status,
      drainageInfo: drainage,
      currentSinceTime: this.ts(v.currentSinceTime),
      rampingSinceTime: this.ts(v.rampingSinceTime),
      routingUpdateTime: this.ts(v.routingChangedTime),
      firstActivationTime: this.ts(v.firstActivationTime),
      lastCurrentTime: this.ts(v.lastCurrentTime),
      lastDeactivationTime: this.ts(v.lastDeactivationTime),
    };
  }

  private routingConfig(d: DeploymentState): Message {
    const current = d.current !== undefined ? { deploymentName: d.name, buildId: d.current } : undefined;
    const ramping = typeof d.ramping === 'string' ? { deploymentName: d.name, buildId: d.ramping } : undefined;
    return {
      currentDeploymentVersion: current,
      currentVersion: versionString(current),
      rampingDeploymentVersion: ramping,
      rampingVersion: d.ramping === undefined ? '' : versionString(ramping),
      rampingVersionPercentage: d.rampingPercentage,
      currentVersionChangedTime: this.ts(d.currentChangedTime),
      rampingVersionChangedTime: this.ts(d.rampingChangedTime),
      rampingVersionPercentageChangedTime: this.ts(d.rampingPercentageChangedTime),
      revisionNumber: d.revision,
    };
  }

  private info(namespace: string, d: DeploymentState): Message {
    return {
      name: d.name,
      versionSummaries: [...d.versions.values()].map((v) => this.versionSummary(namespace, d, v)),
      createTime: timestampFromMs(d.createTime),
      routingConfig: this.routingConfig(d),
      lastModifierIdentity: d.lastModifierIdentity,
      managerIdentity: d.managerIdentity,
      // Routing changes apply at once here: no propagation to wait for.
      routingConfigUpdateState: 'ROUTING_CONFIG_UPDATE_STATE_COMPLETED',
    };
  }

  describeWorkerDeployment(namespace: string, req: Req & { deploymentName?: string }): object {
    const d = this.deployment(namespace, req.deploymentName);
    return { workerDeploymentInfo: this.info(namespace, d), conflictToken: d.conflictToken };
  }

  listWorkerDeployments(namespace: string, req: Req & { pageSize?: number; nextPageToken?: Buffer }): object {
    const all = [...(this.byNamespace.get(namespace)?.values() ?? [])].sort((a, b) => a.createTime - b.createTime || a.name.localeCompare(b.name));
    const size = req.pageSize && req.pageSize > 0 ? Math.min(req.pageSize, 1000) : 1000;
    const from = req.nextPageToken && req.nextPageToken.length > 0 ? Number(req.nextPageToken.toString()) || 0 : 0;
    const page = all.slice(from, from + size);
    const summary = (d: DeploymentState, buildId: string | null | undefined): Message | undefined => {
      const v = typeof buildId === 'string' ? d.versions.get(buildId) : undefined;
      return v ? this.versionSummary(namespace, d, v) : undefined;
    };
    return {
      workerDeployments: page.map((d) => {
        const latest = [...d.versions.values()].sort((a, b) => b.createTime - a.createTime)[0];
        return {
          name: d.name,
          createTime: timestampFromMs(d.createTime),
          routingConfig: this.routingConfig(d),
          latestVersionSummary: latest ? this.versionSummary(namespace, d, latest) : undefined,
          currentVersionSummary: summary(d, d.current),
          rampingVersionSummary: summary(d, d.ramping),
        };
      }),
      nextPageToken: from + size < all.length ? Buffer.from(String(from + size)) : undefined,
    };
  }

  /** The version a Set...Version request names (v31 string, or deployment name + build id), checked against the deployment. */
  private requestedVersion(req: { deploymentName?: string; version?: string; buildId?: string }, forRamp: boolean, percentage = 0): DeploymentVersion | undefined | 'unset' {
    if (!req.deploymentName) throw invalidArgument('deployment name cannot be empty');
    let s = req.version ?? '';
    if (!s) {
      if (req.buildId) s = versionString({ deploymentName: req.deploymentName, buildId: req.buildId });
      else if (!forRamp || percentage > 0) s = UNVERSIONED;
    }
    if (forRamp && (s === '' || (s === UNVERSIONED && percentage === 0 && !req.buildId))) return 'unset';
    const v = parseVersionString(s);
    if (v && v.deploymentName !== req.deploymentName) throw invalidArgument(`invalid version string '${s}' does not match deployment name '${req.deploymentName}'`);
    return v;
  }

  private checkWrite(d: DeploymentState, req: { conflictToken?: Buffer; identity?: string }): void {
    if (req.conflictToken && req.conflictToken.length > 0 && !req.conflictToken.equals(d.conflictToken)) throw failedPrecondition('conflict token mismatch');
    if (d.managerIdentity && d.managerIdentity !== (req.identity ?? '')) throw managerMismatch(d.managerIdentity, req.identity ?? '');
  }

  private versionFor(d: DeploymentState, v: DeploymentVersion, allowNoPollers: boolean | undefined): VersionState {
    let version = d.versions.get(v.buildId);
    if (!version) {
      if (!allowNoPollers) throw versionNotFound(v);
      version = { buildId: v.buildId, createTime: this.host.now(), taskQueues: new Map(), rampPercentage: 0, metadata: {} };
      d.versions.set(v.buildId, version);
    }
    return version;
  }

  /** allowNoPollers creates the deployment (and version) that no poller has made yet. */
  private deploymentForWrite(namespace: string, name: string, allowNoPollers: boolean | undefined): DeploymentState {
    const existing = this.byNamespace.get(namespace)?.get(name);
    if (existing) return existing;
    if (!allowNoPollers) throw deploymentNotFound(name);
    const now = this.host.now();
    const d: DeploymentState = { name, createTime: now, versions: new Map(), rampingPercentage: 0, revision: 0, conflictToken: Buffer.alloc(0), lastModifierIdentity: '', managerIdentity: '' };
    this.newToken(d);
    this.deployments(namespace).set(name, d);
    return d;
  }

  private activate(v: VersionState, now: number): void {
    v.routingChangedTime = now;
    v.firstActivationTime ??= now;
  }

  private deactivate(v: VersionState | undefined, now: number): void {
    if (!v) return;
    v.routingChangedTime = now;
    v.lastDeactivationTime = now;
  }

  setCurrentVersion(namespace: string, req: Req & { deploymentName?: string; version?: string; buildId?: string; conflictToken?: Buffer; ignoreMissingTaskQueues?: boolean; allowNoPollers?: boolean }): object {
    const target = this.requestedVersion(req, false);
    const v = target === 'unset' ? undefined : target;
    const d = this.deploymentForWrite(namespace, req.deploymentName as string, req.allowNoPollers);
    const identity = req.identity ?? '';
    const previous = d.current !== undefined ? { deploymentName: d.name, buildId: d.current } : undefined;
    if (sameVersion(previous, v) && d.lastModifierIdentity === identity) {
      return { conflictToken: d.conflictToken, previousVersion: versionString(v), previousDeploymentVersion: v };
    }
    this.checkWrite(d, req);
    const version = v ? this.versionFor(d, v, req.allowNoPollers) : undefined;
    const now = this.host.now();
    if (!sameVersion(previous, v)) {
      const prev = d.current !== undefined ? d.versions.get(d.current) : undefined;
      if (prev) {
        prev.currentSinceTime = undefined;
        prev.lastCurrentTime = now;
        this.deactivate(prev, now);
      }
      d.current = v?.buildId;
      d.currentChangedTime = now;
      if (version) {
        this.activate(version, now);
        version.currentSinceTime = now;
        version.lastDeactivationTime = undefined;
        if (d.ramping === version.buildId) {
          // Promoting the ramping version ends the ramp.
          version.rampingSinceTime = undefined;
          version.rampPercentage = 0;
          d.ramping = undefined;
          d.rampingPercentage = 0;
          d.rampingChangedTime = now;
          d.rampingPercentageChangedTime = now;
        }
      }
      d.revision++;
    }
    this.newToken(d);
    d.lastModifierIdentity = identity;
    this.host.routingChanged(namespace);
    return { conflictToken: d.conflictToken, previousVersion: versionString(previous), previousDeploymentVersion: previous };
  }

  setRampingVersion(namespace: string, req: Req & { deploymentName?: string; version?: string; buildId?: string; percentage?: number; conflictToken?: Buffer; ignoreMissingTaskQueues?: boolean; allowNoPollers?: boolean }): object {
    const percentage = req.percentage ?? 0;
    const target = this.requestedVersion(req, true, percentage);
    if (percentage < 0 || percentage > 100) throw invalidArgument('Percentage must be between 0 and 100 (inclusive)');
    const d = this.deploymentForWrite(namespace, req.deploymentName as string, req.allowNoPollers);
    const identity = req.identity ?? '';
    const previous = typeof d.ramping === 'string' ? { deploymentName: d.name, buildId: d.ramping } : undefined;
    const previousString = d.ramping === undefined ? '' : versionString(previous);
    const requestedString = target === 'unset' ? '' : versionString(target);
    const answer = (): object => ({ conflictToken: d.conflictToken, previousVersion: previousString, previousDeploymentVersion: previous, previousPercentage: d.rampingPercentage });
    const rampPercentage = target === 'unset' ? 0 : percentage;
    if (requestedString === previousString && rampPercentage === d.rampingPercentage && identity === d.lastModifierIdentity) return answer();
    this.checkWrite(d, req);
    if (target !== 'unset' && sameVersion(target, d.current !== undefined ? { deploymentName: d.name, buildId: d.current } : undefined)) {
      throw failedPrecondition(`requested ramping version ${requestedString} is already current`);
    }
    if (target === undefined && d.current === undefined) throw failedPrecondition(`requested ramping version ${UNVERSIONED} is already current`);
    const version = target !== 'unset' && target ? this.versionFor(d, target, req.allowNoPollers) : undefined;
    const result = answer();
    const now = this.host.now();
    if (requestedString !== previousString || rampPercentage !== d.rampingPercentage) {
      if (requestedString !== previousString) {
        const prev = typeof d.ramping === 'string' ? d.versions.get(d.ramping) : undefined;
        if (prev) {
          prev.rampingSinceTime = undefined;
          prev.rampPercentage = 0;
          this.deactivate(prev, now);
        }
        d.rampingChangedTime = now;
        if (version) {
          this.activate(version, now);
          version.rampingSinceTime = now;
          version.lastDeactivationTime = undefined;
        }
      }
      d.ramping = target === 'unset' ? undefined : target === undefined ? null : target.buildId;
      d.rampingPercentage = rampPercentage;
      d.rampingPercentageChangedTime = now;
      if (version) version.rampPercentage = rampPercentage;
      d.revision++;
    }
    this.newToken(d);
    d.lastModifierIdentity = identity;
    this.host.routingChanged(namespace);
    return { ...result, conflictToken: d.conflictToken };
  }

  private namedVersion(req: VersionReq): DeploymentVersion {
    const v = req.deploymentVersion?.deploymentName || req.deploymentVersion?.buildId ? req.deploymentVersion : req.version ? parseVersionString(req.version) : undefined;
    if (!v || !v.deploymentName || !v.buildId) throw invalidArgument('deployment version cannot be empty');
    return v;
  }

  private existingVersion(namespace: string, v: DeploymentVersion): { d: DeploymentState; version: VersionState } {
    const d = this.byNamespace.get(namespace)?.get(v.deploymentName);
    const version = d?.versions.get(v.buildId);
    if (!d || !version) throw versionNotFound(v);
    return { d, version };
  }

  describeWorkerDeploymentVersion(namespace: string, req: VersionReq & { reportTaskQueueStats?: boolean }): object {
    const v = this.namedVersion(req);
    const { d, version } = this.existingVersion(namespace, v);
    const st = this.versionStatus(namespace, d, version);
    const taskQueues = [...version.taskQueues.values()].map((tq) => ({ name: tq.name, type: tq.type }));
    return {
      workerDeploymentVersionInfo: {
        version: versionString(v),
        deploymentVersion: v,
        status: st,
        deploymentName: d.name,
        createTime: timestampFromMs(version.createTime),
        routingChangedTime: this.ts(version.routingChangedTime),
        currentSinceTime: this.ts(version.currentSinceTime),
        rampingSinceTime: this.ts(version.rampingSinceTime),
        firstActivationTime: this.ts(version.firstActivationTime),
        lastCurrentTime: this.ts(version.lastCurrentTime),
        lastDeactivationTime: this.ts(version.lastDeactivationTime),
        rampPercentage: version.rampPercentage,
        taskQueueInfos: taskQueues,
        drainageInfo: this.drainage(st, version),
        metadata: { entries: version.metadata },
        lastModifierIdentity: d.lastModifierIdentity,
      },
      versionTaskQueues: taskQueues,
    };
  }

  updateVersionMetadata(namespace: string, req: VersionReq & { upsertEntries?: Record<string, Message>; removeEntries?: string[] }): object {
    if ((!req.upsertEntries || Object.keys(req.upsertEntries).length === 0) && (!req.removeEntries || req.removeEntries.length === 0)) {
      throw invalidArgument('At least one of remove_entries or upsert_entries must be provided');
    }
    const { version } = this.existingVersion(namespace, this.namedVersion(req));
    Object.assign(version.metadata, req.upsertEntries ?? {});
    for (const k of req.removeEntries ?? []) delete version.metadata[k];
    return { metadata: { entries: version.metadata } };
  }

  deleteWorkerDeploymentVersion(namespace: string, req: VersionReq & { skipDrainage?: boolean }): object {
    const v = this.namedVersion(req);
    const d = this.byNamespace.get(namespace)?.get(v.deploymentName);
    const version = d?.versions.get(v.buildId);
    if (!d || !version) return {}; // already gone: deleting is idempotent
    const v32 = `${v.deploymentName}:${v.buildId}`;
    if (d.current === v.buildId || d.ramping === v.buildId) throw failedPrecondition(`version '${v32}' cannot be deleted since it is current or ramping`);
    if (d.managerIdentity && d.managerIdentity !== (req.identity ?? '')) throw managerMismatch(d.managerIdentity, req.identity ?? '');
    if (!req.skipDrainage && this.versionStatus(namespace, d, version) === 'WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING') {
      throw failedPrecondition(`version '${v32}' cannot be deleted since it is draining`);
    }
    const now = this.host.now();
    if ([...version.taskQueues.values()].some((tq) => now - tq.lastPollMs <= POLLER_MEMORY_MS)) throw failedPrecondition(`version '${v32}' cannot be deleted since it has active pollers`);
    d.versions.delete(v.buildId);
    this.newToken(d);
    d.lastModifierIdentity = req.identity ?? '';
    return {};
  }

  deleteWorkerDeployment(namespace: string, req: Req & { deploymentName?: string }): object {
    const d = this.byNamespace.get(namespace)?.get(req.deploymentName ?? '');
    if (!d) return {};
    if (d.versions.size > 0) throw failedPrecondition("deployment has versions, can't be deleted");
    this.byNamespace.get(namespace)?.delete(d.name);
    return {};
  }

  setManager(namespace: string, req: Req & { deploymentName?: string; managerIdentity?: string; self?: boolean; conflictToken?: Buffer }): object {
    if (!req.identity) throw invalidArgument('Identity is required');
    const d = this.deployment(namespace, req.deploymentName);
    const manager = req.self ? req.identity : (req.managerIdentity ?? '');
    const previous = d.managerIdentity;
    if (manager === previous) return { conflictToken: d.conflictToken, previousManagerIdentity: previous };
    if (req.conflictToken && req.conflictToken.length > 0 && !req.conflictToken.equals(d.conflictToken)) throw failedPrecondition('conflict token mismatch');
    d.managerIdentity = manager;
    this.newToken(d);
    d.lastModifierIdentity = req.identity;
    return { conflictToken: d.conflictToken, previousManagerIdentity: previous };
  }
}
