import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import type { ForecastPipelineConfig, RunReport, SegmentReport } from '../../../../workflows/forecast/model';
import type { PromotionRecord } from '../../../../workflows/forecast/promote';
import { UsageError } from '../../usage-error';
import { registerForecastSchedule } from './schedule';

/**
 * `mlops forecast run|status|promote|schedule`. Every command talks to Temporal only: a run and a promotion are
 * workflows on the worker (their results are the record), status reads the runs' and promotions' results.
 */

export const RUN_ID_PREFIX = 'forecast/run/';

async function model() {
  return await import('../../../../workflows/forecast/model');
}

async function configFrom(path: string | undefined): Promise<ForecastPipelineConfig> {
  const { loadForecastConfig } = await import('./config');
  return loadForecastConfig(path);
}

function operator(): string {
  const os = require('node:os') as typeof import('node:os');
  return `${process.env.USER ?? os.userInfo().username}@${os.hostname()} (mlops cli)`;
}

function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

function metricsLine(m: { RMSE: number; WAPE: number; MAPE: number; MASE: number; wQL: number } | undefined): string {
  if (!m) return '-';
  return `RMSE ${m.RMSE} WAPE ${m.WAPE} MAPE ${m.MAPE} MASE ${m.MASE} wQL ${m.wQL}`;
}

export function describeSegment(s: SegmentReport): string {
  const lines = [`  ${s.segment}: data until ${s.dataEnd}; ${s.decision.retrain ? 'retrained' : 'not retrained'}: ${s.decision.reason}`];
  if (s.comparison) lines.push(`    ${s.comparison.promoted ? 'promoted' : 'kept the champion'}: ${s.comparison.reason}`);
  lines.push(`    champion ${s.champion.id} (${metricsLine(s.champion.metrics)})`);
  lines.push(`    forecast ${s.forecast.id} -> ${s.forecast.files.join(', ') || '(no files)'}`);
  if (s.cleanup.deleted.length > 0) lines.push(`    deleted ${s.cleanup.deleted.length} old resources`);
  return lines.join('\n');
}

export function describeRun(r: RunReport): string {
  return [`run ${r.workflowId} (key ${r.runKey}, ${r.trigger.kind}, started ${r.startedAt})`, ...r.segments.map(describeSegment), ...r.failures.map((f) => `  ${f.segment}: FAILED ${f.message}`)].join(
    '\n',
  );
}

/** Why a workflow failed, from its root cause (an operator's mistake reads as such). */
function rootCauseMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && 'cause' in e && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

async function requireWorker(client: Client): Promise<void> {
  const { FORECAST_TASK_QUEUE } = await model();
  try {
    const r = await client.workflowService.describeTaskQueue({ namespace: client.options.namespace, taskQueue: { name: FORECAST_TASK_QUEUE }, taskQueueType: 1 });
    if ((r.pollers ?? []).length === 0) {
      throw new Error(`no worker is polling the task queue ${FORECAST_TASK_QUEUE}: start one with \`mlops worker\` (or \`mlops start\`), then try again; nothing was started`);
    }
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('no worker')) throw err;
  }
}

