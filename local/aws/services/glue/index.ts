/**
 * AWS Glue (awsJson1_1, `AWSGlue.*`): jobs (CreateJob, GetJob, GetJobs, DeleteJob) and their runs (StartJobRun with
 * arguments over the job's defaults, GetJobRun, GetJobRuns, BatchStopJobRun), statuses STARTING -> RUNNING ->
 * SUCCEEDED / FAILED / TIMEOUT, STOPPING -> STOPPED, the job's timeout and `MaxConcurrentRuns`
 * (`ConcurrentRunsExceededException`). A run has a real effect: the script at the job's `ScriptLocation` names a
 * TypeScript ETL program (`etl/registry.ts`), which runs against the emulated S3 when the run starts; its outputs
 * appear in S3 when the run SUCCEEDS, and its running time grows with the rows it read. See README.md here.
 */
import { z } from 'zod';
import { defineService, newId, operation, type OperationContext } from '../../service';
import type { JobView, LifecycleDefinition, TransitionContext } from '../../jobs';
import { TrackedMap } from '../../persistence/tracked-map';
import { paginate } from '../efs/pages';
import { getObject, listObjects, parseS3Uri, putObject, s3StateOf } from '../s3/objects';
import type { S3State } from '../s3/state';
import { EtlError, programOf } from './etl/registry';

export const JOB_RUN_KIND = 'job-run';
const STARTING_MS = 30_000;
const STOPPING_MS = 10_000;
/** Emulated running time: a fixed start-up plus a rate per input row (a small Spark job). */
const RUN_BASE_MS = 60_000;
const RUN_MS_PER_ROW = 20;
const DEFAULT_TIMEOUT_MINUTES = 2880;

interface GlueJob {
  name: string;
  description?: string;
  role: string;
  command: { Name: string; ScriptLocation: string; PythonVersion?: string; Runtime?: string };
  defaultArguments: Record<string, string>;
  nonOverridableArguments: Record<string, string>;
  maxConcurrentRuns: number;
  timeoutMinutes: number;
  maxRetries: number;
  glueVersion: string;
  workerType?: string;
  numberOfWorkers?: number;
  createdOn: Date;
  lastModifiedOn: Date;
  tags: Record<string, string>;
}

interface StagedObject {
  uri: string;
  body: Buffer;
  contentType: string;
}

interface GlueRun {
  id: string;
  jobName: string;
  arguments: Record<string, string>;
  startedOn: Date;
  timeoutMinutes: number;
  workerType?: string;
  numberOfWorkers?: number;
  glueVersion: string;
  /** Why the run will fail (script missing, ETL error); undefined when it will succeed. */
  problem?: string;
  /** Outputs written to S3 when the run succeeds (emptied then). */
  staged: StagedObject[];
  rowsRead: number;
  completedOn?: Date;
  errorMessage?: string;
}

interface GlueState {
  s3: S3State;
  jobs: Map<string, GlueJob>;
  /** By `<job name>\0<run id>`: tracked, since runs accumulate and hold their staged outputs. */
  runs: TrackedMap<string, GlueRun>;
}

type Ctx = OperationContext<GlueState>;

const runKey = (jobName: string, runId: string): string => `${jobName}\u0000${runId}`;

function runsOf(state: GlueState, jobName: string): GlueRun[] {
  return [...state.runs.values()].filter((r) => r.jobName === jobName).sort((a, b) => b.startedOn.getTime() - a.startedOn.getTime());
}

function jobOf(ctx: Ctx, name: string): GlueJob {
  const job = ctx.state.jobs.get(name);
  if (!job) throw ctx.error('EntityNotFoundException', `Job with name: ${name} not found`);
  return job;
}

/** A run's timeline: the outcome is known when it starts (the ETL ran then); a run longer than its timeout ends TIMEOUT. */
function runLifecycle(runningMs: number, outcome: 'SUCCEEDED' | 'FAILED' | 'TIMEOUT'): LifecycleDefinition {
  return {
    kind: JOB_RUN_KIND,
    phases: [
      { status: 'STARTING', durationMs: STARTING_MS },
      { status: 'RUNNING', durationMs: runningMs },
    ],
    succeeded: outcome,
    failed: 'FAILED',
    stopping: { status: 'STOPPING', durationMs: STOPPING_MS },
    stopped: 'STOPPED',
    onTransition: runEnded,
  };
}

