/**
 * The one job-lifecycle helper of every emulated long-running resource (processing jobs, DataSync executions,
 * Forecast predictors, apps, domains...). A job's status is never stored: it is computed from the emulated clock,
 * the resource's lifecycle definition and its scenario (phase durations, failure), so a jumping virtual clock or a
 * scaled clock moves every job at once. Transitions are observed in order by `advance()`, which runs the
 * lifecycle's `onTransition` hook once per status reached (side effects such as copying files, and
 * state-change events) before any request is served and on a short real-time tick.
 */
import { TrackedMap } from './persistence/tracked-map';
import type { PublishedEvent } from './service';

export interface Phase {
  status: string;
  /** Default duration of this phase in emulated milliseconds. */
  durationMs: number;
}

export interface TransitionContext {
  readonly service: string;
  readonly region: string;
  readonly accountId: string;
  /** The service's current state (typed by the lifecycle's owner). */
  readonly state: unknown;
  nowMs(): number;
  publish(event: PublishedEvent): void;
  /** The service's jobs, e.g. to start the next job when this one ends. */
  readonly jobs: JobTracker;
}

export interface LifecycleDefinition {
  /** Resource kind, unique within its service: `processing-job`, `task-execution`. */
  kind: string;
  /** Phases in order before the end, e.g. QUEUED 1s, LAUNCHING 2s, TRANSFERRING 30s. */
  phases: readonly Phase[];
  /** Terminal statuses. */
  succeeded: string;
  failed: string;
  /** Status while stopping and its duration, and the terminal status after a stop. Without them a stop fails the job. */
  stopping?: Phase;
  stopped?: string;
  /** Runs once for every status the job reaches, in order, including the first one at start. */
  onTransition?(job: JobView, ctx: TransitionContext): void;
}

/** Per-resource behaviour, settable before the resource exists through `POST /_emulator/scenarios`. */
export interface JobScenario {
  /** Overrides phase durations by status name, in emulated milliseconds. */
  durationsMs?: Record<string, number>;
  /** When set, the job fails with this reason instead of succeeding. */
  failureReason?: string;
  /** The phase at whose end the job fails (default: the last phase). */
  failAtStatus?: string;
}

export interface JobView {
  readonly service: string;
  readonly kind: string;
  readonly id: string;
  readonly status: string;
  /** Terminal: succeeded, failed or stopped. */
  readonly ended: boolean;
  readonly failureReason?: string;
  readonly createdAtMs: number;
  readonly statusSinceMs: number;
  readonly endedAtMs?: number;
  /** Every status reached so far with the time it was entered. */
  readonly history: readonly { status: string; atMs: number }[];
  /** Service data attached at start (e.g. the request), mutable by the service. */
  readonly data: Record<string, unknown>;
}

interface Job {
  service: string;
  def: LifecycleDefinition;
  id: string;
  createdAtMs: number;
  stopRequestedAtMs?: number;
  scenario: JobScenario;
  data: Record<string, unknown>;
  /** How many statuses of the timeline `onTransition` has seen. */
  observed: number;
}

export interface ScenarioRule {
  service: string;
  kind: string;
  /** Exact resource id, a prefix ending in `*`, or `*` for every resource of the kind. */
  resource: string;
  scenario: JobScenario;
}

interface Segment {
  status: string;
  atMs: number;
  failureReason?: string;
}

function timeline(job: Job): Segment[] {
  const { def, scenario } = job;
  const segments: Segment[] = [];
  let t = job.createdAtMs;
  const failAt = scenario.failureReason !== undefined ? (scenario.failAtStatus ?? def.phases[def.phases.length - 1]?.status) : undefined;
  const stopAt = job.stopRequestedAtMs;
  for (const phase of def.phases) {
    if (stopAt !== undefined && stopAt < t) break;
    segments.push({ status: phase.status, atMs: t });
    t += scenario.durationsMs?.[phase.status] ?? phase.durationMs;
    if (stopAt !== undefined && stopAt < t) break;
    if (failAt === phase.status) {
      segments.push({ status: def.failed, atMs: t, failureReason: scenario.failureReason });
      return segments;
    }
  }
  if (stopAt !== undefined && stopAt < t) {
    let at = stopAt;
    if (def.stopping) {
      segments.push({ status: def.stopping.status, atMs: at });
      at += scenario.durationsMs?.[def.stopping.status] ?? def.stopping.durationMs;
    }
    if (def.stopped) segments.push({ status: def.stopped, atMs: at });
    else segments.push({ status: def.failed, atMs: at, failureReason: 'Stopped by request' });
    return segments;
  }
  segments.push({ status: def.succeeded, atMs: t });
  return segments;
}

