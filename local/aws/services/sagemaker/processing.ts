/**
 * SageMaker Processing: CreateProcessingJob, DescribeProcessingJob, StopProcessingJob, ListProcessingJobs. A job
 * runs the simulated workload its Environment declares (workload.ts): it provisions, runs its steps in order, each
 * emulated minute publishes per-host CPUUtilization / MemoryUtilization / DiskUtilization to the emulated CloudWatch
 * (namespace /aws/sagemaker/ProcessingJobs, dimension Host = <job>/algo-<n>), writes a checkpoint under its output
 * prefix as each step completes (a job started on a prefix with checkpoints skips those steps), fails when a host
 * runs out of memory or disk, or with CapacityError when its instance type is unavailable (control API), and
 * publishes "SageMaker Processing Job State Change" events. The account quota on instances across processing jobs
 * is enforced at create (ResourceLimitExceeded). Every step run is recorded (control API `GET .../processing-steps`).
 */
import { z } from 'zod';
import { INSTANCE_TYPES, instanceType } from '../../../../common/instance-types';
import { checkpointLocation, checkpointStep } from '../../../../common/checkpoints';
import type { JobView, LifecycleDefinition, Phase, TransitionContext } from '../../jobs';
import type { ControlDefinition, OperationContext, OperationDefinition, ServiceContext } from '../../service';
import { operation } from '../../service';
import { metricStoreOf, putDatapoint, single, type MetricStore } from '../cloudwatch/metric-store';
import type { Bucket } from '../s3/state';
import { putObject, s3StateOf } from '../s3/objects';
import type { EmulatorScope } from '../../service';
import { paginate } from '../efs/pages';
import { parseWorkload, planSteps, type PlannedStep } from './workload';

export const PROCESSING_NAMESPACE = '/aws/sagemaker/ProcessingJobs';
export const PROVISIONING_MS = 3 * 60_000;
export const STOPPING_MS = 60_000;
const MINUTE = 60_000;
const STARTING = 'InProgress/Starting';
export const DEFAULT_PROCESSING_INSTANCE_QUOTA = 20;

export const CAPACITY_ERROR = 'CapacityError: Unable to provision requested ML compute capacity. Please retry using a different ML instance type.';
/** No documented wording exists for processing; this is what SageMaker training jobs report. */
export const OUT_OF_MEMORY = 'OutOfMemoryError: Please use an instance type with more memory, or reduce the size of job data processed on an instance.';

export interface StepRun {
  job: string;
  step: string;
  startedAtMs: number;
  endedAtMs?: number;
  outcome: 'running' | 'completed' | 'interrupted' | 'failed';
}

export interface ProcessingJob {
  name: string;
  arn: string;
  request: Record<string, unknown>;
  instanceType: string;
  instanceCount: number;
  createdAtMs: number;
  steps: PlannedStep[];
  skippedSteps: string[];
  /** Where checkpoints go: bucket and key prefix (ending in /). */
  checkpoints?: { bucket: string; prefix: string };
  /** Failure the plan leads to (out of memory, capacity, missing bucket), with the host it concerns. */
  failure?: { reason: string; exitMessage?: string };
  /** Metrics published for the minutes up to this time. */
  publishedUpToMs: number;
}

export interface ProcessingState {
  jobs: Map<string, ProcessingJob>;
  stepRuns: StepRun[];
  unavailableInstanceTypes: string[];
  instanceQuota: number;
  metrics: MetricStore;
  buckets: Map<string, Bucket>;
}

export function createProcessingState(scope: EmulatorScope): ProcessingState {
  return {
    jobs: new Map(),
    stepRuns: [],
    unavailableInstanceTypes: [],
    instanceQuota: DEFAULT_PROCESSING_INSTANCE_QUOTA,
    metrics: metricStoreOf(scope),
    buckets: s3StateOf(scope).buckets,
  };
}

interface HasProcessing {
  processing: ProcessingState;
}

const apiStatus = (s: string) => s.split('/')[0] as string;
const stepOf = (s: string) => (s.startsWith('InProgress/') && s !== STARTING ? s.slice('InProgress/'.length) : undefined);

