/**
 * The whole recovery stack in this process: the embedded Temporal server (time skipping), optionally the AWS
 * emulator on the server's virtual clock, a Temporal client, and a worker on the recovery task queue whose
 * activities are the real ones (against the emulator) or a test's own. Workflow code is bundled once per process.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { DataSyncClient } from '@aws-sdk/client-datasync';
import { EFSClient } from '@aws-sdk/client-efs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { startTemporalServer } from '../../local/temporal';
import type { Clock } from '../../local/clock';
import { createRecoveryActivities, type RecoveryActivities } from '../../activities/recovery/activities';
import { RECOVERY_TASK_QUEUE } from '../../workflows/recovery/model';
import pino from 'pino';
import { startGateway, type RunningGateway } from '../../clients/gateway/server';
import { buildStack, emulatorClientOptions, installQuietRuntime, restartableWorker, workflowBundle } from '../support/stack';

export function recoveryBundle(): Promise<{ code: string }> {
  return workflowBundle('recovery/workflows.ts');
}

export interface AwsClients {
  sagemaker: SageMakerClient;
  datasync: DataSyncClient;
  /** As the worker builds it: no SDK retries for the creates DataSync does not de-duplicate. */
  datasyncCreates: DataSyncClient;
  efs: EFSClient;
  ec2: EC2Client;
}

/** Fresh SDK clients on an endpoint, without back-off delays (the retry budget belongs to the client). */
export function awsClients(endpoint: string): AwsClients {
  const opts = emulatorClientOptions(endpoint);
  return {
    sagemaker: new SageMakerClient(opts),
    datasync: new DataSyncClient(opts),
    datasyncCreates: new DataSyncClient(emulatorClientOptions(endpoint, 1)),
    efs: new EFSClient(opts),
    ec2: new EC2Client(opts),
  };
}

export interface StackOptions {
  /** Start the AWS emulator on the server's clock (needs the emulated SageMaker, EFS, DataSync and EC2). */
  emulator?: boolean;
  /** The worker's activities; default: the real ones against the emulator. */
  activities?: (ctx: { client: Client; clock: Clock; aws?: AwsClients }) => RecoveryActivities;
  dataSyncTaskCap?: number;
  /** Events delivered by the emulator go here (the gateway under test). */
  eventsTo?: string;
  eventsApiKey?: string;
}

export interface RecoveryStack {
  client: Client;
  clock: Clock;
  address: string;
  endpoint?: string;
  aws?: AwsClients;
  /** Lets `ms` of virtual time pass (jobs in the emulator move with it); returns once the clock got there. */
  sleep(ms: number): Promise<void>;
  /** Moves virtual time forward by `ms` at once, even with an activity in flight (one a killed worker abandoned). */
  advance(ms: number): void;
  /** Stops the worker (in-flight activities are abandoned to their timeouts), as a crash would. */
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  close(): Promise<void>;
}

export async function startRecoveryStack(opts: StackOptions = {}): Promise<RecoveryStack> {
  installQuietRuntime();
  return buildStack(async (teardown) => {
    const server = await startTemporalServer({ port: 0, timeSkipping: true });
    teardown.add(() => server.close());
    let endpoint: string | undefined;
    let aws: AwsClients | undefined;
    if (opts.emulator) {
      const { startEmulator } = await import('../../local/aws');
      const emulator = await startEmulator({ port: 0, clock: server.clock, eventsTo: opts.eventsTo, eventsApiKey: opts.eventsApiKey, eventRetryBaseMs: 20 });
      teardown.add(() => emulator.close());
      endpoint = emulator.endpoint;
      aws = awsClients(endpoint);
    }
    const connection = await Connection.connect({ address: server.address });
    teardown.add(() => connection.close());
    const client = new Client({ connection });
    const native = await NativeConnection.connect({ address: server.address });
    teardown.add(() => native.close());
    const bundle = await recoveryBundle();

    const makeActivities = (): RecoveryActivities => {
      if (opts.activities) return opts.activities({ client, clock: server.clock, aws });
      if (!aws) throw new Error('the real activities need the emulator: pass emulator: true');
      return createRecoveryActivities({ ...aws, temporal: () => client, dataSyncTaskCap: opts.dataSyncTaskCap });
    };
    const worker = restartableWorker(() => ({
      connection: native,
      taskQueue: RECOVERY_TASK_QUEUE,
      workflowBundle: bundle,
      activities: makeActivities(),
      maxConcurrentActivityTaskExecutions: 200,
      maxCachedWorkflows: 1000,
    }));
    await worker.start();
    teardown.add(worker.stop);

    return {
      client,
      clock: server.clock,
      address: server.address,
      endpoint,
      aws,
      sleep: (ms) => server.time.sleep(ms),
      advance: (ms) => server.time.advance(ms),
      startWorker: worker.start,
      stopWorker: worker.stop,
      close: () => teardown.run(),
    };
  });
}

/**
 * The stack with the emulator delivering its CloudTrail events to a real gateway over HTTP, as EventBridge would.
 * The gateway listens first (the emulator needs its URL) and reaches the Temporal client once it exists.
 */
export async function startEndToEndStack(opts: { apiKey?: string; dataSyncTaskCap?: number } = {}): Promise<{ stack: RecoveryStack; gateway: RunningGateway; apiKey: string }> {
  const apiKey = opts.apiKey ?? 'e2e-key';
  const late: { client?: Client } = {};
  const gateway = await startGateway({
    client: { workflow: { start: ((...args: Parameters<Client['workflow']['start']>) => late.client!.workflow.start(...args)) as Client['workflow']['start'] } },
    log: pino({ level: 'silent' }),
    apiKey,
    port: 0,
  });
  try {
    const stack = await startRecoveryStack({ emulator: true, eventsTo: `${gateway.url}/events/eventbridge`, eventsApiKey: apiKey, dataSyncTaskCap: opts.dataSyncTaskCap });
    late.client = stack.client;
    return { stack, gateway, apiKey };
  } catch (err) {
    await gateway.close();
    throw err;
  }
}
