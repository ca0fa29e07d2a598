/**
 * Checkpointed processing: what a spec holds, how attempts are named and sized, which failure means what. Pure and
 * deterministic (the workflow, the activities, the gateway and the CLI all use it).
 */
import { costUsd, instanceType, nextSizeUp, otherFamily } from '../../common/instance-types';
export { checkpointLocation } from '../../common/checkpoints';

export const PROCESSING_TASK_QUEUE = 'mlops-processing';

/** SageMaker job names: 63 characters; attempts add `-a<N>` (at most `-a99`). */
export const MAX_BASE_NAME = 59;
const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

export function isValidBaseName(name: string): boolean {
  return name.length <= MAX_BASE_NAME && NAME.test(name) && !/-a\d+$/.test(name);
}

export function processingWorkflowId(baseName: string): string {
  return `processing/${baseName}`;
}

export function attemptJobName(baseName: string, attempt: number): string {
  return `${baseName}-a${attempt}`;
}

/** `<base>-a<N>` -> { base, attempt }. */
export function parseAttemptJobName(jobName: string): { base: string; attempt: number } | undefined {
  const m = /^(.+)-a(\d+)$/.exec(jobName);
  return m ? { base: m[1] as string, attempt: Number(m[2]) } : undefined;
}

export type AlarmRole = 'driver' | 'executors';

export function driverAlarmName(jobName: string): string {
  return `${jobName}-driver`;
}

export function executorAlarmName(jobName: string, group: number): string {
  return `${jobName}-executors-${group}`;
}

/** An alarm name of ours -> the attempt's job name and the role it watches. */
export function parseAlarmName(alarmName: string): { jobName: string; role: AlarmRole } | undefined {
  const m = /^(.+-a\d+)-(driver|executors-\d+)$/.exec(alarmName);
  if (!m) return undefined;
  return { jobName: m[1] as string, role: m[2] === 'driver' ? 'driver' : 'executors' };
}

/** A metric-math alarm takes at most 10 metrics: three executors (CPU, memory, disk: 9 metrics) per alarm. */
export const EXECUTORS_PER_ALARM = 3;

/** Executor host numbers (algo-2...) grouped three by three; a one-instance job has none (algo-1 does both). */
export function executorAlarmGroups(instanceCount: number): number[][] {
  const hosts = Array.from({ length: Math.max(0, instanceCount - 1) }, (_, i) => i + 2);
  const groups: number[][] = [];
  for (let i = 0; i < hosts.length; i += EXECUTORS_PER_ALARM) groups.push(hosts.slice(i, i + EXECUTORS_PER_ALARM));
  return groups;
}

export interface Resources {
  instanceType: string;
  instanceCount: number;
  volumeSizeInGB: number;
}

export interface ScalingPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Driver breach: this many sizes up the instance family. */
  driverSizeSteps: number;
  /** Executor breach: this many more instances... */
  executorAdd: number;
  /** ...or (when larger) the executor count times this. */
  executorFactor: number;
  maxInstanceCount: number;
  thresholdPercent: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  /** Safety net behind the signals: how often the job is described while nothing arrives. */
  pollIntervalMinutes: number;
  /** Capacity errors: retries on the same type, this far apart, before another family. */
  capacityRetries: number;
  capacityRetryDelayMinutes: number;
  /** Cost budget in USD across attempts; past it, an approval is needed. Unset: no budget. */
  budgetUsd?: number;
  /** For the estimate of an attempt's cost: its expected run time (default: MaxRuntimeInSeconds, else 60 minutes). */
  estimatedRuntimeMinutes?: number;
  /** How long to wait for an approval before ending with a summary. */
  approvalTimeoutHours: number;
  /** Alarm actions (SNS topic ARNs) for real accounts whose alarms reach the gateway through SNS. */
  alarmTopicArns: string[];
}

export const DEFAULT_POLICY: ScalingPolicy = {
  maxAttempts: 6,
  driverSizeSteps: 1,
  executorAdd: 2,
  executorFactor: 1,
  maxInstanceCount: 20,
  thresholdPercent: 80,
  evaluationPeriods: 1,
  datapointsToAlarm: 1,
  pollIntervalMinutes: 15,
  capacityRetries: 2,
  capacityRetryDelayMinutes: 10,
  approvalTimeoutHours: 24,
  alarmTopicArns: [],
};

export interface ProcessingInput {
  /** Base job name; attempt N runs as `<base>-a<N>`. */
  baseName: string;
  /** The CreateProcessingJob request, ProcessingJobName left out (each attempt sets its own). */
  request: Record<string, unknown>;
  policy: ScalingPolicy;
  /** Set by the workflow itself when it continues as new between attempts. */
  carried?: CarriedRun;
}

/** What one run of a job's workflow hands the next: the whole status (attempts, checkpoints, cost, budget) and where the attempt loop stands. */
export interface CarriedRun {
  status: ProcessingStatus;
  nextAttempt: number;
  resources: Resources;
  triedFamilies: string[];
  capacityTries: number;
  beforeHorizontal?: Resources;
}

export function resourcesOf(request: Record<string, unknown>): Resources {
  const c = ((request.ProcessingResources as { ClusterConfig?: Record<string, unknown> } | undefined)?.ClusterConfig ?? {}) as {
    InstanceType?: string;
    InstanceCount?: number;
    VolumeSizeInGB?: number;
  };
  return { instanceType: String(c.InstanceType), instanceCount: Number(c.InstanceCount), volumeSizeInGB: Number(c.VolumeSizeInGB) };
}

