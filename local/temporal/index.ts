/**
 * The embedded Temporal-compatible server: WorkflowService, OperatorService (search attributes) and, for time
 * skipping, TestService over gRPC. State is in memory, and with `dbFilename` also in a file that survives a crash
 * (persistence/). The official SDK worker and client run against it unmodified.
 *
 * Map of the files, by role:
 *   grpc-service, workflow-service, test-service   gRPC wiring and the method tables
 *   engine, namespaces                             runs by namespace; start/signal/cancel/terminate, children, chains
 *   workflow-run                                   one run's mutable state, history buffering, workflow tasks
 *   workflow-task-completion, timers, activities   what a completed workflow task's commands do
 *   task-handlers, task-queues, task-token         worker polls and completions, matching
 *   queries-and-updates, history-reads             queries, updates, history, describe
 *   visibility-store (+ visibility/)               list/count queries, search attributes
 *   time-source, retry-policy, long-poll           clock and time skipping, retries, long-poll deadlines
 *   schedules/                                     Temporal Schedules (create, describe, update, patch, list, delete)
 *   buffered-writes, persistence/                  outside writes as data; the state file (dbFilename)
 *
 * Not supported (answered UNIMPLEMENTED or INVALID_ARGUMENT): cron workflows (use schedules), Nexus, worker versioning,
 * reset, batch operations, archival.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Clock } from '../clock';
import { Engine } from './engine';
import { DurableState } from './persistence/durable-state';
import { OpenCalls, addService } from './grpc-service';
import { scheduleServiceHandlers } from './schedules/handlers';
import { ScheduleStore } from './schedules/store';
import { testServiceHandlers } from './test-service';
import { TimeSource } from './time-source';
import { operatorServiceHandlers, workflowServiceHandlers } from './workflow-service';
import type { SearchAttributeType } from './visibility/types';
import type { WebUi, WebUiOptions } from './http';
import type { BlobLimits } from './blob-limits';

export interface TemporalServerOptions {
  /** 0 = an ephemeral port */
  port?: number;
  /** default 127.0.0.1 */
  ip?: string;
  /** registered at start; default 'default' */
  namespace?: string;
  /** virtual time that jumps to the next timer, backoff or timeout whenever nothing is in flight */
  timeSkipping?: boolean;
  /**
   * Start with time skipping locked, as Temporal's standalone test server does (its SDK client unlocks while it
   * awaits a result). Default false: an in-process server skips whenever idle, whatever client talks to it.
   */
  startLocked?: boolean;
  /** Serve the TestService too (default: when timeSkipping). */
  testService?: boolean;
  /** more namespaces to register at start */
  extraNamespaces?: string[];
  /** custom search attributes registered in every namespace created at start */
  customSearchAttributes?: ReadonlyMap<string, SearchAttributeType>;
  /** how long closed workflows stay visible; default 24 h */
  retentionMs?: number;
  /** events per page in workflow task responses */
  historyPageSize?: number;
  /** size limits on what workflow tasks write (`limit.blobSize.*`, `limit.memoSize.*`); default the real server's */
  blobLimits?: Partial<BlobLimits>;
  /**
   * Keep the server's state in this file (created if absent): loaded at start, every change appended before the
   * call that caused it is answered. A file that is not a readable state file makes start fail (StateFileError).
   */
  dbFilename?: string;
  /** The state file is rewritten compactly once appends have doubled it and it is past this; default 64 MiB. */
  dbCompactBytes?: number;
  /**
   * The workers run in this server's process and die with it (`mlops start`): an activity attempt started before the
   * restart is timed out at load and retried by its policy, instead of waiting out its start-to-close timeout for a
   * completion that cannot come. Default false: a worker may outlive the server and complete it.
   */
  workersDiedWithServer?: boolean;
  /** Serve the Temporal Web UI and Temporal's HTTP API on this port too (0 = an ephemeral one); default: no UI. */
  ui?: Omit<WebUiOptions, 'grpcAddress' | 'log' | 'namespace'>;
  log?: Logger;
}

export { StateFileError } from './persistence/state-file';

