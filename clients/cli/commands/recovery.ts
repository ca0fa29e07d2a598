import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { AccessGrant, ProfileLookup, SeededDomain } from '../../../activities/recovery/activities';
import type { HomeDirectory, ProfileKey, ProfileStatus } from '../../../workflows/recovery/model';
import { UsageError } from '../usage-error';

/**
 * `mlops recovery ...`. Every command talks to Temporal only: reads are queries, admin changes are updates (durable,
 * validated, in the profile's history), and what needs AWS runs as a short workflow on the worker.
 */

function operator(): string {
  const os = require('node:os') as typeof import('node:os');
  return `${process.env.USER ?? os.userInfo().username}@${os.hostname()} (mlops cli)`;
}

async function model() {
  return await import('../../../workflows/recovery/model');
}

async function parseRef(ref: string): Promise<ProfileKey> {
  const parsed = (await model()).parseProfileRef(ref);
  if (typeof parsed === 'string') throw new UsageError(parsed);
  return parsed;
}

function describeKey(key: ProfileKey): string {
  return `${key.kind === 'space' ? 'space' : 'user profile'} ${key.name} in domain ${key.domainName}`;
}

/** Turns a workflow or update failure caused by an operator mistake into a UsageError (exit 2). */
async function asUsageError(err: unknown): Promise<never> {
  const { OPERATOR_MISTAKE_FAILURES } = await import('../../../workflows/recovery/failures');
  const { ApplicationFailure } = await import('@temporalio/common');
  let e: unknown = err;
  while (e instanceof Error && 'cause' in e && e.cause instanceof Error && !(e instanceof ApplicationFailure && e.type)) e = e.cause;
  if (e instanceof ApplicationFailure && e.type && (OPERATOR_MISTAKE_FAILURES as string[]).includes(e.type)) throw new UsageError(e.message);
  // "Workflow execution failed" says nothing: the root cause (with its failure type) is what an operator can act on.
  if (e !== err && e instanceof Error) throw new Error(e instanceof ApplicationFailure && e.type ? `${e.type}: ${e.message}` : e.message);
  throw err;
}

/**
 * Every recovery command needs a worker (queries and updates are answered by the profile workflows, AWS calls run
 * as activities): without one it would wait until its timeout. Fails at once instead, changing nothing.
 */
async function requireRecoveryWorker(client: Client): Promise<void> {
  const { RECOVERY_TASK_QUEUE } = await model();
  let pollers: unknown[];
  try {
    const r = await client.workflowService.describeTaskQueue({ namespace: client.options.namespace, taskQueue: { name: RECOVERY_TASK_QUEUE }, taskQueueType: 1 });
    pollers = r.pollers ?? [];
  } catch {
    return; // A service or key that does not allow the check: go on and let the command's own timeout speak.
  }
  if (pollers.length === 0) {
    throw new Error(`no worker is polling the task queue ${RECOVERY_TASK_QUEUE} (none in the last 5 minutes): start one with \`mlops worker\` (or \`mlops start\`), then try again; nothing was changed`);
  }
}

/** Runs one of the recovery workflows that need AWS, on the worker, and returns its result. */
async function runOnWorker<R>(client: Client, type: string, args: unknown[], timeout: Duration): Promise<R> {
  const { RECOVERY_TASK_QUEUE } = await model();
  try {
    return (await client.workflow.execute(type, {
      taskQueue: RECOVERY_TASK_QUEUE,
      workflowId: `recovery/cli/${type}/${Date.now()}-${process.pid}`,
      args,
      workflowExecutionTimeout: timeout,
    })) as R;
  } catch (err) {
    return await asUsageError(err);
  }
}

async function profileHandle(client: Client, key: ProfileKey) {
  const { profileWorkflowId } = await model();
  return client.workflow.getHandle(profileWorkflowId(key));
}

function notRecorded(key: ProfileKey): UsageError {
  return new UsageError(`unknown ${describeKey(key)}: recovery has no record of it (run \`mlops recovery seed\` to record existing profiles and spaces)`);
}

