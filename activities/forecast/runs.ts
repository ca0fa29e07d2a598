/** Reads of forecast retraining runs through Temporal (the run reports are the workflows' results). */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ForecastFailure, forecastFailure } from '../../workflows/forecast/failures';
import type { RunReport } from '../../workflows/forecast/model';

export function createRunActivities(temporal?: () => Client) {
  const client = (): Client => (temporal ? temporal() : Context.current().client);
  return {
    /** The report of a finished run; NotFound when there is no such run or it did not complete. */
    async runReportOf(workflowId: string): Promise<RunReport> {
      const handle = client().workflow.getHandle(workflowId);
      try {
        const d = await handle.describe();
        if (d.type !== 'forecastRetraining') throw forecastFailure(ForecastFailure.NotFound, `${workflowId} is a ${d.type} workflow, not a forecast run`);
        if (d.status.name !== 'COMPLETED') throw forecastFailure(ForecastFailure.NotFound, `the run ${workflowId} is ${d.status.name}, not completed`);
        return (await handle.result()) as RunReport;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw forecastFailure(ForecastFailure.NotFound, `no forecast run ${workflowId}`);
        throw err;
      }
    },
  };
}