function onTransition(view: JobView, ctx: TransitionContext): void {
  const state = (ctx.state as HasProcessing).processing;
  const job = state.jobs.get(view.id);
  if (!job) return;
  const h = view.history;
  const now = h[h.length - 1];
  const prev = h[h.length - 2];
  if (!now) return;
  const done = prev ? stepOf(prev.status) : undefined;
  if (done !== undefined) {
    const run = [...state.stepRuns].reverse().find((r) => r.job === job.name && r.step === done && r.outcome === 'running');
    const completed = stepOf(now.status) !== undefined || now.status === 'Completed';
    if (run) {
      run.endedAtMs = now.atMs;
      run.outcome = completed ? 'completed' : now.status === 'Failed' ? 'failed' : 'interrupted';
    }
    if (completed && job.checkpoints) {
      const body = Buffer.from(JSON.stringify({ job: job.name, step: done, completedAt: new Date(now.atMs).toISOString() }));
      putObject({ buckets: state.buckets }, { bucket: job.checkpoints.bucket, key: `${job.checkpoints.prefix}${done}.json` }, body, new Date(now.atMs), 'application/json');
    }
  }
  const step = stepOf(now.status);
  if (step !== undefined) state.stepRuns.push({ job: job.name, step, startedAtMs: now.atMs, outcome: 'running' });
  if (!prev || apiStatus(prev.status) !== apiStatus(now.status)) {
    ctx.publish({
      source: 'aws.sagemaker',
      detailType: 'SageMaker Processing Job State Change',
      resources: [job.arn],
      detail: eventDetail(describe(job, view)),
    });
  }
}

/** The hook every processing job shares (one kind; each job has its own phases). */
export const processingLifecycle: LifecycleDefinition = {
  kind: 'processing-job',
  phases: [{ status: STARTING, durationMs: PROVISIONING_MS }],
  succeeded: 'Completed',
  failed: 'Failed',
  stopping: { status: 'Stopping', durationMs: STOPPING_MS },
  stopped: 'Stopped',
  onTransition,
};

function describe(job: ProcessingJob, view: JobView) {
  const status = apiStatus(view.status);
  const started = view.history.find((x) => x.status !== STARTING && x.status.startsWith('InProgress/'));
  const failureReason = status === 'Failed' ? (view.failureReason ?? job.failure?.reason ?? 'InternalServerError: We encountered an internal error.') : undefined;
  const r = job.request;
  return {
    ProcessingJobName: job.name,
    ProcessingJobArn: job.arn,
    ProcessingJobStatus: status,
    ...(failureReason ? { FailureReason: failureReason } : {}),
    ...(status === 'Failed' && job.failure?.exitMessage && !view.failureReason ? { ExitMessage: job.failure.exitMessage } : {}),
    ...(r.ProcessingInputs ? { ProcessingInputs: r.ProcessingInputs } : {}),
    ...(r.ProcessingOutputConfig ? { ProcessingOutputConfig: r.ProcessingOutputConfig } : {}),
    ProcessingResources: r.ProcessingResources,
    ...(r.StoppingCondition ? { StoppingCondition: r.StoppingCondition } : {}),
    AppSpecification: r.AppSpecification,
    ...(r.Environment ? { Environment: r.Environment } : {}),
    ...(r.NetworkConfig ? { NetworkConfig: r.NetworkConfig } : {}),
    RoleArn: r.RoleArn,
    ...(r.ExperimentConfig ? { ExperimentConfig: r.ExperimentConfig } : {}),
    CreationTime: new Date(job.createdAtMs),
    ...(started ? { ProcessingStartTime: new Date(started.atMs) } : {}),
    ...(view.ended && view.endedAtMs !== undefined ? { ProcessingEndTime: new Date(view.endedAtMs) } : {}),
    LastModifiedTime: new Date(view.statusSinceMs),
  };
}

/** Event detail: the describe shape with times as epoch milliseconds, as SageMaker's events carry them. */
function eventDetail(d: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v instanceof Date ? v.getTime() : v]));
}