async function isNotFound(err: unknown): Promise<boolean> {
  const { WorkflowNotFoundError } = await import('@temporalio/client');
  return err instanceof WorkflowNotFoundError;
}

// --------------------------------------------------------------------------------------------------------------
// The operations, on a connected client: the commander actions below print them, tests call them directly.

export async function seed(client: Client): Promise<{ recorded: number; spaces: number; domains: SeededDomain[] }> {
  const r = await runOnWorker<{ domains: SeededDomain[] }>(client, 'seedRecovery', [], '30 minutes');
  const spaces = r.domains.reduce((n, d) => n + d.spaces, 0);
  return { recorded: r.domains.reduce((n, d) => n + d.userProfiles, 0) + spaces, spaces, domains: r.domains };
}

export async function status(client: Client, ref?: string): Promise<ProfileStatus[]> {
  const { statusQuery } = await import('../../../workflows/recovery/messages');
  if (ref) {
    const key = await parseRef(ref);
    try {
      return [await (await profileHandle(client, key)).query(statusQuery)];
    } catch (err) {
      if (await isNotFound(err)) throw notRecorded(key);
      throw err;
    }
  }
  const { profiles, failed } = await statusAll(client);
  if (failed.length > 0) throw new Error(`could not query ${failed.length} profile workflows: ${failed.map((f) => `${f.workflowId} (${f.error})`).join(', ')}`);
  return profiles;
}

export interface StatusOfAll {
  profiles: ProfileStatus[];
  /** Profile workflows whose query failed (the others are still reported). */
  failed: { workflowId: string; error: string }[];
}