/** The one hook of every run's lifecycle: when it ends, its outputs are written (on success) and it is closed. */
function runEnded(job: JobView, ctx: TransitionContext): void {
  if (!job.ended) return;
  const state = ctx.state as GlueState;
  const key = runKey(String(job.data.jobName), job.id);
  const run = state.runs.get(key);
  if (!run) return;
  const at = new Date(job.statusSinceMs);
  if (job.status === 'SUCCEEDED') {
    for (const o of run.staged) {
      const loc = parseS3Uri(o.uri);
      if (loc) putObject(state.s3, loc, o.body, at, o.contentType);
    }
  }
  const errorMessage =
    job.status === 'TIMEOUT'
      ? `Job run timed out after ${run.timeoutMinutes} minutes`
      : job.status === 'FAILED'
        ? (job.failureReason ?? run.problem ?? 'failed')
        : undefined;
  state.runs.set(key, { ...run, staged: [], completedOn: at, ...(errorMessage ? { errorMessage } : {}) });
}

/** Runs the script's ETL program now, staging its outputs: the run's duration and outcome follow from it. */
function prepareRun(state: GlueState, job: GlueJob, args: Record<string, string>): { staged: StagedObject[]; rowsRead: number; problem?: string } {
  const scriptLoc = parseS3Uri(job.command.ScriptLocation);
  const script = scriptLoc ? getObject(state.s3, scriptLoc) : undefined;
  if (!script) return { staged: [], rowsRead: 0, problem: `Script ${job.command.ScriptLocation} does not exist or is not accessible` };
  const found = programOf(script.body);
  if ('problem' in found) return { staged: [], rowsRead: 0, problem: `${job.command.ScriptLocation}: ${found.problem}` };
  const staged: StagedObject[] = [];
  try {
    const result = found.program.run(args, {
      read: (uri) => {
        const loc = parseS3Uri(uri);
        return loc ? getObject(state.s3, loc)?.body : undefined;
      },
      list: (uri) => {
        const loc = parseS3Uri(uri);
        return loc ? listObjects(state.s3, loc).map((o) => `s3://${loc.bucket}/${o.key}`) : [];
      },
      write: (uri, body, contentType = 'text/csv') => {
        const loc = parseS3Uri(uri);
        if (!loc || loc.key === '') throw new EtlError(`cannot write to ${uri}: not an s3://bucket/key URI`);
        if (!state.s3.buckets.has(loc.bucket)) throw new EtlError(`cannot write to ${uri}: bucket ${loc.bucket} does not exist`);
        staged.push({ uri, body: Buffer.isBuffer(body) ? body : Buffer.from(body), contentType });
      },
    });
    return { staged, rowsRead: result.rowsRead };
  } catch (err) {
    const message = err instanceof Error ? `${err.name === 'EtlError' ? '' : `${err.name}: `}${err.message}` : String(err);
    return { staged: [], rowsRead: 0, problem: message };
  }
}

function describeRun(run: GlueRun, view: JobView | undefined): Record<string, unknown> {
  const status = view?.status ?? 'FAILED';
  const end = run.completedOn ?? (view?.ended && view.endedAtMs !== undefined ? new Date(view.endedAtMs) : undefined);
  const running = view?.history.find((h) => h.status === 'RUNNING');
  const executionSeconds = running ? Math.round(((end?.getTime() ?? view?.statusSinceMs ?? running.atMs) - running.atMs) / 1000) : 0;
  return {
    Id: run.id,
    Attempt: 0,
    JobName: run.jobName,
    JobMode: 'SCRIPT',
    StartedOn: run.startedOn,
    LastModifiedOn: new Date(view?.statusSinceMs ?? run.startedOn.getTime()),
    ...(end ? { CompletedOn: end } : {}),
    JobRunState: status,
    Arguments: run.arguments,
    ...(run.errorMessage ? { ErrorMessage: run.errorMessage } : {}),
    PredecessorRuns: [],
    ExecutionTime: executionSeconds,
    Timeout: run.timeoutMinutes,
    ...(run.workerType ? { WorkerType: run.workerType } : {}),
    ...(run.numberOfWorkers ? { NumberOfWorkers: run.numberOfWorkers } : {}),
    LogGroupName: '/aws-glue/jobs',
    GlueVersion: run.glueVersion,
  };
}

function describeJob(job: GlueJob): Record<string, unknown> {
  return {
    Name: job.name,
    JobMode: 'SCRIPT',
    ...(job.description ? { Description: job.description } : {}),
    Role: job.role,
    CreatedOn: job.createdOn,
    LastModifiedOn: job.lastModifiedOn,
    ExecutionProperty: { MaxConcurrentRuns: job.maxConcurrentRuns },
    Command: job.command,
    DefaultArguments: job.defaultArguments,
    NonOverridableArguments: job.nonOverridableArguments,
    MaxRetries: job.maxRetries,
    Timeout: job.timeoutMinutes,
    GlueVersion: job.glueVersion,
    ...(job.workerType ? { WorkerType: job.workerType } : {}),
    ...(job.numberOfWorkers ? { NumberOfWorkers: job.numberOfWorkers } : {}),
  };
}