type Ctx = OperationContext<HasProcessing>;

const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const INSTANCE_NAMES = INSTANCE_TYPES.map((t) => t.name);

const createInput = z.looseObject({
  ProcessingJobName: z.string().max(63).regex(NAME, { message: `Member must satisfy regular expression pattern: ${NAME.source}` }),
  ProcessingResources: z.looseObject({
    ClusterConfig: z.looseObject({
      InstanceCount: z.number().int().min(1).max(100),
      InstanceType: z.string().refine((t) => INSTANCE_NAMES.includes(t), { message: `Member must satisfy enum value set: [${INSTANCE_NAMES.join(', ')}]` }),
      VolumeSizeInGB: z.number().int().min(1).max(16384),
      VolumeKmsKeyId: z.string().optional(),
    }),
  }),
  AppSpecification: z.looseObject({ ImageUri: z.string().min(1).max(255), ContainerEntrypoint: z.array(z.string()).max(100).optional(), ContainerArguments: z.array(z.string()).max(256).optional() }),
  RoleArn: z.string().min(20).max(2048),
  Environment: z
    .record(z.string().max(256).regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), z.string().max(256))
    .refine((e) => Object.keys(e).length <= 100, { message: 'Member must have length less than or equal to 100' })
    .optional(),
  ProcessingInputs: z.array(z.looseObject({ InputName: z.string() })).max(10).optional(),
  ProcessingOutputConfig: z
    .looseObject({
      Outputs: z.array(z.looseObject({ OutputName: z.string(), S3Output: z.looseObject({ S3Uri: z.string().max(1024), LocalPath: z.string().max(256), S3UploadMode: z.enum(['Continuous', 'EndOfJob']) }).optional() })).max(10),
      KmsKeyId: z.string().optional(),
    })
    .optional(),
  StoppingCondition: z.looseObject({ MaxRuntimeInSeconds: z.number().int().min(1).max(777600) }).optional(),
  NetworkConfig: z.looseObject({}).optional(),
  ExperimentConfig: z.looseObject({}).optional(),
  Tags: z.array(z.looseObject({ Key: z.string().min(1).max(128), Value: z.string().max(256) })).max(50).optional(),
});

function liveInstances(ctx: ServiceContext<HasProcessing>): number {
  let n = 0;
  for (const job of ctx.state.processing.jobs.values()) {
    const view = ctx.jobs.get(processingLifecycle.kind, job.name);
    if (view && !view.ended) n += job.instanceCount;
  }
  return n;
}

function requireJob(ctx: Ctx, name: string): { job: ProcessingJob; view: JobView } {
  const job = ctx.state.processing.jobs.get(name);
  const view = job ? ctx.jobs.get(processingLifecycle.kind, name) : undefined;
  if (!job || !view) throw ctx.error('ResourceNotFound', `Could not find job to update with name ${name}`);
  return { job, view };
}

