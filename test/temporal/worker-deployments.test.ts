/**
 * Worker deployment versioning as the real server does it, through the official SDK: versioned workers register
 * their deployment version by polling, the deployment calls describe and change routing (current, ramping, conflict
 * tokens, no-change answers, the server's refusals), and workflow tasks go to the version a run is routed to
 * (pinned runs stay, auto-upgrade runs move, pinned overrides, continue-as-new onto a new current version).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status as grpcStatus } from '@grpc/grpc-js';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { startTemporalServer, type TemporalServer } from '../../local/temporal';
import { quietRuntime, uniqueId } from './helpers';
import { buildIdQuery, proceedSignal } from './workflows/versioning';

const { VersioningBehavior, WorkerDeploymentVersionStatus } = temporal.api.enums.v1;
const NS = 'default';

let server: TemporalServer;
let connection: Connection;
let client: Client;
let workflowBundle: WorkflowBundleWithSourceMap;
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  quietRuntime();
  server = await startTemporalServer({ port: 0 });
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection, namespace: NS });
  workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./workflows/versioning.ts'), logger: new DefaultLogger('WARN') });
}, 60_000);

afterAll(async () => {
  await Promise.all(stops.map((s) => s()));
  await connection?.close();
  await server?.close();
});

/** A versioned worker of `deploymentName` build `buildId` on `taskQueue` (its own connection, as separate processes). */
async function versionedWorker(taskQueue: string, deploymentName: string, buildId: string, defaultVersioningBehavior: 'PINNED' | 'AUTO_UPGRADE' = 'PINNED'): Promise<() => Promise<void>> {
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: NS,
    taskQueue,
    workflowBundle,
    workerDeploymentOptions: { useWorkerVersioning: true, version: { deploymentName, buildId }, defaultVersioningBehavior },
    shutdownGraceTime: '1s',
  });
  const running = worker.run();
  const stop = async (): Promise<void> => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
    await nativeConnection.close();
  };
  stops.push(stop);
  return stop;
}

const svc = () => client.workflowService;

/** Polls DescribeWorkerDeployment until the version shows (a poll registers it). */
async function describeWhenVisible(deploymentName: string, buildId: string): Promise<temporal.api.workflowservice.v1.DescribeWorkerDeploymentResponse> {
  for (let i = 0; i < 100; i++) {
    const resp = await svc()
      .describeWorkerDeployment({ namespace: NS, deploymentName })
      .catch(() => undefined);
    if (resp?.workerDeploymentInfo?.versionSummaries?.some((v) => v.deploymentVersion?.buildId === buildId)) return resp;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`version ${deploymentName}.${buildId} never became visible`);
}

async function setCurrent(deploymentName: string, buildId: string, conflictToken?: Uint8Array) {
  return svc().setWorkerDeploymentCurrentVersion({ namespace: NS, deploymentName, version: `${deploymentName}.${buildId}`, conflictToken });
}

async function grpcCode(p: Promise<unknown>): Promise<{ code?: number; message: string }> {
  const err = (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code?: number; details?: string; message?: string; cause?: { code?: number; details?: string } } | undefined;
  if (!err) throw new Error('expected the call to fail');
  // The workflow client wraps the gRPC error (as its cause); the raw service answers it as is.
  const grpc = err.code === undefined && err.cause ? err.cause : err;
  return { code: grpc.code, message: grpc.details ?? err.message ?? '' };
}

