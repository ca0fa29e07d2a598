/**
 * Profile recovery's durable state and the decisions taken on it, as pure functions: the workflows call them,
 * the unit tests pin them without a server. Nothing here may touch the clock, randomness or I/O.
 */

export const RECOVERY_TASK_QUEUE = 'mlops-recovery';

export type ProfileKind = 'user-profile' | 'space';

/** A profile or space by what survives recreation: the domain's name and its own name. */
export interface ProfileKey {
  domainName: string;
  kind: ProfileKind;
  name: string;
}

/** One home directory: a folder named by the profile's HomeEfsFileSystemUid on the domain's EFS volume. */
export interface HomeDirectory {
  domainId: string;
  efsId: string;
  homeUid: string;
}

export interface SeenHome extends HomeDirectory {
  /** ISO time the home was created or first seen. */
  seenAt: string;
  source: 'cloudtrail' | 'seed' | 'lookup';
}

/** A home directory reported to the profile's workflow (CloudTrail creation event, seed, or operator lookup). */
export interface HomeReport extends HomeDirectory {
  /** De-duplication key: the CloudTrail eventID, or a deterministic id for seeds. */
  eventId: string;
  /** ISO time of the event. */
  at: string;
  source: SeenHome['source'];
}

export type RestoreStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface RestoreFigures {
  bytesWritten: number;
  filesTransferred: number;
  /** Duration of the DataSync execution as DataSync reports it. */
  transferDurationMs: number;
  /** From the restore's start (including the wait for the home directory and for a DataSync slot) to its end. */
  durationMs: number;
  taskExecutionArn: string;
}

export interface RestoreRecord {
  /** 1, 2, 3... per profile, for ever (carried across continue-as-new). */
  id: number;
  workflowId: string;
  reason: 'recreated' | 'copy';
  source: ProfileKey;
  /** Set on a restore an operator asked to run again: the id of the failed one. */
  retryOf?: number;
  from: HomeDirectory;
  to: HomeDirectory;
  status: RestoreStatus;
  requestedAt: string;
  startedAt?: string;
  endedAt?: string;
  figures?: RestoreFigures;
  error?: string;
}

export interface PendingCopy {
  source: ProfileKey;
  from: HomeDirectory;
  requestedAt: string;
  requestedBy: string;
}

export interface AuditEntry {
  at: string;
  by: string;
  action: 'enable' | 'disable' | 'copy-requested' | 'copy-pending' | 'retry-requested' | 'cancel-requested';
  detail?: string;
}

export interface ProfileState {
  key: ProfileKey;
  replication: boolean;
  /** Oldest first. */
  homes: SeenHome[];
  /** Copies into this profile that wait for it to exist. */
  pendingCopies: PendingCopy[];
  /** Oldest first; the most recent MAX_RESTORES_KEPT. */
  restores: RestoreRecord[];
  restoresEver: number;
  /** The most recent MAX_EVENT_IDS_KEPT event ids, for de-duplication. */
  seenEventIds: string[];
  audit: AuditEntry[];
}

const MAX_HOMES_KEPT = 50;
const MAX_RESTORES_KEPT = 50;
const MAX_EVENT_IDS_KEPT = 500;
const MAX_AUDIT_KEPT = 200;

const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

export function isValidName(name: string): boolean {
  return NAME.test(name);
}

export function profileWorkflowId(key: ProfileKey): string {
  return `recovery/${key.domainName}/${key.kind}/${key.name}`;
}

export function restoreWorkflowId(key: ProfileKey, restoreId: number): string {
  return `${profileWorkflowId(key)}/restore/${restoreId}`;
}

export function intakeWorkflowId(eventId: string): string {
  return `recovery/event/${eventId}`;
}

/**
 * One per DataSync execution that ended (`arn:...:task/task-X/execution/exec-Y` -> `recovery/transfer/task-X/exec-Y`):
 * the same end reported twice (EventBridge delivers at least once) is refused by Temporal.
 */
export function transferIntakeWorkflowId(taskExecutionArn: string): string {
  const m = /:task\/(task-[0-9a-z]+)\/execution\/(exec-[0-9a-z]+)$/.exec(taskExecutionArn);
  if (!m) throw new TypeError(`not a DataSync task execution ARN: ${taskExecutionArn}`);
  return `recovery/transfer/${m[1]}/${m[2]}`;
}

export const DATASYNC_SLOTS_WORKFLOW_ID = 'recovery/datasync-slots';

/**
 * How long a restore waits for its new home to be opened (an app InService) before it gives up, recorded as failed
 * ("gave up waiting"), so later copies and retries for the profile are not held behind it for ever. `mlops recovery
 * retry` waits again; `mlops recovery cancel` ends the wait sooner.
 */