export interface TemporalServer {
  /** host:port */
  address: string;
  port: number;
  /** the server's clock: virtual when time skipping */
  clock: Clock;
  /** the Web UI and HTTP API (http://host:port), when `ui` was given */
  uiUrl?: string;
  close(): Promise<void>;
}

export interface TemporalServerInternals extends TemporalServer {
  engine: Engine;
  time: TimeSource;
  schedules: ScheduleStore;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export async function startTemporalServer(opts: TemporalServerOptions = {}): Promise<TemporalServerInternals> {
  const ip = opts.ip ?? '127.0.0.1';
  const time = new TimeSource(opts.timeSkipping ?? false, (opts.timeSkipping ?? false) && (opts.startLocked ?? false));
  const engine = new Engine({ time, retentionMs: opts.retentionMs ?? DAY_MS, log: opts.log, historyPageSize: opts.historyPageSize, blobLimits: opts.blobLimits });
  let durable: DurableState | undefined;
  const schedules = new ScheduleStore(engine, opts.log);
  engine.afterRunClosed = (run) => schedules.runClosed(run);
  try {
    durable = opts.dbFilename ? DurableState.load(opts.dbFilename, engine, time, opts.log, opts.dbCompactBytes, opts.workersDiedWithServer) : undefined;
    for (const name of [opts.namespace ?? 'default', ...(opts.extraNamespaces ?? [])]) {
      // A namespace from the state file keeps its id, settings and search attributes; configured ones are added.
      const ns = engine.namespaces.find(name) ?? engine.namespaces.register(name);
      for (const [attr, type] of opts.customSearchAttributes ?? []) ns.customSearchAttributes.set(attr, type);
    }
    durable?.attachSchedules(schedules);
    durable?.start();
    schedules.resume();
  } catch (err) {
    schedules.close();
    durable?.close();
    engine.close();
    time.close();
    throw err;
  }
  const beforeAnswer = durable ? () => durable.flush() : undefined;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 128 * 1024 * 1024,
    'grpc.max_send_message_length': 128 * 1024 * 1024,
  });
  const calls = new OpenCalls();
  addService(server, 'temporal.api.workflowservice.v1.WorkflowService', { ...workflowServiceHandlers(engine, { persistenceStore: durable ? 'file' : 'memory' }), ...scheduleServiceHandlers(schedules) }, calls, opts.log, beforeAnswer);
  addService(server, 'temporal.api.operatorservice.v1.OperatorService', operatorServiceHandlers(engine), calls, opts.log, beforeAnswer);
  if (opts.testService ?? opts.timeSkipping) addService(server, 'temporal.api.testservice.v1.TestService', testServiceHandlers(time), calls, opts.log, beforeAnswer);
  const host = ip.includes(':') ? `[${ip}]` : ip;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:${opts.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
  } catch (err) {
    schedules.close();
    durable?.close();
    engine.close();
    time.close();
    throw err;
  }
  opts.log?.info({ address: `${ip}:${port}`, timeSkipping: time.skipping }, 'temporal server listening');
  let web: WebUi | undefined;
  if (opts.ui) {
    try {
      const { startWebUi } = await import('./http');
      const grpcHost = ip === '0.0.0.0' ? '127.0.0.1' : ip === '::' ? '[::1]' : host;
      web = await startWebUi({ ...opts.ui, grpcAddress: `${grpcHost}:${port}`, namespace: opts.namespace ?? 'default', log: opts.log });
    } catch (err) {
      server.forceShutdown();
      durable?.close();
      engine.close();
      time.close();
      throw err;
    }
  }
  let closed = false;
  return {
    address: `${ip}:${port}`,
    port,
    clock: time,
    engine,
    time,
    schedules,
    uiUrl: web?.url,
    close: async () => {
      if (closed) return;
      closed = true;
      schedules.close();
      await web?.close();
      engine.close();
      calls.endAll();
      // Calls in flight finish (and are written) before the state file closes: one answered after it would be lost.
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      try {
        durable?.close();
      } finally {
        time.close();
      }
    },
  };
}
