/**
 * The processing stack in this process: the embedded Temporal server (time skipping), the AWS emulator on its
 * virtual clock delivering its EventBridge events to a real gateway (alarm and job-state events become signals), a
 * worker on the processing task queue with the real activities, and SDK clients on the emulator.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, ListSubscriptionsByTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import pino from 'pino';
import { parseEventPattern } from '../../local/aws/event-pattern';
import { startTemporalServer } from '../../local/temporal';
import { startEmulator, type RunningEmulator } from '../../local/aws';
import { startGateway, type RunningGateway } from '../../clients/gateway/server';
import { createProcessingActivities } from '../../activities/processing/activities';
import { PROCESSING_TASK_QUEUE, DEFAULT_POLICY, processingWorkflowId, type ProcessingInput, type ScalingPolicy } from '../../workflows/processing/model';
import type { processingJob } from '../../workflows/processing/workflows';
import { buildStack, emulatorClientOptions, installQuietRuntime, restartableWorker, workflowBundle } from '../support/stack';

export interface ProcessingStack {
  client: Client;
  emu: RunningEmulator;
  gateway: RunningGateway;
  sm: SageMakerClient;
  cw: CloudWatchClient;
  s3: S3Client;
  /** With `alarmsVia: 'sns'`: the topic the alarms' actions publish to, the gateway subscribed and confirmed. */
  alarmTopicArn?: string;
  now(): number;
  sleep(ms: number): Promise<void>;
  /**
   * Lets `ms` of virtual time pass, then holds the clock (an idle in-process server would otherwise skip on at once)
   * so the test acts at that moment; `release()` lets it go on.
   */
  sleepAndHold(ms: number): Promise<void>;
  release(): void;
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  close(): Promise<void>;
}

export const BUCKET = 'features';

/**
 * `alarmsVia: 'sns'`: alarm state changes reach the gateway only through an SNS topic (the EventBridge events carry
 * the job state changes alone), as on an account that wires the alarms' actions to SNS.
 */