export const DEFAULT_HOME_WAIT = '30 days';

/** `DOMAIN/PROFILE` names a user profile, `DOMAIN/space:SPACE` a space. */
export function formatProfileRef(key: ProfileKey): string {
  return `${key.domainName}/${key.kind === 'space' ? 'space:' : ''}${key.name}`;
}

export function parseProfileRef(ref: string): ProfileKey | string {
  const m = /^([^/]+)\/(space:)?([^/]+)$/.exec(ref.trim());
  if (!m) return `"${ref}" is not DOMAIN/PROFILE or DOMAIN/space:SPACE`;
  const [, domainName, space, name] = m as unknown as [string, string, string | undefined, string];
  if (!isValidName(domainName)) return `"${domainName}" is not a SageMaker domain name`;
  if (!isValidName(name)) return `"${name}" is not a SageMaker ${space ? 'space' : 'user profile'} name`;
  return { domainName, kind: space ? 'space' : 'user-profile', name };
}

export function sameHome(a: HomeDirectory | undefined, b: HomeDirectory | undefined): boolean {
  return a !== undefined && b !== undefined && a.domainId === b.domainId && a.efsId === b.efsId && a.homeUid === b.homeUid;
}

export function sameKey(a: ProfileKey, b: ProfileKey): boolean {
  return a.domainName === b.domainName && a.kind === b.kind && a.name === b.name;
}

export function initialState(key: ProfileKey): ProfileState {
  return { key, replication: true, homes: [], pendingCopies: [], restores: [], restoresEver: 0, seenEventIds: [], audit: [] };
}

export function currentHome(state: ProfileState): SeenHome | undefined {
  return state.homes[state.homes.length - 1];
}

function home(h: HomeDirectory): HomeDirectory {
  return { domainId: h.domainId, efsId: h.efsId, homeUid: h.homeUid };
}

function keepLast<T>(items: T[], n: number): T[] {
  return items.length > n ? items.slice(items.length - n) : items;
}

function queueRestore(state: ProfileState, r: Omit<RestoreRecord, 'id' | 'workflowId' | 'status'>): ProfileState {
  const id = state.restoresEver + 1;
  const record: RestoreRecord = { ...r, id, workflowId: restoreWorkflowId(state.key, id), status: 'queued' };
  return { ...state, restoresEver: id, restores: keepLast([...state.restores, record], MAX_RESTORES_KEPT) };
}

/**
 * Where the files of `previous` really are, newest first. A recreation restore into it that succeeded means they are
 * there. One that never started (superseded while queued) means nobody worked there: follow it back to its source.
 * One that started but did not succeed (still running, or failed) means the old files may be missing while the user
 * may have worked there since: copy from it and from its source, newest first, so that with OverwriteMode NEVER the
 * user's newer versions win.
 */
export function restoreSources(state: ProfileState, previous: HomeDirectory): HomeDirectory[] {
  const sources: HomeDirectory[] = [];
  let source: HomeDirectory = previous;
  for (let guard = 0; guard <= state.restores.length; guard++) {
    const into = [...state.restores].reverse().find((r) => r.reason === 'recreated' && sameHome(r.to, source));
    if (!into || into.status === 'succeeded' || sources.some((s) => sameHome(s, into.from))) break;
    if (into.startedAt !== undefined) sources.push(source);
    source = into.from;
  }
  sources.push(source);
  return sources;
}

export type HomeReportOutcome = 'duplicate-event' | 'known-home' | 'recorded' | 'restore-queued';

/**
 * A home directory was reported. A new one is recorded; if an older one exists and replication is on, and the report
 * is a creation (not a seed), a restore from the previous home is queued; copies waiting for this profile are queued.
 */