export const processingOperations: Record<string, OperationDefinition<HasProcessing>> = {
  CreateProcessingJob: operation({
    input: createInput,
    handler(input, ctx: Ctx) {
      const state = ctx.state.processing;
      const arn = ctx.arn(`processing-job/${input.ProcessingJobName.toLowerCase()}`);
      if (state.jobs.has(input.ProcessingJobName)) {
        throw ctx.error('ResourceInUse', `Job name must be unique within an AWS account and region, and a job with this name already exists (${arn})`);
      }
      let workload;
      try {
        workload = parseWorkload(input.Environment);
      } catch (err) {
        throw ctx.error('ValidationException', `Environment declares an invalid simulated workload: ${(err as Error).message}`);
      }
      const cluster = input.ProcessingResources.ClusterConfig;
      const used = liveInstances(ctx);
      if (used + cluster.InstanceCount > state.instanceQuota) {
        throw ctx.error(
          'ResourceLimitExceeded',
          `The account-level service limit 'Number of instances across all processing jobs' is ${state.instanceQuota} Instances, with current utilization of ${used} Instances and a request delta of ${cluster.InstanceCount} Instances. Please use AWS Service Quotas to request an increase for this quota. If AWS Service Quotas is not available, contact AWS support to request an increase for this quota.`,
        );
      }
      const checkpoints = checkpointLocation(input as Record<string, unknown>);
      const bucket = checkpoints ? state.buckets.get(checkpoints.bucket) : undefined;
      const done = new Set(bucket && checkpoints ? [...bucket.objects.keys()].map((k) => checkpointStep(checkpoints.prefix, k)).filter((k) => k !== undefined) : []);
      const resources = { instanceType: cluster.InstanceType, instanceCount: cluster.InstanceCount, volumeGib: cluster.VolumeSizeInGB };
      const planned = workload ? planSteps(workload, resources) : [{ name: 'run', minutes: 1, driver: { cpu: 10, memory: 10, disk: 1 } }];
      const steps = planned.filter((s) => !done.has(s.name));
      const phases: Phase[] = [{ status: STARTING, durationMs: PROVISIONING_MS }];
      let failure: ProcessingJob['failure'];
      if (state.unavailableInstanceTypes.includes(cluster.InstanceType)) {
        failure = { reason: CAPACITY_ERROR };
        phases[0] = { status: STARTING, durationMs: 2 * MINUTE };
      } else if (checkpoints && !bucket) {
        failure = { reason: `ClientError: Failed to upload to s3://${checkpoints.bucket}/${checkpoints.prefix}: The specified bucket does not exist` };
      } else {
        for (const s of steps) {
          const hosts: [string, { memory: number; disk: number }][] = [['algo-1', s.driver]];
          if (s.executor) for (let n = 2; n <= cluster.InstanceCount; n++) hosts.push([`algo-${n}`, s.executor]);
          const short = hosts.find(([, u]) => u.memory > 100 || u.disk > 100);
          if (short) {
            const [host, u] = short;
            phases.push({ status: `InProgress/${s.name}`, durationMs: MINUTE });
            failure =
              u.memory > 100
                ? { reason: OUT_OF_MEMORY, exitMessage: `${host}: the container was killed (exit code 137): it needed ${u.memory}% of the memory of ${cluster.InstanceType} in step ${s.name}` }
                : { reason: `ClientError: No space left on device on ${host} in step ${s.name} (it needed ${u.disk}% of ${cluster.VolumeSizeInGB} GB)`, exitMessage: `${host}: No space left on device` };
            break;
          }
          phases.push({ status: `InProgress/${s.name}`, durationMs: s.minutes * MINUTE });
        }
      }
      const now = ctx.nowMs();
      const job: ProcessingJob = {
        name: input.ProcessingJobName,
        arn,
        request: input as Record<string, unknown>,
        instanceType: cluster.InstanceType,
        instanceCount: cluster.InstanceCount,
        createdAtMs: now,
        steps,
        skippedSteps: planned.filter((s) => done.has(s.name)).map((s) => s.name),
        ...(checkpoints ? { checkpoints } : {}),
        ...(failure ? { failure } : {}),
        publishedUpToMs: now,
      };
      state.jobs.set(job.name, job);
      ctx.jobs.start({ ...processingLifecycle, phases, succeeded: failure ? 'Failed' : 'Completed' }, job.name, {});
      return { ProcessingJobArn: arn };
    },
  }),
  DescribeProcessingJob: operation({
    input: z.looseObject({ ProcessingJobName: z.string().max(63).regex(NAME) }),
    handler(input, ctx: Ctx) {
      const { job, view } = requireJob(ctx, input.ProcessingJobName);
      return describe(job, view);
    },
  }),
  StopProcessingJob: operation({
    input: z.looseObject({ ProcessingJobName: z.string().max(63).regex(NAME) }),
    handler(input, ctx: Ctx) {
      const { job, view } = requireJob(ctx, input.ProcessingJobName);
      const status = apiStatus(view.status);
      if (status !== 'InProgress') throw ctx.error('ValidationException', `The request was rejected because the processing job ${job.arn} is in status ${status}.`);
      ctx.jobs.stop(processingLifecycle.kind, job.name);
      return {};
    },
  }),
  ListProcessingJobs: operation({
    input: z.looseObject({
      CreationTimeAfter: z.number().optional(),
      CreationTimeBefore: z.number().optional(),
      LastModifiedTimeAfter: z.number().optional(),
      LastModifiedTimeBefore: z.number().optional(),
      NameContains: z.string().max(63).optional(),
      StatusEquals: z.enum(['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped']).optional(),
      SortBy: z.enum(['Name', 'CreationTime', 'Status']).optional(),
      SortOrder: z.enum(['Ascending', 'Descending']).optional(),
      NextToken: z.string().max(8192).optional(),
      MaxResults: z.number().int().min(1).max(100).optional(),
    }),
    handler(input, ctx: Ctx) {
      const rows = [...ctx.state.processing.jobs.values()]
        .map((job) => ({ job, d: describe(job, ctx.jobs.get(processingLifecycle.kind, job.name) as JobView) }))
        .filter(({ job, d }) => {
          const created = job.createdAtMs / 1000;
          const modified = d.LastModifiedTime.getTime() / 1000;
          return (
            (input.CreationTimeAfter === undefined || created > input.CreationTimeAfter) &&
            (input.CreationTimeBefore === undefined || created < input.CreationTimeBefore) &&
            (input.LastModifiedTimeAfter === undefined || modified > input.LastModifiedTimeAfter) &&
            (input.LastModifiedTimeBefore === undefined || modified < input.LastModifiedTimeBefore) &&
            (input.NameContains === undefined || job.name.toLowerCase().includes(input.NameContains.toLowerCase())) &&
            (input.StatusEquals === undefined || d.ProcessingJobStatus === input.StatusEquals)
          );
        });
      const by = input.SortBy ?? 'CreationTime';
      const sign = (input.SortOrder ?? 'Descending') === 'Descending' ? -1 : 1;
      rows.sort((a, b) => {
        const ka = by === 'Name' ? a.job.name : by === 'Status' ? a.d.ProcessingJobStatus : a.job.createdAtMs;
        const kb = by === 'Name' ? b.job.name : by === 'Status' ? b.d.ProcessingJobStatus : b.job.createdAtMs;
        return sign * (ka < kb ? -1 : ka > kb ? 1 : 0);
      });
      const page = paginate(rows, input.NextToken, input.MaxResults ?? 10, () => ctx.error('ValidationException', 'Invalid pagination token'));
      return {
        ProcessingJobSummaries: page.items.map(({ d }) => ({
          ProcessingJobName: d.ProcessingJobName,
          ProcessingJobArn: d.ProcessingJobArn,
          CreationTime: d.CreationTime,
          ...(d.ProcessingEndTime ? { ProcessingEndTime: d.ProcessingEndTime } : {}),
          LastModifiedTime: d.LastModifiedTime,
          ProcessingJobStatus: d.ProcessingJobStatus,
          ...(d.FailureReason ? { FailureReason: d.FailureReason } : {}),
          ...(d.ExitMessage ? { ExitMessage: d.ExitMessage } : {}),
        })),
        ...(page.next ? { NextToken: page.next } : {}),
      };
    },
  }),
};