export function withResources(request: Record<string, unknown>, r: Resources): Record<string, unknown> {
  const pr = (request.ProcessingResources ?? {}) as { ClusterConfig?: Record<string, unknown> };
  return {
    ...request,
    ProcessingResources: { ...pr, ClusterConfig: { ...(pr.ClusterConfig ?? {}), InstanceType: r.instanceType, InstanceCount: r.instanceCount, VolumeSizeInGB: r.volumeSizeInGB } },
  };
}

// ---- what a failure means: the restart policy, in one table ----

export type FailureKind = 'capacity' | 'driver-short' | 'executor-short' | 'user-error' | 'transient';

/** First match wins, on `FailureReason` + newline + `ExitMessage` (which names the host that ran short). */
export const RESTART_POLICY: readonly { kind: FailureKind; match: RegExp; action: string }[] = [
  { kind: 'capacity', match: /^CapacityError/, action: 'retry the same type later, then another family' },
  { kind: 'driver-short', match: /^(OutOfMemoryError|ClientError: No space left on device)[\s\S]*\balgo-1\b/, action: 'bigger instance (as a driver alarm)' },
  { kind: 'executor-short', match: /^(OutOfMemoryError|ClientError: No space left on device)/, action: 'more instances (as an executor alarm)' },
  { kind: 'user-error', match: /^(AlgorithmError|ClientError|ValidationException|ValidationError)/, action: 'stop: no restart can fix the job itself' },
  { kind: 'transient', match: /[\s\S]*/, action: 'run the same attempt again' },
];

export function classifyFailure(failureReason: string, exitMessage?: string): FailureKind {
  const text = `${failureReason}\n${exitMessage ?? ''}`;
  return (RESTART_POLICY.find((r) => r.match.test(text)) ?? { kind: 'transient' as const }).kind;
}

// ---- resource deltas ----

/** Vertical: `steps` sizes up the family; undefined at the top. */
export function scaleUp(r: Resources, steps: number): Resources | undefined {
  let type = r.instanceType;
  for (let i = 0; i < steps; i++) {
    const next = nextSizeUp(type);
    if (!next) return i === 0 ? undefined : { ...r, instanceType: type };
    type = next.name;
  }
  return { ...r, instanceType: type };
}

/** Horizontal: more executors, capped; undefined when already at the cap. */
export function scaleOut(r: Resources, policy: Pick<ScalingPolicy, 'executorAdd' | 'executorFactor' | 'maxInstanceCount'>): Resources | undefined {
  const executors = Math.max(1, r.instanceCount - 1);
  const wanted = Math.max(executors + policy.executorAdd, Math.ceil(executors * policy.executorFactor));
  const count = Math.min(policy.maxInstanceCount, wanted + 1);
  return count > r.instanceCount ? { ...r, instanceCount: count } : undefined;
}

export function inAnotherFamily(r: Resources, triedFamilies: readonly string[]): Resources | undefined {
  const t = otherFamily(r.instanceType, triedFamilies);
  return t ? { ...r, instanceType: t.name } : undefined;
}

// ---- cost ----

export function estimatedRuntimeMs(input: ProcessingInput): number {
  if (input.policy.estimatedRuntimeMinutes !== undefined) return input.policy.estimatedRuntimeMinutes * 60_000;
  const max = (input.request.StoppingCondition as { MaxRuntimeInSeconds?: number } | undefined)?.MaxRuntimeInSeconds;
  return max !== undefined ? max * 1000 : 60 * 60_000;
}

export function estimatedAttemptCost(input: ProcessingInput, r: Resources): number {
  return costUsd(r.instanceType, r.instanceCount, estimatedRuntimeMs(input));
}

export function validInstanceType(name: string): boolean {
  return instanceType(name) !== undefined;
}

// ---- what the workflow shows ----

/** `error`: the attempt ended on a failure of a call (a request the service refused); its reason says which. */
export type AttemptOutcome = 'running' | 'completed' | 'driver-alarm' | 'executor-alarm' | 'stopped-outside' | FailureKind | 'quota' | 'error';

export interface AttemptRecord {
  attempt: number;
  jobName: string;
  resources: Resources;
  /** When the job was created, started running (after provisioning) and ended. */
  createdAt?: string;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  outcome: AttemptOutcome;
  reason?: string;
  costUsd: number;
  estimatedCostUsd: number;
}

export type Phase = 'starting' | 'running' | 'stopping' | 'waiting-capacity' | 'awaiting-approval' | 'completed' | 'failed' | 'cancelled';

export interface ProcessingStatus {
  baseName: string;
  phase: Phase;
  attempt: number;
  resources: Resources;
  attempts: AttemptRecord[];
  checkpointsDone: string[];
  budgetUsd?: number;
  spentUsd: number;
  estimatedCostUsd: number;
  /** Why the workflow waits or ended. */
  note?: string;
}

export interface ProcessingResult extends ProcessingStatus {
  status: 'Completed';
}

export function summary(s: ProcessingStatus): string {
  const lines = s.attempts.map(
    (a) =>
      `  attempt ${a.attempt} ${a.jobName}: ${a.resources.instanceCount} x ${a.resources.instanceType}, ${a.outcome}${a.reason ? ` (${a.reason})` : ''}, ${Math.round((a.durationMs ?? 0) / 60_000)} min, $${a.costUsd.toFixed(2)}`,
  );
  return [`${s.attempts.length} attempt(s), $${s.spentUsd.toFixed(2)} spent${s.budgetUsd !== undefined ? ` of a $${s.budgetUsd.toFixed(2)} budget` : ''}; checkpoints done: ${s.checkpointsDone.join(', ') || 'none'}`, ...lines].join('\n');
}