describe('worker deployments', () => {
  it('a versioned poll registers the deployment and version; describe, list and describe-version show them', async () => {
    const tq = uniqueId('wd-register');
    const name = uniqueId('deploy');
    await versionedWorker(tq, name, '1.0');
    const resp = await describeWhenVisible(name, '1.0');
    const info = resp.workerDeploymentInfo!;
    expect(info.name).toBe(name);
    expect(info.versionSummaries![0].version).toBe(`${name}.1.0`);
    expect(info.versionSummaries![0].status).toBe(WorkerDeploymentVersionStatus.WORKER_DEPLOYMENT_VERSION_STATUS_INACTIVE);
    expect(info.routingConfig?.currentVersion).toBe('__unversioned__');
    expect(info.routingConfig?.currentDeploymentVersion).toBeFalsy();
    expect(resp.conflictToken?.length).toBeGreaterThan(0);

    const list = await svc().listWorkerDeployments({ namespace: NS });
    expect(list.workerDeployments?.map((d) => d.name)).toContain(name);

    const version = await svc().describeWorkerDeploymentVersion({ namespace: NS, deploymentVersion: { deploymentName: name, buildId: '1.0' } });
    expect(version.workerDeploymentVersionInfo?.deploymentName).toBe(name);
    const queues = version.versionTaskQueues?.map((q) => `${q.name}/${q.type}`);
    expect(queues).toContain(`${tq}/${temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW}`);

    const missing = await grpcCode(svc().describeWorkerDeployment({ namespace: NS, deploymentName: uniqueId('nobody') }));
    expect(missing.code).toBe(grpcStatus.NOT_FOUND);
    expect(missing.message).toMatch(/no Worker Deployment found with name '.*'; does your Worker Deployment have pollers\?/);
  });

  it('routes to the current version: nothing before one is set, then pinned runs stay and auto-upgrade runs move', async () => {
    const tq = uniqueId('wd-route');
    const name = uniqueId('deploy');
    await versionedWorker(tq, name, '1.0');
    const first = await describeWhenVisible(name, '1.0');
    // No current version: the versioned worker gets no task of an unversioned run.
    const early = await client.workflow.start('pinnedWaiter', { taskQueue: tq, workflowId: uniqueId('early') });
    await new Promise((r) => setTimeout(r, 300));
    expect((await early.describe()).raw.pendingWorkflowTask?.state).toBe(temporal.api.enums.v1.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED);

    const set1 = await setCurrent(name, '1.0', first.conflictToken!);
    expect(set1.previousVersion).toBe('__unversioned__');
    // The waiting task goes to 1.0 now.
    expect(await early.query(buildIdQuery)).toBe('1.0');
    const pinned = await client.workflow.start('pinnedWaiter', { taskQueue: tq, workflowId: uniqueId('pinned') });
    const upgrading = await client.workflow.start('upgradingWaiter', { taskQueue: tq, workflowId: uniqueId('upgrading') });
    expect(await pinned.query(buildIdQuery)).toBe('1.0');
    expect(await upgrading.query(buildIdQuery)).toBe('1.0');
    const described = (await pinned.describe()).raw.workflowExecutionInfo?.versioningInfo;
    expect(described?.behavior).toBe(VersioningBehavior.VERSIONING_BEHAVIOR_PINNED);
    expect(described?.deploymentVersion).toMatchObject({ deploymentName: name, buildId: '1.0' });

    await versionedWorker(tq, name, '2.0');
    await describeWhenVisible(name, '2.0');
    await setCurrent(name, '2.0', set1.conflictToken!);
    for (const h of [early, pinned, upgrading]) await h.signal(proceedSignal);
    expect(await early.result()).toBe('1.0');
    expect(await pinned.result()).toBe('1.0');
    // The auto-upgrade run's next task went to the new current version.
    expect(await upgrading.result()).toBe('2.0');

    const events = (await upgrading.fetchHistory()).events ?? [];
    const completions = events.map((e) => e.workflowTaskCompletedEventAttributes).filter((a) => a);
    expect(completions[0]).toMatchObject({ versioningBehavior: VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE, workerDeploymentName: name, deploymentVersion: { buildId: '1.0' } });
    expect(completions[completions.length - 1]?.deploymentVersion?.buildId).toBe('2.0');

    const after = await svc().describeWorkerDeployment({ namespace: NS, deploymentName: name });
    const v1 = after.workerDeploymentInfo?.versionSummaries?.find((v) => v.deploymentVersion?.buildId === '1.0');
    expect(v1?.status).toBe(WorkerDeploymentVersionStatus.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINED);
    expect(after.workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId).toBe('2.0');
  });

  it('conflict tokens, no-change answers, ramping and the refusals of the routing calls', async () => {
    const tq = uniqueId('wd-ramp');
    const name = uniqueId('deploy');
    await versionedWorker(tq, name, 'a');
    await versionedWorker(tq, name, 'b');
    await describeWhenVisible(name, 'a');
    const { conflictToken } = await describeWhenVisible(name, 'b');
    const cur = await setCurrent(name, 'a', conflictToken!);
    // The token it had is stale now.
    const stale = await grpcCode(setCurrent(name, 'b', conflictToken!));
    expect(stale).toMatchObject({ code: grpcStatus.FAILED_PRECONDITION, message: 'conflict token mismatch' });
    // Setting what is already set by the same identity changes nothing and answers the latest token.
    const again = await setCurrent(name, 'a', conflictToken!);
    expect(Buffer.from(again.conflictToken!).equals(Buffer.from(cur.conflictToken!))).toBe(true);
    const unknown = await grpcCode(setCurrent(name, 'zz'));
    expect(unknown).toMatchObject({ code: grpcStatus.NOT_FOUND, message: `build ID 'zz' not found in Worker Deployment '${name}'` });
    const current = await grpcCode(svc().setWorkerDeploymentRampingVersion({ namespace: NS, deploymentName: name, version: `${name}.a`, percentage: 10 }));
    expect(current.code).toBe(grpcStatus.FAILED_PRECONDITION);
    const bad = await grpcCode(svc().setWorkerDeploymentRampingVersion({ namespace: NS, deploymentName: name, version: `${name}.b`, percentage: 101 }));
    expect(bad.code).toBe(grpcStatus.INVALID_ARGUMENT);

    await svc().setWorkerDeploymentRampingVersion({ namespace: NS, deploymentName: name, version: `${name}.b`, percentage: 100 });
    const ramped = await client.workflow.start('pinnedWaiter', { taskQueue: tq, workflowId: uniqueId('ramped') });
    expect(await ramped.query(buildIdQuery)).toBe('b');
    const routing = (await svc().describeWorkerDeployment({ namespace: NS, deploymentName: name })).workerDeploymentInfo?.routingConfig;
    expect(routing).toMatchObject({ rampingVersion: `${name}.b`, rampingVersionPercentage: 100, currentVersion: `${name}.a` });

    await svc().setWorkerDeploymentRampingVersion({ namespace: NS, deploymentName: name, version: `${name}.b`, percentage: 0 });
    const notRamped = await client.workflow.start('pinnedWaiter', { taskQueue: tq, workflowId: uniqueId('not-ramped') });
    expect(await notRamped.query(buildIdQuery)).toBe('a');

    // Promoting the ramping version ends the ramp; the current one cannot be deleted, nor a deployment with versions.
    await setCurrent(name, 'b');
    const promoted = (await svc().describeWorkerDeployment({ namespace: NS, deploymentName: name })).workerDeploymentInfo?.routingConfig;
    expect(promoted?.rampingVersion).toBe('');
    const delCurrent = await grpcCode(svc().deleteWorkerDeploymentVersion({ namespace: NS, deploymentVersion: { deploymentName: name, buildId: 'b' } }));
    expect(delCurrent).toMatchObject({ code: grpcStatus.FAILED_PRECONDITION, message: `version '${name}:b' cannot be deleted since it is current or ramping` });
    const delDeployment = await grpcCode(svc().deleteWorkerDeployment({ namespace: NS, deploymentName: name }));
    expect(delDeployment).toMatchObject({ code: grpcStatus.FAILED_PRECONDITION, message: "deployment has versions, can't be deleted" });

    const meta = await svc().updateWorkerDeploymentVersionMetadata({
      namespace: NS,
      deploymentVersion: { deploymentName: name, buildId: 'a' },
      upsertEntries: { owner: { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"ml-platform"') } },
    });
    expect(Object.keys(meta.metadata?.entries ?? {})).toEqual(['owner']);
    for (const h of [ramped, notRamped]) await h.signal(proceedSignal);
    expect(await ramped.result()).toBe('b');
    expect(await notRamped.result()).toBe('a');
  });

  it('a pinned override at start routes there; one whose version lacks the task queue is refused', async () => {
    const tq = uniqueId('wd-override');
    const name = uniqueId('deploy');
    await versionedWorker(tq, name, '1', 'AUTO_UPGRADE');
    await versionedWorker(tq, name, '2', 'AUTO_UPGRADE');
    await describeWhenVisible(name, '1');
    await describeWhenVisible(name, '2');
    await setCurrent(name, '2');
    const h = await client.workflow.start('upgradingWaiter', { taskQueue: tq, workflowId: uniqueId('override'), versioningOverride: { pinnedTo: { deploymentName: name, buildId: '1' } } });
    expect(await h.query(buildIdQuery)).toBe('1');
    const started = (await h.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
    expect(started?.versioningOverride?.pinned?.version).toMatchObject({ deploymentName: name, buildId: '1' });
    expect((await h.describe()).raw.workflowExecutionInfo?.versioningInfo?.versioningOverride?.pinned?.version?.buildId).toBe('1');
    await h.signal(proceedSignal);
    expect(await h.result()).toBe('1');

    const refused = await grpcCode(
      client.workflow.start('upgradingWaiter', { taskQueue: uniqueId('elsewhere'), workflowId: uniqueId('override'), versioningOverride: { pinnedTo: { deploymentName: name, buildId: '1' } } }),
    );
    expect(refused.code).toBe(grpcStatus.FAILED_PRECONDITION);
    expect(refused.message).toMatch(/^Pinned version '.*:1' is not present in task queue '.*' of type 'Workflow'$/);
  });

  it('a pinned run learns its target version changed and continues as new onto it', async () => {
    const tq = uniqueId('wd-can');
    const name = uniqueId('deploy');
    await versionedWorker(tq, name, 'old');
    await describeWhenVisible(name, 'old');
    await setCurrent(name, 'old');
    const h = await client.workflow.start('movesWhenTargetChanges', { taskQueue: tq, workflowId: uniqueId('mover'), args: [0] });
    await versionedWorker(tq, name, 'new');
    await describeWhenVisible(name, 'new');
    await setCurrent(name, 'new');
    expect(await h.result()).toBe('new');
    const firstRun = (await client.workflow.getHandle(h.workflowId, h.firstExecutionRunId).fetchHistory()).events ?? [];
    expect(firstRun.some((e) => e.workflowTaskStartedEventAttributes?.targetWorkerDeploymentVersionChanged)).toBe(true);
    const can = firstRun.find((e) => e.workflowExecutionContinuedAsNewEventAttributes)?.workflowExecutionContinuedAsNewEventAttributes;
    expect(can?.initialVersioningBehavior).toBe(temporal.api.enums.v1.ContinueAsNewVersioningBehavior.CONTINUE_AS_NEW_VERSIONING_BEHAVIOR_AUTO_UPGRADE);
  });
});