/** Per-host metrics for every emulated minute of a running step, up to now. */
export function advanceProcessing(ctx: ServiceContext<HasProcessing>): boolean {
  const state = ctx.state.processing;
  const now = ctx.nowMs();
  let changed = false;
  for (const job of state.jobs.values()) {
    const view = ctx.jobs.get(processingLifecycle.kind, job.name);
    if (!view) continue;
    const type = instanceType(job.instanceType);
    const vcpus = type?.vcpus ?? 1;
    const endMs = view.ended ? (view.endedAtMs ?? now) : now;
    for (let t = job.createdAtMs + Math.floor((job.publishedUpToMs - job.createdAtMs) / MINUTE + 1) * MINUTE; t <= Math.min(now, endMs + MINUTE); t += MINUTE) {
      job.publishedUpToMs = t;
      changed = true;
      // The minute that ends at t: what the job was doing just before.
      const seg = [...view.history].reverse().find((x) => x.atMs < t);
      const step = seg ? stepOf(seg.status) : undefined;
      const plan = step !== undefined ? job.steps.find((s) => s.name === step) : undefined;
      if (!plan) continue;
      for (let n = 1; n <= job.instanceCount; n++) {
        const usage = n === 1 ? plan.driver : (plan.executor ?? plan.driver);
        const dims = [{ Name: 'Host', Value: `${job.name}/algo-${n}` }];
        // CPUUtilization is summed over cores (0-400% on 4 vCPUs), as SageMaker reports it.
        putDatapoint(state.metrics, { namespace: PROCESSING_NAMESPACE, metricName: 'CPUUtilization', dimensions: dims, unit: 'Percent' }, t, single(Math.round(usage.cpu * vcpus * 10) / 10));
        putDatapoint(state.metrics, { namespace: PROCESSING_NAMESPACE, metricName: 'MemoryUtilization', dimensions: dims, unit: 'Percent' }, t, single(Math.min(100, usage.memory)));
        putDatapoint(state.metrics, { namespace: PROCESSING_NAMESPACE, metricName: 'DiskUtilization', dimensions: dims, unit: 'Percent' }, t, single(Math.min(100, usage.disk)));
      }
    }
  }
  return changed;
}