/** The job API a service's handlers see (`ctx.jobs`), bound to that service. */
export interface JobTracker {
  /** Starts a job now (or at `startAtMs`); a job of the same kind and id is replaced. Its first status is observed at once. */
  start(def: LifecycleDefinition, id: string, data?: Record<string, unknown>, startAtMs?: number): JobView;
  get(kind: string, id: string): JobView | undefined;
  /** Requests a stop; a job that already ended is left as it is. */
  stop(kind: string, id: string): JobView | undefined;
  remove(kind: string, id: string): boolean;
  list(kind?: string): JobView[];
  /**
   * When the next status of any job of `kind` is due (undefined when none will change): a service whose transitions
   * have effects others wait for (state-change events) wakes a jumping clock then, so they happen on time.
   */
  nextTransitionMs(kind: string): number | undefined;
}

/** A lifecycle as stored: its data; the `onTransition` hook comes back from the service's declared `lifecycles`. */
export interface StoredLifecycle {
  kind: string;
  phases: Phase[];
  succeeded: string;
  failed: string;
  stopping?: Phase;
  stopped?: string;
  hasHook: boolean;
}

/** A job as a state directory keeps it: enough to recompute its timeline and to know which transitions ran. */
export interface StoredJob {
  service: string;
  id: string;
  lifecycle: StoredLifecycle;
  createdAtMs: number;
  stopRequestedAtMs?: number;
  scenario: JobScenario;
  data: Record<string, unknown>;
  observed: number;
}

export interface JobsSnapshot {
  /** By job key; a TrackedMap, so a durable emulator writes only the jobs that changed. */
  jobs: Map<string, StoredJob>;
  scenarios: ScenarioRule[];
}

/** What the engine tells its owner, so a durable emulator knows what to write. */
export interface JobChangeListener {
  /** A job was started, stopped, removed or moved on, or a scenario changed. */
  jobsChanged(): void;
  /** A transition of a job of `service` ran its hook: the service's state may have changed too. */
  transitionObserved(service: string): void;
  /**
   * The hook a restored job of this kind would get (the service's declared lifecycle). A job whose hook differs
   * would come back doing something else, so it is refused when it starts, in the request that starts it.
   */
  hookOf(service: string, kind: string): LifecycleDefinition['onTransition'] | undefined;
}

/** Every job of every service of one emulator, and the scenario rules. */
export class JobEngine {
  private readonly jobs = new Map<string, Job>();
  private scenarios: ScenarioRule[] = [];
  private listener?: JobChangeListener;
  /** With a listener: every job as stored, kept up to date as jobs change. */
  private stored?: Map<string, StoredJob>;

  constructor(
    private readonly clock: () => number,
    /** Builds the transition context of a service (its state and event publisher). */
    private readonly contextFor: (service: string) => TransitionContext,
  ) {}

  /** Starts keeping stored records of the jobs (a durable emulator). */
  listen(listener: JobChangeListener): void {
    this.listener = listener;
    this.stored = new TrackedMap();
    for (const [k, job] of this.jobs) this.stored.set(k, this.toStored(job));
  }

  /** The jobs and scenario rules as data (with a listener only). */
  snapshot(): JobsSnapshot {
    return { jobs: this.stored ?? new Map(), scenarios: this.scenarios };
  }