export function reportHome(state: ProfileState, report: HomeReport): { state: ProfileState; outcome: HomeReportOutcome } {
  if (state.seenEventIds.includes(report.eventId)) return { state, outcome: 'duplicate-event' };
  let next: ProfileState = { ...state, seenEventIds: keepLast([...state.seenEventIds, report.eventId], MAX_EVENT_IDS_KEPT) };
  const latest = currentHome(state);
  // An operator's copy or a seed may find a recreated profile's home before its CloudTrail event arrives: that event
  // is still the creation, and what a creation decides (restore the old home, bring the waiting copies) is still to do.
  const creationOfLookedUp = latest !== undefined && latest.source !== 'cloudtrail' && report.source === 'cloudtrail' && sameHome(latest, report);
  if (!creationOfLookedUp && state.homes.some((h) => sameHome(h, report))) return { state: next, outcome: 'known-home' };
  const earlier = creationOfLookedUp ? state.homes.slice(0, -1) : state.homes;
  const previous = earlier[earlier.length - 1];
  const seen: SeenHome = { ...home(report), seenAt: report.at, source: report.source };
  next = { ...next, homes: keepLast([...earlier, seen], MAX_HOMES_KEPT) };
  let queued = false;
  // Restores still queued into the replaced home: a recreation one is pointless now (a new one follows), a copy the
  // operator asked for goes to the new home instead.
  next = {
    ...next,
    restores: next.restores.map((r): RestoreRecord => {
      if (r.status !== 'queued') return r;
      if (r.reason === 'copy') return { ...r, to: home(seen) };
      return { ...r, status: 'failed', endedAt: report.at, error: 'superseded: the profile was created again before this restore started' };
    }),
  };
  if (previous && state.replication && report.source === 'cloudtrail') {
    for (const from of restoreSources(next, previous)) {
      next = queueRestore(next, { reason: 'recreated', source: state.key, from: home(from), to: home(seen), requestedAt: report.at });
    }
    queued = true;
  }
  for (const copy of state.pendingCopies) {
    next = queueRestore(next, { reason: 'copy', source: copy.source, from: copy.from, to: home(seen), requestedAt: copy.requestedAt });
    queued = true;
  }
  next = { ...next, pendingCopies: [] };
  return { state: next, outcome: queued ? 'restore-queued' : 'recorded' };
}

export interface ReplicationChange {
  enabled: boolean;
  by: string;
}

export function setReplication(state: ProfileState, change: ReplicationChange, now: string): ProfileState {
  const entry: AuditEntry = { at: now, by: change.by, action: change.enabled ? 'enable' : 'disable' };
  return { ...state, replication: change.enabled, audit: keepLast([...state.audit, entry], MAX_AUDIT_KEPT) };
}

export interface CopyRequest {
  source: ProfileKey;
  /** The source's home to copy from. */
  from: HomeDirectory;
  /** The target's current home if the operator's lookup found one in AWS; undefined if it does not exist yet. */
  targetHome?: HomeDirectory;
  by: string;
}

/** Why a copy request must be refused, or undefined when it is acceptable (the update's validator). */
export function copyRequestProblem(state: ProfileState, req: CopyRequest): string | undefined {
  const target = req.targetHome ?? currentHome(state);
  if (target && sameHome(target, req.from)) return 'the source and the target are the same home directory';
  if (state.pendingCopies.some((p) => sameHome(p.from, req.from))) return 'the same copy is already waiting for this profile to be created';
  return undefined;
}

/** Queues the copy when the target has a home (now), else keeps it until the target is created. */
export function requestCopy(state: ProfileState, req: CopyRequest, now: string): { state: ProfileState; restoreId?: number } {
  let next = state;
  if (req.targetHome && !state.homes.some((h) => sameHome(h, req.targetHome))) {
    next = { ...next, homes: keepLast([...next.homes, { ...home(req.targetHome), seenAt: now, source: 'lookup' }], MAX_HOMES_KEPT) };
  }
  const target = req.targetHome ?? currentHome(next);
  const detail = `from ${formatProfileRef(req.source)} (${req.from.efsId}/${req.from.homeUid})`;
  if (!target) {
    const pending: PendingCopy = { source: req.source, from: home(req.from), requestedAt: now, requestedBy: req.by };
    return {
      state: { ...next, pendingCopies: [...next.pendingCopies, pending], audit: keepLast([...next.audit, { at: now, by: req.by, action: 'copy-pending', detail }], MAX_AUDIT_KEPT) },
    };
  }
  next = queueRestore(next, { reason: 'copy', source: req.source, from: home(req.from), to: home(target), requestedAt: now });
  next = { ...next, audit: keepLast([...next.audit, { at: now, by: req.by, action: 'copy-requested', detail }], MAX_AUDIT_KEPT) };
  return { state: next, restoreId: next.restoresEver };
}

export interface RetryRequest {
  /** The failed restore to run again; when absent, the most recent failed one no retry has succeeded for. */
  restoreId?: number;
  by: string;
}

/** Failed (including "gave up waiting") or cancelled by an operator: what `retry` may run again. */
const ended = (r: RestoreRecord) => r.status === 'failed' || r.status === 'cancelled';

function restoreToRetry(state: ProfileState, req: RetryRequest): RestoreRecord | undefined {
  if (req.restoreId !== undefined) return state.restores.find((r) => r.id === req.restoreId);
  // The most recent failure that no retry has taken care of (or is taking care of).
  const retried = (r: RestoreRecord) => state.restores.some((x) => x.retryOf === r.id && !ended(x));
  return [...state.restores].reverse().find((r) => ended(r) && !retried(r));
}