const args = z.record(z.string(), z.string()).optional();
const jobName = z.string().min(1).max(255);

export const glue = defineService<GlueState>({
  name: 'glue',
  protocol: 'awsJson1_1',
  targetPrefix: 'AWSGlue',
  validationError: { code: 'InvalidInputException' },
  lifecycles: [runLifecycle(0, 'SUCCEEDED')],
  createState: (scope) => ({ s3: s3StateOf(scope), jobs: new Map(), runs: new TrackedMap() }),
  operations: {
    CreateJob: operation({
      input: z.object({
        Name: jobName,
        Description: z.string().max(2048).optional(),
        Role: z.string().min(1),
        Command: z.object({ Name: z.string().optional(), ScriptLocation: z.string().max(400000), PythonVersion: z.string().optional(), Runtime: z.string().optional() }),
        DefaultArguments: args,
        NonOverridableArguments: args,
        ExecutionProperty: z.object({ MaxConcurrentRuns: z.number().int().min(1).optional() }).optional(),
        MaxRetries: z.number().int().min(0).optional(),
        Timeout: z.number().int().min(1).optional(),
        GlueVersion: z.string().optional(),
        WorkerType: z.string().optional(),
        NumberOfWorkers: z.number().int().min(1).optional(),
        Tags: z.record(z.string(), z.string()).optional(),
      }),
      handler(input, ctx: Ctx) {
        if (ctx.state.jobs.has(input.Name)) throw ctx.error('AlreadyExistsException', `${input.Name} already exists.`);
        if (!parseS3Uri(input.Command.ScriptLocation)) throw ctx.error('InvalidInputException', `ScriptLocation ${input.Command.ScriptLocation} is not an S3 path`);
        const now = ctx.now();
        ctx.state.jobs.set(input.Name, {
          name: input.Name,
          ...(input.Description ? { description: input.Description } : {}),
          role: input.Role,
          command: { Name: input.Command.Name ?? 'glueetl', ScriptLocation: input.Command.ScriptLocation, ...(input.Command.PythonVersion ? { PythonVersion: input.Command.PythonVersion } : {}) },
          defaultArguments: input.DefaultArguments ?? {},
          nonOverridableArguments: input.NonOverridableArguments ?? {},
          maxConcurrentRuns: input.ExecutionProperty?.MaxConcurrentRuns ?? 1,
          timeoutMinutes: input.Timeout ?? DEFAULT_TIMEOUT_MINUTES,
          maxRetries: input.MaxRetries ?? 0,
          glueVersion: input.GlueVersion ?? '4.0',
          ...(input.WorkerType ? { workerType: input.WorkerType } : {}),
          ...(input.NumberOfWorkers ? { numberOfWorkers: input.NumberOfWorkers } : {}),
          createdOn: now,
          lastModifiedOn: now,
          tags: input.Tags ?? {},
        });
        return { Name: input.Name };
      },
    }),
    GetJob: operation({
      input: z.object({ JobName: jobName }),
      handler: (input, ctx: Ctx) => ({ Job: describeJob(jobOf(ctx, input.JobName)) }),
    }),
    GetJobs: operation({
      input: z.object({ NextToken: z.string().optional(), MaxResults: z.number().int().min(1).max(1000).optional() }),
      handler(input, ctx: Ctx) {
        const all = [...ctx.state.jobs.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
        const page = paginate(all, input.NextToken, input.MaxResults ?? 100, () => ctx.error('InvalidInputException', 'Invalid NextToken'));
        return { Jobs: page.items.map(describeJob), ...(page.next ? { NextToken: page.next } : {}) };
      },
    }),
    DeleteJob: operation({
      input: z.object({ JobName: jobName }),
      handler(input, ctx: Ctx) {
        // Glue answers a delete of a job that does not exist with success, too.
        ctx.state.jobs.delete(input.JobName);
        for (const run of runsOf(ctx.state, input.JobName)) {
          ctx.jobs.remove(JOB_RUN_KIND, run.id);
          ctx.state.runs.delete(runKey(input.JobName, run.id));
        }
        return { JobName: input.JobName };
      },
    }),
    StartJobRun: operation({
      input: z.object({
        JobName: jobName,
        Arguments: args,
        Timeout: z.number().int().min(1).optional(),
        WorkerType: z.string().optional(),
        NumberOfWorkers: z.number().int().min(1).optional(),
      }),
      handler(input, ctx: Ctx) {
        const job = jobOf(ctx, input.JobName);
        const live = runsOf(ctx.state, job.name).filter((r) => !ctx.jobs.get(JOB_RUN_KIND, r.id)?.ended);
        if (live.length >= job.maxConcurrentRuns) {
          throw ctx.error('ConcurrentRunsExceededException', `Concurrent runs exceeded for ${job.name}`);
        }
        const runArgs = { ...job.defaultArguments, ...(input.Arguments ?? {}), ...job.nonOverridableArguments };
        const prepared = prepareRun(ctx.state, job, runArgs);
        const timeoutMinutes = input.Timeout ?? job.timeoutMinutes;
        const runningMs = prepared.problem ? RUN_BASE_MS / 2 : RUN_BASE_MS + prepared.rowsRead * RUN_MS_PER_ROW;
        const timeoutMs = timeoutMinutes * 60_000 - STARTING_MS;
        const outcome = prepared.problem ? 'FAILED' : runningMs > timeoutMs ? 'TIMEOUT' : 'SUCCEEDED';
        const id = `jr_${newId('', 64)}`;
        const run: GlueRun = {
          id,
          jobName: job.name,
          arguments: runArgs,
          startedOn: ctx.now(),
          timeoutMinutes,
          glueVersion: job.glueVersion,
          ...((input.WorkerType ?? job.workerType) ? { workerType: input.WorkerType ?? job.workerType } : {}),
          ...((input.NumberOfWorkers ?? job.numberOfWorkers) ? { numberOfWorkers: input.NumberOfWorkers ?? job.numberOfWorkers } : {}),
          ...(prepared.problem ? { problem: prepared.problem } : {}),
          staged: prepared.staged,
          rowsRead: prepared.rowsRead,
        };
        ctx.state.runs.set(runKey(job.name, id), run);
        ctx.jobs.start(runLifecycle(outcome === 'TIMEOUT' ? Math.max(timeoutMs, 0) : runningMs, outcome), id, { jobName: job.name });
        return { JobRunId: id };
      },
    }),
    GetJobRun: operation({
      input: z.object({ JobName: jobName, RunId: z.string().min(1), PredecessorsIncluded: z.boolean().optional() }),
      handler(input, ctx: Ctx) {
        jobOf(ctx, input.JobName);
        const run = ctx.state.runs.get(runKey(input.JobName, input.RunId));
        if (!run) throw ctx.error('EntityNotFoundException', `Job Run with id: ${input.RunId} not found`);
        return { JobRun: describeRun(ctx.state.runs.get(runKey(input.JobName, input.RunId)) ?? run, ctx.jobs.get(JOB_RUN_KIND, run.id)) };
      },
    }),
    GetJobRuns: operation({
      input: z.object({ JobName: jobName, NextToken: z.string().optional(), MaxResults: z.number().int().min(1).max(200).optional() }),
      handler(input, ctx: Ctx) {
        jobOf(ctx, input.JobName);
        // Observe every run first: a run that ended updates its record in its transition hook.
        const views = new Map(runsOf(ctx.state, input.JobName).map((r) => [r.id, ctx.jobs.get(JOB_RUN_KIND, r.id)]));
        const all = runsOf(ctx.state, input.JobName);
        const page = paginate(all, input.NextToken, input.MaxResults ?? 100, () => ctx.error('InvalidInputException', 'Invalid NextToken'));
        return { JobRuns: page.items.map((r) => describeRun(r, views.get(r.id))), ...(page.next ? { NextToken: page.next } : {}) };
      },
    }),
    BatchStopJobRun: operation({
      input: z.object({ JobName: jobName, JobRunIds: z.array(z.string().min(1)).min(1).max(25) }),
      handler(input, ctx: Ctx) {
        const SuccessfulSubmissions: { JobName: string; JobRunId: string }[] = [];
        const Errors: { JobName: string; JobRunId: string; ErrorDetail: { ErrorCode: string; ErrorMessage: string } }[] = [];
        for (const id of input.JobRunIds) {
          const run = ctx.state.runs.get(runKey(input.JobName, id));
          const view = run ? ctx.jobs.get(JOB_RUN_KIND, id) : undefined;
          if (!run || !view) {
            Errors.push({ JobName: input.JobName, JobRunId: id, ErrorDetail: { ErrorCode: 'EntityNotFoundException', ErrorMessage: `Job Run with id: ${id} not found` } });
          } else if (view.ended || view.status === 'STOPPING') {
            Errors.push({ JobName: input.JobName, JobRunId: id, ErrorDetail: { ErrorCode: 'InvalidInputException', ErrorMessage: `Job Run cannot be stopped in current state ${view.status}` } });
          } else {
            ctx.jobs.stop(JOB_RUN_KIND, id);
            SuccessfulSubmissions.push({ JobName: input.JobName, JobRunId: id });
          }
        }
        return { SuccessfulSubmissions, Errors };
      },
    }),
  },
});