/** The next job minute (metrics) or the end of a stop, of any job not yet done. */
export function nextProcessingWake(ctx: ServiceContext<HasProcessing>): number | undefined {
  let next: number | undefined;
  const now = ctx.nowMs();
  for (const job of ctx.state.processing.jobs.values()) {
    const view = ctx.jobs.get(processingLifecycle.kind, job.name);
    if (!view || (view.ended && job.publishedUpToMs >= (view.endedAtMs ?? 0))) continue;
    let at = job.createdAtMs + (Math.floor((now - job.createdAtMs) / MINUTE) + 1) * MINUTE;
    if (view.status === 'Stopping') at = Math.min(at, view.statusSinceMs + STOPPING_MS);
    if (next === undefined || at < next) next = at;
  }
  return next;
}

export const processingControl: ControlDefinition<HasProcessing>[] = [
  {
    method: 'GET',
    path: '/processing-steps',
    description: 'every step a processing job ran: { job, step, startedAt, endedAt, outcome: running|completed|interrupted|failed }; ?job= filters',
    handler: (req, ctx) => ({
      steps: ctx.state.processing.stepRuns
        .filter((r) => !req.query.job || r.job === req.query.job)
        .map((r) => ({ job: r.job, step: r.step, startedAt: new Date(r.startedAtMs).toISOString(), ...(r.endedAtMs !== undefined ? { endedAt: new Date(r.endedAtMs).toISOString() } : {}), outcome: r.outcome })),
    }),
  },
  {
    method: 'GET',
    path: '/processing-capacity',
    description: 'instance types without capacity (jobs on them fail with CapacityError) and the instance quota across processing jobs',
    handler: (_req, ctx) => ({ unavailableInstanceTypes: ctx.state.processing.unavailableInstanceTypes, instanceQuota: ctx.state.processing.instanceQuota }),
  },
  {
    method: 'PUT',
    path: '/processing-capacity',
    description: 'sets { unavailableInstanceTypes?: ["ml.m5.4xlarge"], instanceQuota?: 20 }',
    handler: (req, ctx) => {
      const parsed = z
        .object({ unavailableInstanceTypes: z.array(z.string()).optional(), instanceQuota: z.number().int().nonnegative().optional() })
        .strict()
        .safeParse(req.body ?? {});
      if (!parsed.success) throw ctx.error('BadRequest', parsed.error.issues[0]?.message ?? 'invalid body');
      const p = ctx.state.processing;
      if (parsed.data.unavailableInstanceTypes) p.unavailableInstanceTypes = parsed.data.unavailableInstanceTypes;
      if (parsed.data.instanceQuota !== undefined) p.instanceQuota = parsed.data.instanceQuota;
      return { unavailableInstanceTypes: p.unavailableInstanceTypes, instanceQuota: p.instanceQuota };
    },
  },
];
