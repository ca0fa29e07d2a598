/**
 * The spec `mlops processing start --spec FILE` reads (YAML or JSON): the job's base name, its CreateProcessingJob
 * request (without ProcessingJobName: each attempt names its own) and the scaling policy. Checked here, with one
 * clear message per problem, before anything starts.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { INSTANCE_TYPES } from '../../../common/instance-types';
import { checkpointLocation } from '../../../common/checkpoints';
import { parseWorkload } from '../../../local/aws/services/sagemaker/workload';
import { DEFAULT_POLICY, MAX_BASE_NAME, isValidBaseName, type ProcessingInput } from '../../../workflows/processing/model';
import { UsageError } from '../usage-error';

const TYPES = INSTANCE_TYPES.map((t) => t.name);

const policySchema = z
  .object({
    maxAttempts: z.number().int().min(1).max(99),
    driverSizeSteps: z.number().int().min(1).max(5),
    executorAdd: z.number().int().min(0).max(100),
    executorFactor: z.number().min(1).max(10),
    maxInstanceCount: z.number().int().min(1).max(100),
    thresholdPercent: z.number().min(1).max(100),
    evaluationPeriods: z.number().int().min(1).max(60),
    datapointsToAlarm: z.number().int().min(1).max(60),
    pollIntervalMinutes: z.number().min(1).max(24 * 60),
    capacityRetries: z.number().int().min(0).max(20),
    capacityRetryDelayMinutes: z.number().min(1).max(24 * 60),
    budgetUsd: z.number().positive(),
    estimatedRuntimeMinutes: z.number().positive(),
    approvalTimeoutHours: z.number().positive().max(24 * 30),
    alarmTopicArns: z.array(z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'an SNS topic ARN')).max(5),
  })
  .partial()
  .strict();

const specSchema = z
  .object({
    name: z.string().refine(isValidBaseName, `must be 1-${MAX_BASE_NAME} letters, digits and hyphens, starting with a letter or digit, not ending in -a<N>`),
    processingJob: z.looseObject({
      ProcessingJobName: z.undefined({ error: 'leave ProcessingJobName out: each attempt is named <name>-a<N>' }).optional(),
      RoleArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'an IAM role ARN'),
      AppSpecification: z.looseObject({ ImageUri: z.string().min(1).max(255) }),
      ProcessingResources: z.looseObject({
        ClusterConfig: z.looseObject({
          InstanceType: z.string().refine((t) => TYPES.includes(t), `one of ${TYPES.join(', ')}`),
          InstanceCount: z.number().int().min(1).max(100),
          VolumeSizeInGB: z.number().int().min(1).max(16384),
        }),
      }),
      Environment: z
        .record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'a variable name').max(256), z.string().max(256, 'at most 256 characters'))
        .refine((e) => Object.keys(e).length <= 100, 'at most 100 variables')
        .optional(),
      ProcessingOutputConfig: z.looseObject({
        Outputs: z.array(z.looseObject({ OutputName: z.string().min(1), S3Output: z.looseObject({ S3Uri: z.string().regex(/^s3:\/\/[a-z0-9.-]{3,63}(\/.*)?$/, 'an s3:// URI'), S3UploadMode: z.enum(['Continuous', 'EndOfJob']).optional() }) })).min(1, 'at least one output: checkpoints go under it').max(10),
      }),
    }),
    scaling: policySchema.optional(),
  })
  .strict();

export type ProcessingSpec = z.infer<typeof specSchema>;

function issueText(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.map(String).join('.') || '(spec)'}: ${i.message}`).join('; ');
}

/** The workflow input a spec describes; throws UsageError naming every problem. */
export function specToInput(raw: unknown, where = 'spec'): ProcessingInput {
  const parsed = specSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(`${where}: ${issueText(parsed.error)}`);
  const spec = parsed.data;
  const policy = { ...DEFAULT_POLICY, ...(spec.scaling ?? {}) };
  const cluster = spec.processingJob.ProcessingResources.ClusterConfig;
  if (policy.datapointsToAlarm > policy.evaluationPeriods) throw new UsageError(`${where}: scaling.datapointsToAlarm (${policy.datapointsToAlarm}) must be at most scaling.evaluationPeriods (${policy.evaluationPeriods})`);
  if (cluster.InstanceCount > policy.maxInstanceCount) throw new UsageError(`${where}: InstanceCount ${cluster.InstanceCount} is above scaling.maxInstanceCount ${policy.maxInstanceCount}`);
  if (policy.maxInstanceCount > 1 + 3 * 10 * 100) throw new UsageError(`${where}: scaling.maxInstanceCount is too large`);
  const request = spec.processingJob as Record<string, unknown>;
  if (!checkpointLocation(request)) throw new UsageError(`${where}: processingJob.ProcessingOutputConfig.Outputs needs an S3Uri for the checkpoints`);
  try {
    parseWorkload(spec.processingJob.Environment as Record<string, string> | undefined);
  } catch (err) {
    throw new UsageError(`${where}: processingJob.Environment declares an invalid simulated workload: ${(err as Error).message}`);
  }
  return { baseName: spec.name, request, policy };
}

export function readSpec(file: string): ProcessingInput {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the spec ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new UsageError(`${file} is neither YAML nor JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  return specToInput(raw, file);
}