/** Prints each change of a run's (and its segments') progress on stderr until it ends. */
async function followProgress(client: Client, workflowId: string, segments: string[], done: () => boolean): Promise<void> {
  const { progressQuery } = await import('../../../../workflows/forecast/messages');
  const last = new Map<string, string>();
  while (!done()) {
    for (const id of [workflowId, ...segments.map((s) => `${workflowId}/${s}`)]) {
      try {
        const p = await client.workflow.getHandle(id).query(progressQuery);
        const text = `${p.step}${p.detail ? ` (${p.detail})` : ''}`;
        if (last.get(id) !== text) {
          last.set(id, text);
          process.stderr.write(`${id === workflowId ? 'run' : id.slice(workflowId.length + 1)}: ${text}\n`);
        }
      } catch {
        // Not started yet, or already closed.
      }
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export function registerForecast(program: Command): void {
  const forecast = program.command('forecast').summary('forecast retraining: run, status, promote, schedule').description('forecast retraining (see README "Forecast retraining")');

  forecast
    .command('run')
    .description('start a retraining run (ETL, imports, retrain decision, comparison, forecast, export)')
    .option('--config <file>', 'the forecast configuration (default: MLOPS_FORECAST_CONFIG or examples/forecast/config.yaml)')
    .option('--segment <name...>', 'only these segments')
    .option('--wait', 'wait for the run to end, printing its progress')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { config?: string; segment?: string[]; wait?: boolean; json?: boolean }) => {
      const config = await configFrom(opts.config);
      for (const s of opts.segment ?? []) if (!config.segments.includes(s)) throw new UsageError(`unknown segment ${s} (the configuration has ${config.segments.join(', ')})`);
      const { withClient } = await import('../../temporal-client');
      const { printResult } = await import('../../output');
      const { FORECAST_TASK_QUEUE, runKeyOf } = await model();
      await withClient(async (client) => {
        await requireWorker(client);
        const workflowId = `${RUN_ID_PREFIX}${stamp()}`;
        const handle = await client.workflow.start('forecastRetraining', {
          taskQueue: FORECAST_TASK_QUEUE,
          workflowId,
          args: [{ config, ...(opts.segment ? { segments: opts.segment } : {}), trigger: { kind: 'cli', detail: operator() } }],
        });
        if (!opts.wait) {
          printResult(Boolean(opts.json), { workflowId, runKey: runKeyOf(workflowId) }, () => `started ${workflowId} (run key ${runKeyOf(workflowId)}); \`mlops forecast status\` shows it`);
          return;
        }
        let finished = false;
        const progress = followProgress(client, workflowId, opts.segment ?? config.segments, () => finished);
        try {
          const report = (await handle.result()) as RunReport;
          printResult(Boolean(opts.json), report, () => describeRun(report));
          if (report.failures.length > 0) process.exitCode = 1;
        } catch (err) {
          throw new Error(`the run ${workflowId} failed: ${rootCauseMessage(err)}`);
        } finally {
          finished = true;
          await progress;
        }
      });
    });

  forecast
    .command('status')
    .description('the champion of each segment with its metrics, and the last runs with their decisions')
    .option('--limit <n>', 'runs to show', '5')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { limit: string; json?: boolean }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
      const { withClient } = await import('../../temporal-client');
      const { printResult } = await import('../../output');
      await withClient(async (client) => {
        const runs: { workflowId: string; status: string; startTime: string; report?: RunReport }[] = [];
        for await (const w of client.workflow.list({ query: `WorkflowType = 'forecastRetraining'` })) {
          runs.push({ workflowId: w.workflowId, status: w.status.name, startTime: w.startTime.toISOString() });
        }
        const promotions: PromotionRecord[] = [];
        for await (const w of client.workflow.list({ query: `WorkflowType = 'forecastPromote'` })) {
          if (w.status.name === 'COMPLETED') promotions.push((await client.workflow.getHandle(w.workflowId).result()) as PromotionRecord);
        }
        runs.sort((a, b) => (a.startTime < b.startTime ? 1 : -1));
        const shown = runs.slice(0, limit);
        for (const r of runs) if (r.status === 'COMPLETED') r.report = (await client.workflow.getHandle(r.workflowId).result()) as RunReport;
        // The champion of a segment: set by the latest completed run or operator promotion.
        const champions = new Map<string, { id: string; metrics?: SegmentReport['champion']['metrics']; since: string; by: string }>();
        const events = [
          ...runs.flatMap((r) => (r.report ? r.report.segments.map((s) => ({ at: r.startTime, segment: s.segment, id: s.champion.id, metrics: s.champion.metrics, by: `run ${r.workflowId}` })) : [])),
          ...promotions.map((p) => ({ at: p.at, segment: p.segment, id: p.to.id, metrics: p.to.metrics, by: `promoted by ${p.operator}: ${p.reason}` })),
        ].sort((a, b) => (a.at < b.at ? -1 : 1));
        for (const e of events) champions.set(e.segment, { id: e.id, metrics: e.metrics, since: e.at, by: e.by });
        const result = { champions: Object.fromEntries(champions), runs: shown, promotions };
        printResult(Boolean(opts.json), result, () =>
          [
            'champions:',
            ...[...champions].map(([s, c]) => `  ${s}: ${c.id} (${metricsLine(c.metrics)}) since ${c.since}, ${c.by}`),
            ...(champions.size === 0 ? ['  none yet: `mlops forecast run` trains the first'] : []),
            'last runs:',
            ...shown.map((r) => (r.report ? describeRun(r.report) : `run ${r.workflowId}: ${r.status} (started ${r.startTime})`)),
          ].join('\n'),
        );
      });
    });

  forecast
    .command('promote <run>')
    .description("make a run's challenger the champion of a segment, overriding the comparison (audited), and forecast with it")
    .requiredOption('--segment <name>', 'the segment')
    .requiredOption('--reason <text>', 'why (kept in the audit record)')
    .option('--config <file>', 'the forecast configuration')
    .option('--json', 'print the result as JSON')
    .action(async (run: string, opts: { segment: string; reason: string; config?: string; json?: boolean }) => {
      const config = await configFrom(opts.config);
      if (!config.segments.includes(opts.segment)) throw new UsageError(`unknown segment ${opts.segment} (the configuration has ${config.segments.join(', ')})`);
      const runWorkflowId = run.startsWith(RUN_ID_PREFIX) || run.includes('/') ? run : `${RUN_ID_PREFIX}${run}`;
      const { withClient } = await import('../../temporal-client');
      const { printResult } = await import('../../output');
      const { FORECAST_TASK_QUEUE } = await model();
      const { ApplicationFailure } = await import('@temporalio/common');
      await withClient(async (client) => {
        await requireWorker(client);
        try {
          const record = (await client.workflow.execute('forecastPromote', {
            taskQueue: FORECAST_TASK_QUEUE,
            workflowId: `forecast/promote/${opts.segment}/${stamp()}`,
            args: [{ config, runWorkflowId, segment: opts.segment, operator: operator(), reason: opts.reason }],
          })) as PromotionRecord;
          printResult(Boolean(opts.json), record, () => `promoted ${record.to.id} for ${record.segment} (was ${record.from?.id ?? 'none'}); forecast ${record.forecast.files.join(', ')}`);
        } catch (err) {
          let e: unknown = err;
          while (e instanceof Error && 'cause' in e && e.cause instanceof Error && !(e instanceof ApplicationFailure && e.type)) e = e.cause;
          if (e instanceof ApplicationFailure && (e.type === 'NotFound' || e.type === 'InvalidRequest')) throw new UsageError(e.message);
          throw new Error(`the promotion failed: ${rootCauseMessage(err)}`);
        }
      });
    });

  registerForecastSchedule(forecast, configFrom);
}