/** Every profile's status, queried `concurrency` at a time; one that cannot be queried is reported, not fatal. */
export async function statusAll(client: Client, concurrency = 16): Promise<StatusOfAll> {
  const { statusQuery } = await import('../../../workflows/recovery/messages');
  const ids: string[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowType = 'profileRecovery' AND ExecutionStatus = 'Running'` })) ids.push(wf.workflowId);
  const profiles: ProfileStatus[] = [];
  const failed: StatusOfAll['failed'] = [];
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++]!;
      try {
        profiles.push(await client.workflow.getHandle(id).query(statusQuery));
      } catch (err) {
        failed.push({ workflowId: id, error: err instanceof Error ? err.message : String(err) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, ids.length)) }, worker));
  return { profiles: profiles.sort((a, b) => a.workflowId.localeCompare(b.workflowId)), failed: failed.sort((a, b) => a.workflowId.localeCompare(b.workflowId)) };
}

/** The DataSync slots semaphore: who holds a slot, who waits (first come, first served). */
export async function slots(client: Client): Promise<import('../../../workflows/recovery/slots').SlotsState | undefined> {
  const { DATASYNC_SLOTS_WORKFLOW_ID } = await model();
  const { slotsQuery } = await import('../../../workflows/recovery/messages');
  try {
    return await client.workflow.getHandle(DATASYNC_SLOTS_WORKFLOW_ID).query(slotsQuery);
  } catch (err) {
    if (await isNotFound(err)) return undefined;
    throw err;
  }
}

export interface RestoreRow {
  profile: string;
  restore: import('../../../workflows/recovery/model').RestoreRecord;
}

/** Restores across every profile in the given states (default: running, queued and failed), newest first. */
export async function restores(client: Client, states: string[] = ['running', 'queued', 'failed']): Promise<{ restores: RestoreRow[]; failed: StatusOfAll['failed'] }> {
  const { formatProfileRef } = await model();
  const all = await statusAll(client);
  const rows = all.profiles.flatMap((p) => p.restores.filter((r) => states.includes(r.status)).map((r) => ({ profile: formatProfileRef(p.key), restore: r })));
  rows.sort((a, b) => b.restore.requestedAt.localeCompare(a.restore.requestedAt));
  return { restores: rows, failed: all.failed };
}

export async function setReplication(client: Client, ref: string, enabled: boolean): Promise<{ profile: string; replication: boolean; changed: boolean }> {
  const { setReplicationUpdate } = await import('../../../workflows/recovery/messages');
  const key = await parseRef(ref);
  try {
    const r = await (await profileHandle(client, key)).executeUpdate(setReplicationUpdate, { args: [{ enabled, by: operator() }] });
    return { profile: ref, ...r };
  } catch (err) {
    if (await isNotFound(err)) throw notRecorded(key);
    throw err;
  }
}

export interface RetryOutcome {
  profile: string;
  retryOf: number;
  restoreId: number;
  restoreWorkflowId: string;
}

/** Runs a failed restore again (the most recent failed one, or `restoreId`), into the profile's current home. */
export async function retry(client: Client, ref: string, restoreId?: number): Promise<RetryOutcome> {
  const { restoreWorkflowId } = await model();
  const { retryRestoreUpdate } = await import('../../../workflows/recovery/messages');
  const { WorkflowUpdateFailedError } = await import('@temporalio/client');
  const key = await parseRef(ref);
  try {
    const r = await (await profileHandle(client, key)).executeUpdate(retryRestoreUpdate, { args: [{ ...(restoreId !== undefined ? { restoreId } : {}), by: operator() }] });
    return { profile: ref, retryOf: r.retryOf, restoreId: r.restoreId, restoreWorkflowId: restoreWorkflowId(key, r.restoreId) };
  } catch (err) {
    if (await isNotFound(err)) throw notRecorded(key);
    // The validator refused it: nothing was recorded.
    if (err instanceof WorkflowUpdateFailedError) throw new UsageError(`retry refused: ${err.cause?.message ?? err.message}`);
    throw err;
  }
}

export interface CancelOutcome {
  profile: string;
  restoreId: number;
  /** A running restore is stopped (its DataSync resources deleted) before it is recorded as cancelled. */
  wasRunning: boolean;
}

/** Cancels a waiting or running restore (the running one by default), recorded with who asked. */
export async function cancel(client: Client, ref: string, restoreId?: number): Promise<CancelOutcome> {
  const { cancelRestoreUpdate } = await import('../../../workflows/recovery/messages');
  const { WorkflowUpdateFailedError } = await import('@temporalio/client');
  const key = await parseRef(ref);
  try {
    const r = await (await profileHandle(client, key)).executeUpdate(cancelRestoreUpdate, { args: [{ ...(restoreId !== undefined ? { restoreId } : {}), by: operator() }] });
    return { profile: ref, ...r };
  } catch (err) {
    if (await isNotFound(err)) throw notRecorded(key);
    if (err instanceof WorkflowUpdateFailedError) throw new UsageError(`cancel refused: ${err.cause?.message ?? err.message}`);
    throw err;
  }
}

export interface CopyOutcome {
  from: string;
  to: string;
  sourceHome: HomeDirectory;
  pending: boolean;
  restoreId?: number;
  restoreWorkflowId?: string;
}

export async function copy(client: Client, fromRef: string, toRef: string): Promise<CopyOutcome> {
  const { profileWorkflowId, restoreWorkflowId, sameKey, RECOVERY_TASK_QUEUE } = await model();
  const { requestCopyUpdate, statusQuery } = await import('../../../workflows/recovery/messages');
  const source = await parseRef(fromRef);
  const target = await parseRef(toRef);
  if (sameKey(source, target)) throw new UsageError('--from and --to name the same profile');
  const [src, dst] = await runOnWorker<ProfileLookup[]>(client, 'lookupProfiles', [[source, target]], '5 minutes');
  if (!dst?.domain) throw new UsageError(`unknown domain ${target.domainName}: no live SageMaker domain has that name`);
  let from = src?.home;
  if (!from) {
    // A deleted source can still be copied from its last home, if recovery recorded one.
    const known = await (await profileHandle(client, source)).query(statusQuery).catch(async (err: unknown) => {
      if (await isNotFound(err)) return undefined;
      throw err;
    });
    from = known?.currentHome;
    if (!from) {
      throw new UsageError(src?.domain ? `unknown ${describeKey(source)}` : `unknown domain ${source.domainName}: no live SageMaker domain has that name`);
    }
  }
  const sourceHome: HomeDirectory = { domainId: from.domainId, efsId: from.efsId, homeUid: from.homeUid };
  const handle = await client.workflow.start('profileRecovery', {
    taskQueue: RECOVERY_TASK_QUEUE,
    workflowId: profileWorkflowId(target),
    args: [{ key: target }],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  const { WorkflowUpdateFailedError } = await import('@temporalio/client');
  try {
    const r = await handle.executeUpdate(requestCopyUpdate, { args: [{ source, from: sourceHome, ...(dst.home ? { targetHome: dst.home } : {}), by: operator() }] });
    return {
      from: fromRef,
      to: toRef,
      sourceHome,
      pending: r.pending,
      ...(r.restoreId !== undefined ? { restoreId: r.restoreId, restoreWorkflowId: restoreWorkflowId(target, r.restoreId) } : {}),
    };
  } catch (err) {
    // The validator refused it: nothing was recorded.
    if (err instanceof WorkflowUpdateFailedError) throw new UsageError(`copy refused: ${err.cause?.message ?? err.message}`);
    throw err;
  }
}

function checkAccessIds(efsId: string, securityGroupId: string): void {
  if (!/^fs-[0-9a-f]{8,40}$/.test(efsId)) throw new UsageError(`--efs-id ${efsId} is not an EFS file system id (fs-0123456789abcdef0)`);
  if (!/^sg-[0-9a-f]{8,17}$/.test(securityGroupId)) throw new UsageError(`--security-group ${securityGroupId} is not a security group id (sg-0123456789abcdef0)`);
}

export async function grantAccess(client: Client, efsId: string, securityGroupId: string): Promise<AccessGrant> {
  checkAccessIds(efsId, securityGroupId);
  return await runOnWorker<AccessGrant>(client, 'grantEfsAccess', [efsId, securityGroupId], '5 minutes');
}

// --------------------------------------------------------------------------------------------------------------
// Text output.

function formatStatusTable(rows: ProfileStatus[]): string {
  if (rows.length === 0) return 'no profile or space recorded yet (run `mlops recovery seed`)';
  const { formatProfileRef } = require('../../../workflows/recovery/model') as typeof import('../../../workflows/recovery/model');
  const header = ['PROFILE', 'REPLICATION', 'HOME', 'RESTORES', 'LAST RESTORE'];
  const lines = rows.map((s) => {
    const last = s.lastRestore;
    const lastText = last
      ? `#${last.id} ${last.status}${last.figures ? ` ${last.figures.filesTransferred} files ${last.figures.bytesWritten} B` : ''}${last.error ? ` (${last.error})` : ''}${last.endedAt ? ` ${last.endedAt}` : ''}`
      : '-';
    return [formatProfileRef(s.key), s.replication ? 'on' : 'off', s.currentHome ? `${s.currentHome.efsId}/${s.currentHome.homeUid}` : '-', String(s.restoresEver), lastText];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [header, ...lines].map((l) => l.map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

function formatFailed(failed: StatusOfAll['failed']): string {
  return failed.length === 0 ? '' : `\n\ncould not query ${failed.length}:\n${failed.map((f) => `  ${f.workflowId}: ${f.error}`).join('\n')}`;
}

function formatOne(s: ProfileStatus): string {
  const { formatProfileRef } = require('../../../workflows/recovery/model') as typeof import('../../../workflows/recovery/model');
  const lines = [
    `${formatProfileRef(s.key)}  (workflow ${s.workflowId})`,
    `  replication: ${s.replication ? 'on' : 'off'}`,
    `  homes (oldest first):`,
    ...s.homes.map((h) => `    ${h.efsId}/${h.homeUid}  domain ${h.domainId}  ${h.source} ${h.seenAt}`),
    `  pending copies: ${s.pendingCopies.length === 0 ? 'none' : s.pendingCopies.map((p) => `from ${formatProfileRef(p.source)}`).join(', ')}`,
    `  restores:`,
    ...(s.restores.length === 0 ? ['    none'] : []),
    ...s.restores.map(
      (r) =>
        `    #${r.id} ${r.reason}${r.retryOf !== undefined ? ` (retry of #${r.retryOf})` : ''} ${r.status}  ${r.from.efsId}/${r.from.homeUid} -> ${r.to.efsId}/${r.to.homeUid}` +
        (r.figures ? `  ${r.figures.filesTransferred} files, ${r.figures.bytesWritten} bytes, ${Math.round(r.figures.durationMs / 1000)} s` : '') +
        (r.error ? `  error: ${r.error}` : ''),
    ),
  ];
  return lines.join('\n');
}

// --------------------------------------------------------------------------------------------------------------
// Commander wiring.

async function withRecoveryClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const { withClient } = await import('../temporal-client');
  return await withClient(async (client) => {
    await requireRecoveryWorker(client);
    return await fn(client);
  });
}

function restoreIdOption(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new UsageError(`--restore takes a restore number such as 3 (see \`mlops recovery status\`), got "${value}"`);
  return Number(value);
}

export function registerRecovery(program: Command): void {
  const recovery = program.command('recovery').summary('Studio home-directory recovery and its admin').description('profile recovery: Studio home directories survive profile and domain recreation');
  const json = (c: Command) => c.option('--json', 'print the result as JSON');
  const { printResult } = require('../output') as typeof import('../output');

  json(recovery.command('seed').description('record the current home of every profile and space in every domain of the region (copies nothing)')).action(
    async (opts: { json?: boolean }) => {
      const r = await withRecoveryClient((c) => seed(c));
      printResult(Boolean(opts.json), r, () => `recorded ${r.recorded} home directories (${r.spaces} of spaces) in ${r.domains.length} domains`);
    },
  );

  json(recovery.command('status').description('one profile in detail, or a table of all with their last restore').argument('[profile]', 'DOMAIN/PROFILE or DOMAIN/space:SPACE')).action(
    async (ref: string | undefined, opts: { json?: boolean }) => {
      if (ref) {
        await parseRef(ref);
        const rows = await withRecoveryClient((c) => status(c, ref));
        printResult(Boolean(opts.json), rows[0], () => formatOne(rows[0]!));
        return;
      }
      const all = await withRecoveryClient((c) => statusAll(c));
      // stdout keeps its shape (the table, or the JSON array of profiles); the ones that could not be queried go to stderr.
      printResult(Boolean(opts.json), all.profiles, () => formatStatusTable(all.profiles));
      for (const f of all.failed) process.stderr.write(`mlops: could not query ${f.workflowId}: ${f.error}\n`);
      if (all.failed.length > 0) process.exitCode = 1;
    },
  );

  json(recovery.command('slots').description('the DataSync slots: who holds one (and since when), who waits')).action(async (opts: { json?: boolean }) => {
    const s = await withRecoveryClient((c) => slots(c));
    printResult(Boolean(opts.json), s ?? { capacity: 0, holders: [], waiting: [] }, () =>
      !s
        ? 'no restore has asked for a DataSync slot yet'
        : [
            `${s.holders.length} of ${s.capacity} slots held, ${s.waiting.length} waiting (granted ever ${s.grantedEver}, reclaimed ${s.reclaimedEver})`,
            ...s.holders.map((h) => `  holds  ${h.holder}  since ${h.since}`),
            ...s.waiting.map((h, i) => `  waits  ${h.holder}  since ${h.since}  (#${i + 1} in line)`),
          ].join('\n'),
    );
  });

  json(
    recovery
      .command('restores')
      .description('restores across every profile: running, queued and failed ones by default, newest first')
      .option('--status <states>', 'comma-separated: queued,running,succeeded,failed,cancelled', 'running,queued,failed'),
  ).action(async (opts: { status: string; json?: boolean }) => {
    const states = opts.status.split(',').map((x) => x.trim());
    const bad = states.filter((x) => !['queued', 'running', 'succeeded', 'failed', 'cancelled'].includes(x));
    if (bad.length > 0) throw new UsageError(`--status takes queued, running, succeeded, failed, cancelled; got ${bad.join(', ')}`);
    const r = await withRecoveryClient((c) => restores(c, states));
    printResult(Boolean(opts.json), r, () =>
      (r.restores.length === 0 ? `no ${states.join('/')} restore` : r.restores.map(({ profile, restore: x }) => `${profile}  #${x.id} ${x.reason} ${x.status}  requested ${x.requestedAt}${x.error ? `  error: ${x.error}` : ''}`).join('\n')) +
      formatFailed(r.failed),
    );
    if (r.failed.length > 0) process.exitCode = 1;
  });

  for (const [name, enabled] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    json(
      recovery
        .command(name)
        .description(`${enabled ? 'turn on' : 'turn off'} automatic restores for one profile or space`)
        .argument('<profile>', 'DOMAIN/PROFILE or DOMAIN/space:SPACE'),
    ).action(async (ref: string, opts: { json?: boolean }) => {
      await parseRef(ref);
      const r = await withRecoveryClient((c) => setReplication(c, ref, enabled));
      printResult(Boolean(opts.json), r, () => `${ref}: replication ${r.replication ? 'on' : 'off'}${r.changed ? '' : ' (unchanged)'}`);
    });
  }

  json(
    recovery
      .command('copy')
      .description("copy one profile's home into another's, now, or when the target is created")
      .requiredOption('--from <profile>', 'DOMAIN/PROFILE or DOMAIN/space:SPACE to copy from')
      .requiredOption('--to <profile>', 'DOMAIN/PROFILE or DOMAIN/space:SPACE to copy into (may not exist yet)'),
  ).action(async (opts: { from: string; to: string; json?: boolean }) => {
    await parseRef(opts.from);
    await parseRef(opts.to);
    const r = await withRecoveryClient((c) => copy(c, opts.from, opts.to));
    printResult(Boolean(opts.json), r, () =>
      r.pending ? `${opts.to} does not exist yet: the copy from ${opts.from} runs when it is created` : `copying ${opts.from} into ${opts.to}: restore #${r.restoreId} (${r.restoreWorkflowId})`,
    );
  });

  json(
    recovery
      .command('retry')
      .description('run a failed (or gave-up, or cancelled) restore again, from the same home into the profile\'s current one')
      .argument('<profile>', 'DOMAIN/PROFILE or DOMAIN/space:SPACE')
      .option('--restore <id>', 'the failed restore to run again (default: the most recent failed one)', restoreIdOption),
  ).action(async (ref: string, opts: { restore?: number; json?: boolean }) => {
    await parseRef(ref);
    const r = await withRecoveryClient((c) => retry(c, ref, opts.restore));
    printResult(Boolean(opts.json), r, () => `${ref}: restore #${r.retryOf} runs again as #${r.restoreId} (${r.restoreWorkflowId})`);
  });

  json(
    recovery
      .command('cancel')
      .description('cancel a restore that waits (for a home never opened, for a DataSync slot) or runs; what it created in DataSync is deleted')
      .argument('<profile>', 'DOMAIN/PROFILE or DOMAIN/space:SPACE')
      .option('--restore <id>', 'the restore to cancel (default: the running one, else the oldest queued one)', restoreIdOption),
  ).action(async (ref: string, opts: { restore?: number; json?: boolean }) => {
    await parseRef(ref);
    const r = await withRecoveryClient((c) => cancel(c, ref, opts.restore));
    printResult(Boolean(opts.json), r, () => `${ref}: restore #${r.restoreId} ${r.wasRunning ? 'is being cancelled (its DataSync resources are deleted first)' : 'cancelled'}`);
  });

  json(
    recovery
      .command('grant-access')
      .description("allow NFS (TCP 2049) from DataSync's security group on an EFS file system's mount targets")
      .requiredOption('--efs-id <id>', 'the EFS file system id (fs-...)')
      .requiredOption('--security-group <id>', "DataSync's security group id (sg-...)"),
  ).action(async (opts: { efsId: string; securityGroup: string; json?: boolean }) => {
    checkAccessIds(opts.efsId, opts.securityGroup);
    const r = await withRecoveryClient((c) => grantAccess(c, opts.efsId, opts.securityGroup));
    printResult(
      Boolean(opts.json),
      r,
      () => `${r.efsId}: ${r.mountTargets} mount targets, ${r.rulesAdded} rules added, ${r.rulesAlreadyPresent} already present`,
    );
  });

  for (const c of recovery.commands) c.exitOverride();
  recovery.exitOverride();
}
