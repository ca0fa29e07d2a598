/** The ETL step: the Glue job (created once, adopted after), one run per pipeline run found again by its run key. */
import { CreateJobCommand, GetJobRunCommand, GetJobRunsCommand, StartJobRunCommand, type GlueClient } from '@aws-sdk/client-glue';
import { ForecastFailure, forecastFailure } from '../../workflows/forecast/failures';
import { type ForecastPipelineConfig } from '../../workflows/forecast/model';
import { aws, classifyAwsError, createOrAdopt } from './aws-errors';

/** The run argument that names the pipeline run a Glue run belongs to (Glue has no idempotency token). */
export const RUN_KEY_ARGUMENT = '--mlops_run_key';
/** The run argument that names the workflow execution that started a Glue run (so a failed run is not started again by the same execution). */
export const EXECUTION_ARGUMENT = '--mlops_execution';

const ENDED_UNSUCCESSFULLY = new Set(['STOPPED', 'FAILED']);

export function createGlueActivities(glue: GlueClient) {
  const ops = {
    /** Creates the ETL job, or adopts the one there. */
    async ensureEtlJob(config: ForecastPipelineConfig): Promise<void> {
      await createOrAdopt(`CreateJob ${config.glue.jobName}`, () =>
        glue.send(
          new CreateJobCommand({
            Name: config.glue.jobName,
            Role: config.glue.roleArn,
            Command: { Name: 'glueetl', ScriptLocation: config.glue.scriptLocation, PythonVersion: '3' },
            DefaultArguments: { '--raw_path': `s3://${config.bucket}/${config.rawPrefix}`, '--popular_threshold': String(config.glue.popularThreshold) },
            ExecutionProperty: { MaxConcurrentRuns: 2 },
            GlueVersion: '4.0',
            Tags: { 'mlops:pipeline': 'forecast' },
          }),
        ),
      );
    },

    /**
     * Starts this run's ETL, or finds the one a previous attempt started (StartJobRun is not idempotent, so the Glue
     * client makes one attempt and a retry looks first).
     */
    async startEtlRun(config: ForecastPipelineConfig, runKey: string, executionId?: string): Promise<string> {
      const runs = await aws(`GetJobRuns ${config.glue.jobName}`, () => glue.send(new GetJobRunsCommand({ JobName: config.glue.jobName, MaxResults: 200 })));
      const mine = (runs.JobRuns ?? []).filter((r) => r.Arguments?.[RUN_KEY_ARGUMENT] === runKey);
      const live = mine.find((r) => !ENDED_UNSUCCESSFULLY.has(r.JobRunState ?? ''));
      if (live?.Id) return live.Id;
      // This execution's own run failed: give it back (its wait reports the failure) rather than start it again.
      const failedHere = executionId ? mine.find((r) => r.Arguments?.[EXECUTION_ARGUMENT] === executionId) : undefined;
      if (failedHere?.Id) return failedHere.Id;
      const outputs = `s3://${config.bucket}/${config.datasetsPrefix}${runKey}/`;
      try {
        const args = { [RUN_KEY_ARGUMENT]: runKey, '--output_path': outputs, ...(executionId ? { [EXECUTION_ARGUMENT]: executionId } : {}) };
        const r = await glue.send(new StartJobRunCommand({ JobName: config.glue.jobName, Arguments: args }));
        if (!r.JobRunId) throw forecastFailure(ForecastFailure.AwsUnavailable, 'StartJobRun returned no JobRunId');
        return r.JobRunId;
      } catch (err) {
        if ((err as Error).name === 'ConcurrentRunsExceededException') throw forecastFailure(ForecastFailure.EtlBusy, `the ETL job ${config.glue.jobName} runs as often as it may: waiting`);
        throw classifyAwsError(err, `StartJobRun ${config.glue.jobName}`);
      }
    },

    /** "Not yet" while the run runs; its figures once it SUCCEEDED. Polled by activity retries. */
    async waitEtlRun(jobName: string, runId: string): Promise<{ jobRunId: string; executionSeconds: number }> {
      const r = (await aws(`GetJobRun ${runId}`, () => glue.send(new GetJobRunCommand({ JobName: jobName, RunId: runId })))).JobRun;
      const state = r?.JobRunState ?? 'UNKNOWN';
      if (state === 'SUCCEEDED') return { jobRunId: runId, executionSeconds: r?.ExecutionTime ?? 0 };
      if (['FAILED', 'TIMEOUT', 'STOPPED', 'ERROR', 'EXPIRED'].includes(state)) {
        throw forecastFailure(ForecastFailure.EtlFailed, `the ETL run ${runId} of ${jobName} ended ${state}: ${r?.ErrorMessage ?? 'no message'}`);
      }
      throw forecastFailure(ForecastFailure.NotReady, `the ETL run ${runId} is ${state}`);
    },
  };
  return {
    ...ops,
    /**
     * The whole ETL step as one activity polled by its retries: the job ensured, this run's Glue run started or
     * adopted, and "not yet" until it SUCCEEDED. `executionId` (the workflow's run id) keeps a failed run failed.
     */
    async runEtl(config: ForecastPipelineConfig, runKey: string, executionId: string): Promise<{ jobRunId: string; executionSeconds: number }> {
      await ops.ensureEtlJob(config);
      const id = await ops.startEtlRun(config, runKey, executionId);
      return ops.waitEtlRun(config.glue.jobName, id);
    },
  };
}
