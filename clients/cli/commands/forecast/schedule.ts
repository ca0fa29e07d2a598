import type { Command } from 'commander';
import type { Duration } from '@temporalio/common';
import type { ForecastPipelineConfig } from '../../../../workflows/forecast/model';
import { UsageError } from '../../usage-error';

/** `mlops forecast schedule ...`: a Temporal schedule that starts retraining runs (e.g. nightly), through the SDK's ScheduleClient. */
export const DEFAULT_SCHEDULE_ID = 'forecast-retraining';
const OVERLAP = ['skip', 'buffer-one', 'buffer-all', 'cancel-other', 'terminate-other', 'allow-all'] as const;
const OVERLAP_POLICY = { skip: 'SKIP', 'buffer-one': 'BUFFER_ONE', 'buffer-all': 'BUFFER_ALL', 'cancel-other': 'CANCEL_OTHER', 'terminate-other': 'TERMINATE_OTHER', 'allow-all': 'ALLOW_ALL' } as const;

function date(value: string, flag: string): Date {
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`${flag} ${value} is not an ISO date or time`);
  return new Date(t);
}

export function registerForecastSchedule(forecast: Command, configFrom: (path: string | undefined) => Promise<ForecastPipelineConfig>): void {
  const schedule = forecast.command('schedule').description('the Temporal schedule that starts retraining runs');
  const withSchedule = async <T>(fn: (client: import('@temporalio/client').Client) => Promise<T>) => {
    const { withClient } = await import('../../temporal-client');
    return withClient(fn);
  };
  const print = async (json: boolean | undefined, value: unknown, text: () => string) => (await import('../../output')).printResult(Boolean(json), value, text);

  schedule
    .command('create')
    .description('create the schedule (cron or interval, in a time zone)')
    .option('--id <id>', 'schedule id', DEFAULT_SCHEDULE_ID)
    .option('--cron <expr>', 'cron expression, e.g. "0 2 * * *" (nightly at 02:00)')
    .option('--every <duration>', 'interval instead of cron, e.g. "1 day" or "6h"')
    .option('--time-zone <tz>', 'IANA time zone of the cron', 'UTC')
    .option('--overlap <policy>', `what a run due while one runs does: ${OVERLAP.join(', ')}`, 'skip')
    .option('--catchup-window <duration>', 'how late a missed run may still start', '1 day')
    .option('--pause-on-failure', 'pause the schedule when a run fails')
    .option('--config <file>', 'the forecast configuration')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { id: string; cron?: string; every?: string; timeZone: string; overlap: string; catchupWindow: string; pauseOnFailure?: boolean; config?: string; json?: boolean }) => {
      if (!opts.cron === !opts.every) throw new UsageError('give exactly one of --cron or --every');
      if (!(OVERLAP as readonly string[]).includes(opts.overlap)) throw new UsageError(`--overlap must be one of ${OVERLAP.join(', ')}`);
      const config = await configFrom(opts.config);
      const { FORECAST_TASK_QUEUE } = await import('../../../../workflows/forecast/model');
      await withSchedule(async (client) => {
        const handle = await client.schedule.create({
          scheduleId: opts.id,
          spec: opts.cron ? { cronExpressions: [opts.cron], timezone: opts.timeZone } : { intervals: [{ every: opts.every as Duration }] },
          action: {
            type: 'startWorkflow',
            workflowType: 'forecastRetraining',
            workflowId: `forecast/run/schedule-${opts.id}`,
            taskQueue: FORECAST_TASK_QUEUE,
            args: [{ config, trigger: { kind: 'schedule', detail: opts.id } }],
          },
          policies: {
            overlap: OVERLAP_POLICY[opts.overlap as (typeof OVERLAP)[number]],
            catchupWindow: opts.catchupWindow as Duration,
            pauseOnFailure: Boolean(opts.pauseOnFailure),
          },
        });
        await print(opts.json, { scheduleId: handle.scheduleId }, () => `created schedule ${handle.scheduleId}`);
      });
    });

  schedule
    .command('describe')
    .option('--id <id>', 'schedule id', DEFAULT_SCHEDULE_ID)
    .option('--json', 'print the result as JSON')
    .action(async (opts: { id: string; json?: boolean }) => {
      await withSchedule(async (client) => {
        const d = await client.schedule.getHandle(opts.id).describe();
        const value = {
          scheduleId: d.scheduleId,
          paused: d.state.paused,
          note: d.state.note,
          spec: d.spec,
          overlap: d.policies.overlap,
          recentActions: d.info.recentActions.map((a) => ({ scheduledAt: a.scheduledAt.toISOString(), takenAt: a.takenAt.toISOString(), workflowId: a.action.workflow.workflowId })),
          nextActionTimes: d.info.nextActionTimes.map((t) => t.toISOString()),
          runningWorkflows: d.info.runningActions.map((a) => a.workflow.workflowId),
        };
        await print(opts.json, value, () =>
          [
            `schedule ${value.scheduleId}${value.paused ? ' (paused)' : ''}, overlap ${value.overlap}`,
            `next: ${value.nextActionTimes.slice(0, 3).join(', ') || 'none'}`,
            `recent: ${value.recentActions.map((a) => `${a.scheduledAt} -> ${a.workflowId}`).join('; ') || 'none'}`,
          ].join('\n'),
        );
      });
    });

  for (const [name, description] of [
    ['pause', 'pause the schedule'],
    ['unpause', 'unpause the schedule'],
    ['trigger', 'start a run now'],
    ['delete', 'delete the schedule (runs it started go on)'],
  ] as const) {
    schedule
      .command(name)
      .description(description)
      .option('--id <id>', 'schedule id', DEFAULT_SCHEDULE_ID)
      .option('--note <text>', 'why (pause, unpause)')
      .action(async (opts: { id: string; note?: string }) => {
        await withSchedule(async (client) => {
          const h = client.schedule.getHandle(opts.id);
          if (name === 'pause') await h.pause(opts.note ?? 'paused with mlops forecast schedule pause');
          else if (name === 'unpause') await h.unpause(opts.note ?? 'unpaused with mlops forecast schedule unpause');
          else if (name === 'trigger') await h.trigger();
          else await h.delete();
          process.stdout.write(`${name}: schedule ${opts.id} done\n`);
        });
      });
  }

  schedule
    .command('backfill')
    .description('start the runs the schedule would have started between two times')
    .requiredOption('--from <time>', 'start (ISO)')
    .requiredOption('--to <time>', 'end (ISO)')
    .option('--id <id>', 'schedule id', DEFAULT_SCHEDULE_ID)
    // One after the other by default: under skip only the first missed run would start, and under allow-all the
    // week's runs would import into the same dataset group and wait on the ETL job's concurrency at once.
    .option('--overlap <policy>', `overlap policy of the backfill: ${OVERLAP.join(', ')}`, 'buffer-all')
    .action(async (opts: { from: string; to: string; id: string; overlap: string }) => {
      const start = date(opts.from, '--from');
      const end = date(opts.to, '--to');
      if (end <= start) throw new UsageError('--to must be after --from');
      if (!(OVERLAP as readonly string[]).includes(opts.overlap)) throw new UsageError(`--overlap must be one of ${OVERLAP.join(', ')}`);
      await withSchedule(async (client) => {
        await client.schedule.getHandle(opts.id).backfill({ start, end, overlap: OVERLAP_POLICY[opts.overlap as (typeof OVERLAP)[number]] });
        process.stdout.write(`backfill of ${opts.id} from ${start.toISOString()} to ${end.toISOString()} requested\n`);
      });
    });
}