/** Why a retry must be refused, or undefined when it is acceptable (the update's validator). */
export function retryRequestProblem(state: ProfileState, req: RetryRequest): string | undefined {
  const failed = restoreToRetry(state, req);
  if (!failed) return req.restoreId !== undefined ? `no restore #${req.restoreId} is recorded (the last ${MAX_RESTORES_KEPT} are kept)` : 'no failed restore to retry';
  if (!ended(failed)) return `restore #${failed.id} is ${failed.status}: only a failed or cancelled restore is run again`;
  const to = currentHome(state);
  if (!to) return 'the profile has no home directory yet';
  if (sameHome(failed.from, to)) return `restore #${failed.id} copied from the current home directory: nothing to copy`;
  const live = state.restores.find((r) => (r.status === 'queued' || r.status === 'running') && sameHome(r.from, failed.from) && sameHome(r.to, to));
  if (live) return `restore #${live.id} already copies the same home directory (${live.status})`;
  return undefined;
}

/** Queues the failed restore again, from the same home into the profile's current home. */
export function retryRestore(state: ProfileState, req: RetryRequest, now: string): { state: ProfileState; restoreId: number; retryOf: number } {
  const failed = restoreToRetry(state, req)!;
  const to = home(currentHome(state)!);
  let next = queueRestore(state, { reason: failed.reason, source: failed.source, from: home(failed.from), to, requestedAt: now, retryOf: failed.id });
  next = { ...next, audit: keepLast([...next.audit, { at: now, by: req.by, action: 'retry-requested', detail: `#${failed.id} as #${next.restoresEver}` }], MAX_AUDIT_KEPT) };
  return { state: next, restoreId: next.restoresEver, retryOf: failed.id };
}

export interface CancelRequest {
  /** The restore to cancel; when absent, the running one, else the oldest queued one. */
  restoreId?: number;
  by: string;
}

function restoreToCancel(state: ProfileState, req: CancelRequest): RestoreRecord | undefined {
  if (req.restoreId !== undefined) return state.restores.find((r) => r.id === req.restoreId);
  return state.restores.find((r) => r.status === 'running') ?? state.restores.find((r) => r.status === 'queued');
}

/** Why a cancel must be refused, or undefined when it is acceptable (the update's validator). */
export function cancelRequestProblem(state: ProfileState, req: CancelRequest): string | undefined {
  const r = restoreToCancel(state, req);
  if (!r) return req.restoreId !== undefined ? `no restore #${req.restoreId} is recorded (the last ${MAX_RESTORES_KEPT} are kept)` : 'no running or queued restore to cancel';
  if (r.status !== 'running' && r.status !== 'queued') return `restore #${r.id} is ${r.status}: only a running or queued restore can be cancelled`;
  return undefined;
}

/**
 * Records the operator's cancel. A queued restore is cancelled here; a running one is marked for the workflow to
 * cancel its child (`running: true`), and is recorded as cancelled once the child has cleaned up.
 */
export function cancelRestore(state: ProfileState, req: CancelRequest, now: string): { state: ProfileState; restoreId: number; running: boolean } {
  const r = restoreToCancel(state, req)!;
  let next: ProfileState = { ...state, audit: keepLast([...state.audit, { at: now, by: req.by, action: 'cancel-requested', detail: `#${r.id} (${r.status})` }], MAX_AUDIT_KEPT) };
  if (r.status === 'queued') next = updateRestore(next, r.id, { status: 'cancelled', endedAt: now, error: `cancelled by ${req.by} before it started` });
  return { state: next, restoreId: r.id, running: r.status === 'running' };
}

export function nextQueuedRestore(state: ProfileState): RestoreRecord | undefined {
  return state.restores.find((r) => r.status === 'queued');
}

export function updateRestore(state: ProfileState, id: number, change: Partial<RestoreRecord>): ProfileState {
  return { ...state, restores: state.restores.map((r) => (r.id === id ? { ...r, ...change } : r)) };
}

/** What `status` shows: the state plus the two things an operator asks first. */
export interface ProfileStatus extends ProfileState {
  workflowId: string;
  currentHome?: SeenHome;
  lastRestore?: RestoreRecord;
}

export function profileStatus(state: ProfileState): ProfileStatus {
  return { ...state, workflowId: profileWorkflowId(state.key), currentHome: currentHome(state), lastRestore: state.restores[state.restores.length - 1] };
}
