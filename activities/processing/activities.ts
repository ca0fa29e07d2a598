/**
 * Every AWS call of checkpointed processing. Each is idempotent: jobs and alarms have deterministic names (a create
 * that meets "already exists" describes what is there), PutMetricAlarm overwrites, deletes and stops of what is
 * gone succeed. Errors are classified once (../shared/aws-errors: throttling and faults retried, the rest typed).
 */
import { ApplicationFailure } from '@temporalio/activity';
import {
  CreateProcessingJobCommand,
  DescribeProcessingJobCommand,
  StopProcessingJobCommand,
  type CreateProcessingJobCommandInput,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { DeleteAlarmsCommand, DescribeAlarmsCommand, PutMetricAlarmCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '../../common/logger';
import { checkpointLocation, checkpointStep } from '../../common/checkpoints';
import { aws, classifyAwsError, isAwsError } from '../shared/aws-errors';
import { attemptAlarms } from './alarms';
import { ProcessingFailure } from '../../workflows/processing/failures';
import { typedFailure } from '../../workflows/shared/failures';
import type { Resources, ScalingPolicy } from '../../workflows/processing/model';

export interface ProcessingActivityDeps {
  sagemaker: SageMakerClient;
  cloudwatch: CloudWatchClient;
  s3: S3Client;
  log?: Logger;
}

export interface JobDescription {
  jobName: string;
  status: 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';
  failureReason?: string;
  exitMessage?: string;
  startedAtMs?: number;
  endedAtMs?: number;
  createdAtMs?: number;
}

export function createProcessingActivities(deps: ProcessingActivityDeps) {
  const { sagemaker, cloudwatch, s3 } = deps;

  async function describeProcessingJob(jobName: string): Promise<JobDescription> {
    const d = await aws(`DescribeProcessingJob ${jobName}`, () => sagemaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: jobName })));
    return {
      jobName,
      status: d.ProcessingJobStatus as JobDescription['status'],
      ...(d.FailureReason ? { failureReason: d.FailureReason } : {}),
      ...(d.ExitMessage ? { exitMessage: d.ExitMessage } : {}),
      ...(d.ProcessingStartTime ? { startedAtMs: d.ProcessingStartTime.getTime() } : {}),
      ...(d.ProcessingEndTime ? { endedAtMs: d.ProcessingEndTime.getTime() } : {}),
      ...(d.CreationTime ? { createdAtMs: d.CreationTime.getTime() } : {}),
    };
  }

  return {
    /** Starts the attempt's job; one already there under this name (a retry after a lost answer, a crash) is it. */
    async startProcessingJob(input: { jobName: string; request: Record<string, unknown> }): Promise<{ created: boolean }> {
      const request = { ...input.request, ProcessingJobName: input.jobName } as unknown as CreateProcessingJobCommandInput;
      try {
        await sagemaker.send(new CreateProcessingJobCommand(request));
        return { created: true };
      } catch (err) {
        if (isAwsError(err, 'ResourceInUse')) {
          await describeProcessingJob(input.jobName);
          return { created: false };
        }
        if (isAwsError(err, 'ResourceLimitExceeded')) {
          throw ApplicationFailure.create({ type: ProcessingFailure.QuotaExceeded, message: (err as Error).message, nonRetryable: true });
        }
        throw classifyAwsError(err, `CreateProcessingJob ${input.jobName}`);
      }
    },

    describeProcessingJob: (input: { jobName: string }) => describeProcessingJob(input.jobName),

    /** Asks the job to stop; a job that is no longer running is left as it is. Returns its status after. */
    async stopProcessingJob(input: { jobName: string }): Promise<JobDescription> {
      try {
        await sagemaker.send(new StopProcessingJobCommand({ ProcessingJobName: input.jobName }));
      } catch (err) {
        if (!isAwsError(err, 'ValidationException')) throw classifyAwsError(err, `StopProcessingJob ${input.jobName}`);
      }
      return describeProcessingJob(input.jobName);
    },

    /** The attempt's alarms (driver, and one per three executors); PutMetricAlarm overwrites, so a retry is harmless. */
    async createAttemptAlarms(input: { jobName: string; resources: Resources; policy: ScalingPolicy }): Promise<string[]> {
      const alarms = attemptAlarms(input.jobName, input.resources, input.policy);
      for (const alarm of alarms) await aws(`PutMetricAlarm ${alarm.AlarmName}`, () => cloudwatch.send(new PutMetricAlarmCommand(alarm)));
      return alarms.map((a) => a.AlarmName as string);
    },

    /** Deletes every alarm of the attempt that exists (found by name prefix, so a half-made set goes too). */
    async deleteAttemptAlarms(input: { jobName: string }): Promise<number> {
      const names: string[] = [];
      let token: string | undefined;
      do {
        const page = await aws('DescribeAlarms', () => cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${input.jobName}-`, NextToken: token, MaxRecords: 100 })));
        names.push(...ownAlarms(input.jobName, page.MetricAlarms ?? []));
        token = page.NextToken;
      } while (token);
      for (let i = 0; i < names.length; i += 100) {
        const batch = names.slice(i, i + 100);
        try {
          await cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: batch }));
        } catch (err) {
          // Deleted meanwhile (a retry whose first answer was lost): the rest goes one by one.
          if (!isAwsError(err, 'ResourceNotFound')) throw classifyAwsError(err, 'DeleteAlarms');
          for (const name of batch) {
            try {
              await cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: [name] }));
            } catch (one) {
              if (!isAwsError(one, 'ResourceNotFound')) throw classifyAwsError(one, `DeleteAlarms ${name}`);
            }
          }
        }
      }
      return names.length;
    },

    /** The safety net behind the signals, in one activity: the job's status and its alarms now in ALARM. */
    async pollAttempt(input: { jobName: string }): Promise<{ job: JobDescription; firing: string[] }> {
      const page = await aws('DescribeAlarms', () => cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${input.jobName}-`, StateValue: 'ALARM', MaxRecords: 100 })));
      return { job: await describeProcessingJob(input.jobName), firing: (page.MetricAlarms ?? []).map((a) => a.AlarmName as string) };
    },

    /**
     * The safety net behind the signals, polled by its own retries (one activity however long the job runs): returns
     * once the job has ended or, with `alarms`, once one of the attempt's alarms is in ALARM while the job runs; until
     * then it fails with the benign, retryable AttemptRunning.
     */
    async awaitAttemptEnd(input: { jobName: string; alarms: boolean }): Promise<{ job: JobDescription; firing: string[] }> {
      const job = await describeProcessingJob(input.jobName);
      if (TERMINAL_STATUSES.includes(job.status)) return { job, firing: [] };
      if (input.alarms && job.status === 'InProgress') {
        const page = await aws('DescribeAlarms', () => cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${input.jobName}-`, StateValue: 'ALARM', MaxRecords: 100 })));
        const firing = ownAlarms(input.jobName, page.MetricAlarms ?? []);
        if (firing.length > 0) return { job, firing };
      }
      throw typedFailure(ProcessingFailure.AttemptRunning, `${input.jobName} is ${job.status}`, { benign: true });
    },

    /** Steps whose checkpoint is in S3, from the job's checkpoint prefix. */
    async listCheckpoints(input: { request: Record<string, unknown> }): Promise<string[]> {
      const where = checkpointLocation(input.request);
      if (!where) return [];
      const steps: string[] = [];
      let token: string | undefined;
      do {
        const page = await aws(`ListObjectsV2 s3://${where.bucket}/${where.prefix}`, () => s3.send(new ListObjectsV2Command({ Bucket: where.bucket, Prefix: where.prefix, ContinuationToken: token })));
        for (const o of page.Contents ?? []) {
          const step = o.Key ? checkpointStep(where.prefix, o.Key) : undefined;
          if (step !== undefined) steps.push(step);
        }
        token = page.NextContinuationToken;
      } while (token);
      return steps;
    },
  };
}

const TERMINAL_STATUSES: readonly string[] = ['Completed', 'Failed', 'Stopped'];

/** Only the attempt's own alarms: `<job>-driver`, `<job>-executors-<n>` (another job's name may start with ours). */
function ownAlarms(jobName: string, alarms: { AlarmName?: string }[]): string[] {
  return alarms.map((a) => a.AlarmName ?? '').filter((n) => n.startsWith(`${jobName}-`) && /^(driver|executors-\d+)$/.test(n.slice(jobName.length + 1)));
}

export type ProcessingActivities = ReturnType<typeof createProcessingActivities>;