  /** Puts back stored jobs (replacing any) without running a hook: transitions not yet observed run on the next advance. */
  restore(snapshot: JobsSnapshot, hookOf: (service: string, kind: string) => LifecycleDefinition['onTransition'] | null): void {
    this.jobs.clear();
    this.scenarios = [...snapshot.scenarios];
    for (const [k, stored] of snapshot.jobs) {
      const { hasHook, ...lifecycle } = stored.lifecycle;
      const hook = hasHook ? hookOf(stored.service, lifecycle.kind) : undefined;
      if (hook === null) throw new Error(`job kind ${lifecycle.kind} of service ${stored.service} needs a transition hook, but the service lists no such lifecycle`);
      const def: LifecycleDefinition = { ...lifecycle, ...(hook ? { onTransition: hook } : {}) };
      const job: Job = {
        service: stored.service,
        def,
        id: stored.id,
        createdAtMs: stored.createdAtMs,
        ...(stored.stopRequestedAtMs !== undefined ? { stopRequestedAtMs: stored.stopRequestedAtMs } : {}),
        scenario: stored.scenario,
        data: stored.data,
        observed: stored.observed,
      };
      this.jobs.set(k, job);
    }
    // Keep the restored map: it knows where it is stored, so the next write holds only what changes.
    if (this.stored) this.stored = snapshot.jobs;
  }

  private toStored(job: Job): StoredJob {
    const { def } = job;
    if (def.onTransition && this.listener?.hookOf(job.service, def.kind) !== def.onTransition) {
      throw new Error(`job kind ${def.kind} of service ${job.service} has an onTransition hook the service does not list in its lifecycles; a restored job could not run it`);
    }
    return {
      service: job.service,
      id: job.id,
      lifecycle: {
        kind: def.kind,
        phases: def.phases.map((p) => ({ ...p })),
        succeeded: def.succeeded,
        failed: def.failed,
        ...(def.stopping ? { stopping: { ...def.stopping } } : {}),
        ...(def.stopped !== undefined ? { stopped: def.stopped } : {}),
        hasHook: def.onTransition !== undefined,
      },
      createdAtMs: job.createdAtMs,
      ...(job.stopRequestedAtMs !== undefined ? { stopRequestedAtMs: job.stopRequestedAtMs } : {}),
      scenario: job.scenario,
      data: job.data,
      observed: job.observed,
    };
  }

  /** Records a job's change (or its removal) for the listener. */
  private changed(k: string, job: Job | undefined): void {
    if (!this.listener) return;
    if (job) this.stored?.set(k, this.toStored(job));
    else this.stored?.delete(k);
    this.listener.jobsChanged();
  }

  forService(service: string): JobTracker {
    return {
      start: (def, id, data = {}, startAtMs) => this.start(service, def, id, data, startAtMs),
      get: (kind, id) => this.get(service, kind, id),
      stop: (kind, id) => this.stop(service, kind, id),
      remove: (kind, id) => {
        const k = key(service, kind, id);
        const removed = this.jobs.delete(k);
        if (removed) this.changed(k, undefined);
        return removed;
      },
      list: (kind) => this.list(service, kind),
      nextTransitionMs: (kind) => this.nextTransitionMs(service, kind),
    };
  }

  nextTransitionMs(service: string, kind: string): number | undefined {
    let next: number | undefined;
    for (const job of this.jobs.values()) {
      if (job.service !== service || job.def.kind !== kind) continue;
      const due = timeline(job)[job.observed]?.atMs;
      if (due !== undefined && (next === undefined || due < next)) next = due;
    }
    return next;
  }

  start(service: string, def: LifecycleDefinition, id: string, data: Record<string, unknown>, startAtMs?: number): JobView {
    const job: Job = {
      service,
      def,
      id,
      createdAtMs: startAtMs ?? this.clock(),
      scenario: this.scenarioFor(service, def.kind, id),
      data,
      observed: 0,
    };
    // Refused before it exists when it could not be stored (an undeclared hook): the request fails, nothing changes.
    if (this.listener) this.toStored(job);
    this.jobs.set(key(service, def.kind, id), job);
    this.changed(key(service, def.kind, id), job);
    this.observe(job);
    return this.view(job);
  }

  get(service: string, kind: string, id: string): JobView | undefined {
    const job = this.jobs.get(key(service, kind, id));
    if (!job) return undefined;
    this.observe(job);
    return this.view(job);
  }