export async function startProcessingStack(options: { alarmsVia?: 'eventbridge' | 'sns' } = {}): Promise<ProcessingStack> {
  const viaSns = options.alarmsVia === 'sns';
  installQuietRuntime();
  return buildStack(async (teardown) => {
    const server = await startTemporalServer({ port: 0, timeSkipping: true });
    teardown.add(() => server.close());
    const connection = await Connection.connect({ address: server.address });
    teardown.add(() => connection.close());
    const client = new Client({ connection });
    const apiKey = 'processing-key';
    const emulator: { origin?: string } = {};
    const sns = { topicAllowed: (arn: string) => arn.startsWith('arn:aws:sns:us-east-1:123456789012:'), emulatorOrigin: () => emulator.origin, now: () => server.clock.now() };
    const gateway = await startGateway({ client, log: pino({ level: 'silent' }), apiKey, port: 0, sns });
    teardown.add(() => gateway.close());
    const jobEventsOnly = viaSns ? { eventsPattern: parseEventPattern(JSON.stringify({ source: ['aws.sagemaker'], 'detail-type': ['SageMaker Processing Job State Change'] })) } : {};
    const emu = await startEmulator({ port: 0, clock: server.clock, eventsTo: `${gateway.url}/events/eventbridge`, eventsApiKey: apiKey, eventRetryBaseMs: 20, ...jobEventsOnly });
    emulator.origin = emu.endpoint;
    teardown.add(() => emu.close());
    const opts = emulatorClientOptions(emu.endpoint);
    const sm = new SageMakerClient(opts);
    const cw = new CloudWatchClient(opts);
    const s3 = new S3Client({ ...opts, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    let alarmTopicArn: string | undefined;
    if (viaSns) {
      const snsClient = new SNSClient(opts);
      alarmTopicArn = (await snsClient.send(new CreateTopicCommand({ Name: 'processing-alarms' }))).TopicArn as string;
      await snsClient.send(new SubscribeCommand({ TopicArn: alarmTopicArn, Protocol: 'http', Endpoint: `${gateway.url}/events/sns` }));
      // The gateway confirms on its own (GET of the SubscribeURL).
      const confirmed = async () => (await snsClient.send(new ListSubscriptionsByTopicCommand({ TopicArn: alarmTopicArn }))).Subscriptions?.[0]?.SubscriptionArn !== 'PendingConfirmation';
      for (let i = 0; i < 250 && !(await confirmed()); i++) await new Promise((r) => setTimeout(r, 20));
      if (!(await confirmed())) throw new Error('the gateway did not confirm its SNS subscription');
    }
    const native = await NativeConnection.connect({ address: server.address });
    teardown.add(() => native.close());
    const bundle = await workflowBundle('processing/workflows.ts');
    const worker = restartableWorker(() => ({
      connection: native,
      taskQueue: PROCESSING_TASK_QUEUE,
      workflowBundle: bundle,
      activities: createProcessingActivities({ sagemaker: new SageMakerClient(opts), cloudwatch: new CloudWatchClient(opts), s3: new S3Client({ ...opts, forcePathStyle: true }) }),
    }));
    await worker.start();
    teardown.add(worker.stop);
    return {
      client,
      emu,
      gateway,
      sm,
      cw,
      s3,
      ...(alarmTopicArn ? { alarmTopicArn } : {}),
      now: () => server.clock.now(),
      sleep: (ms) => server.time.sleep(ms),
      // The lock is taken in the sleep's own continuation, before the server's next skip check (a setImmediate).
      sleepAndHold: (ms) => server.time.sleep(ms).then(() => server.time.lock()),
      release: () => server.time.unlock(),
      stopWorker: worker.stop,
      startWorker: worker.start,
      close: () => teardown.run(),
    };
  });
}

/** 100 GiB in three steps. `join` needs 1 + 28/executors GiB per executor (2 executors of m5.xlarge: 94 %, 4: 50 %). */
export function workload(over: Record<string, string> = {}): Record<string, string> {
  return {
    SIM_DATA_GIB: '100',
    SIM_STEPS: 'load,join,aggregate',
    SIM_STEP_load: 'cpu=0.2;parallelism=4;execMem=1+0.05;driverMem=2+0.02',
    SIM_STEP_join: 'cpu=0.6;parallelism=12;execMem=1+0.28;driverMem=2+0.02',
    SIM_STEP_aggregate: 'cpu=0.2;parallelism=4;execMem=1+0.05;driverMem=2+0.02',
    ...over,
  };
}

export function processingInput(baseName: string, over: { type?: string; count?: number; env?: Record<string, string>; policy?: Partial<ScalingPolicy> } = {}): ProcessingInput {
  return {
    baseName,
    request: {
      RoleArn: 'arn:aws:iam::123456789012:role/processing',
      AppSpecification: { ImageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/features:1' },
      ProcessingResources: { ClusterConfig: { InstanceCount: over.count ?? 3, InstanceType: over.type ?? 'ml.m5.xlarge', VolumeSizeInGB: 50 } },
      Environment: over.env ?? workload(),
      ProcessingOutputConfig: { Outputs: [{ OutputName: 'checkpoints', S3Output: { S3Uri: `s3://${BUCKET}/${baseName}/checkpoints`, LocalPath: '/opt/ml/processing/checkpoints', S3UploadMode: 'Continuous' } }] },
    },
    policy: { ...DEFAULT_POLICY, ...over.policy },
  };
}

export function startProcessing(stack: ProcessingStack, input: ProcessingInput) {
  return stack.client.workflow.start<typeof processingJob>('processingJob', { workflowId: processingWorkflowId(input.baseName), taskQueue: PROCESSING_TASK_QUEUE, args: [input] });
}

export async function stepRuns(stack: ProcessingStack, base: string): Promise<{ job: string; step: string; outcome: string }[]> {
  const res = await fetch(`${stack.emu.endpoint}/_emulator/services/sagemaker/processing-steps`);
  const body = (await res.json()) as { steps: { job: string; step: string; outcome: string }[] };
  return body.steps.filter((s) => s.job.startsWith(`${base}-a`)).map(({ job, step, outcome }) => ({ job, step, outcome }));
}

/** Steps that completed more than once across a job's attempts (from the emulator's record): none, when checkpoints work. */
export function completedTwice(runs: { step: string; outcome: string }[]): string[] {
  const seen = new Map<string, number>();
  for (const r of runs) if (r.outcome === 'completed') seen.set(r.step, (seen.get(r.step) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([s]) => s);
}

/** A call to the emulator's control API (JSON only, as it requires); a refusal fails the test instead of passing silently. */
export async function emulatorControl(stack: ProcessingStack, method: 'POST' | 'PUT', path: string, body: unknown): Promise<void> {
  const res = await fetch(`${stack.emu.endpoint}/_emulator${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} /_emulator${path}: ${res.status} ${await res.text()}`);
}