  stop(service: string, kind: string, id: string): JobView | undefined {
    const job = this.jobs.get(key(service, kind, id));
    if (!job) return undefined;
    this.observe(job);
    if (!this.view(job).ended && job.stopRequestedAtMs === undefined) {
      job.stopRequestedAtMs = this.clock();
      this.changed(key(service, kind, id), job);
    }
    this.observe(job);
    return this.view(job);
  }

  list(service?: string, kind?: string): JobView[] {
    const out: JobView[] = [];
    for (const job of this.jobs.values()) {
      if (service && job.service !== service) continue;
      if (kind && job.def.kind !== kind) continue;
      this.observe(job);
      out.push(this.view(job));
    }
    return out;
  }

  /** Observes every job's transitions up to now (runs `onTransition` hooks in order). */
  advance(): void {
    for (const job of this.jobs.values()) this.observe(job);
  }

  setScenario(rule: ScenarioRule): void {
    this.scenarios = this.scenarios.filter((r) => !(r.service === rule.service && r.kind === rule.kind && r.resource === rule.resource));
    this.scenarios.push(rule);
    // A rule for a running job applies to it too (from its creation time), as far as it has not ended.
    for (const job of this.jobs.values()) {
      if (job.service === rule.service && job.def.kind === rule.kind && matches(rule.resource, job.id) && !this.view(job).ended) {
        job.scenario = this.scenarioFor(job.service, job.def.kind, job.id);
        this.changed(key(job.service, job.def.kind, job.id), job);
      }
    }
    this.listener?.jobsChanged();
  }

  listScenarios(): readonly ScenarioRule[] {
    return this.scenarios;
  }

  clearScenarios(): void {
    this.scenarios = [];
    this.listener?.jobsChanged();
  }

  /** Forgets jobs (of one service, or all) and, when all, the scenarios. */
  reset(service?: string): void {
    for (const [k, job] of this.jobs) {
      if (service && job.service !== service) continue;
      this.jobs.delete(k);
      this.stored?.delete(k);
    }
    if (!service) this.scenarios = [];
    this.listener?.jobsChanged();
  }

  private scenarioFor(service: string, kind: string, id: string): JobScenario {
    const candidates = this.scenarios.filter((r) => r.service === service && r.kind === kind && matches(r.resource, id));
    // Most specific wins: exact, then the longest prefix, then `*`.
    candidates.sort((a, b) => specificity(b.resource) - specificity(a.resource));
    return candidates[0]?.scenario ?? {};
  }

  private reached(job: Job): Segment[] {
    const now = this.clock();
    return timeline(job).filter((s) => s.atMs <= now);
  }

  private observe(job: Job): void {
    const reached = this.reached(job);
    while (job.observed < reached.length) {
      job.observed += 1;
      this.changed(key(job.service, job.def.kind, job.id), job);
      this.listener?.transitionObserved(job.service);
      if (job.def.onTransition) {
        const view = viewAt(job, reached.slice(0, job.observed));
        job.def.onTransition(view, this.contextFor(job.service));
      }
    }
  }

  private view(job: Job): JobView {
    return viewAt(job, this.reached(job));
  }
}

function key(service: string, kind: string, id: string): string {
  return `${service}\u0000${kind}\u0000${id}`;
}

function viewAt(job: Job, reached: Segment[]): JobView {
  const last = reached[reached.length - 1] ?? { status: job.def.phases[0]?.status ?? job.def.succeeded, atMs: job.createdAtMs };
  const terminal = reached.length > 0 && [job.def.succeeded, job.def.failed, job.def.stopped].includes(last.status);
  return {
    service: job.service,
    kind: job.def.kind,
    id: job.id,
    status: last.status,
    ended: terminal,
    ...(last.failureReason !== undefined ? { failureReason: last.failureReason } : {}),
    createdAtMs: job.createdAtMs,
    statusSinceMs: last.atMs,
    ...(terminal ? { endedAtMs: last.atMs } : {}),
    history: reached.map((s) => ({ status: s.status, atMs: s.atMs })),
    data: job.data,
  };
}

function matches(pattern: string, id: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return id.startsWith(pattern.slice(0, -1));
  return pattern === id;
}

function specificity(pattern: string): number {
  if (pattern === '*') return 0;
  if (pattern.endsWith('*')) return pattern.length;
  return Number.MAX_SAFE_INTEGER;
}
