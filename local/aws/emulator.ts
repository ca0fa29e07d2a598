/**
 * The emulator's core, independent of the HTTP server: routes a decoded request to a service operation, applies
 * injected faults, validates, runs the handler, encodes the answer, journals it and publishes CloudTrail events.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { EventPattern } from './event-pattern';
import type { Clock } from '../clock';
import { EmulatorClock } from './clock';
import { EventBus } from './events';
import { FaultTable, faultErrorCode, type Fault } from './faults';
import { JobEngine, type LifecycleDefinition, type TransitionContext } from './jobs';
import { DurableState } from './persistence/durable-state';
import type { PersistentClass } from './persistence/state-codec';
import { Journal, parseSdkRequestHeader } from './journal';
import { decodeInput, encodeError, encodeOutput } from './protocols/codec';
import { compilePath, decodeBody, matchPath, safeDecode, signingScope, WireError, type CompiledPath } from './protocols/wire';
import {
  EmulatorError,
  HttpResponse,
  isMutating,
  isReadOnly,
  type ControlDefinition,
  type EmulatorScope,
  type HttpRoute,
  type OperationContext,
  type OperationDefinition,
  type ServiceContext,
  type ServiceDefinition,
} from './service';
import { validateInput } from './validate';

export const ACCOUNT_ID = '123456789012';
export const DEFAULT_REGION = 'us-east-1';

export interface EmulatorOptions {
  services: readonly ServiceDefinition<unknown>[];
  /** A virtual clock (the embedded Temporal server's); without it, real time multiplied by timeScale. */
  clock?: Clock;
  timeScale?: number;
  eventsTo?: string;
  eventsApiKey?: string;
  /** Deliver only events matching this EventBridge pattern (all are still listed at /_emulator/events). */
  eventsPattern?: EventPattern;
  log?: Logger;
  /** First retry delay of event delivery, doubling (default 200 ms). */
  eventRetryBaseMs?: number;
  /**
   * Durable state: loaded from this directory at start (created when absent) and every change written there
   * before the request that made it is answered. Without it everything lives in memory only.
   */
  stateDir?: string;
}

/** The raw request as the HTTP layer hands it over. */
export interface RawRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** What the HTTP layer must do: write a response, or reset the connection (an after-commit fault). */
export type Outcome = { kind: 'respond'; response: HttpResponse } | { kind: 'reset' };

interface ServiceRuntime {
  def: ServiceDefinition<unknown>;
  state: unknown;
}

interface RestRoute {
  service: ServiceRuntime;
  operation: string;
  op: OperationDefinition<unknown>;
  route: HttpRoute;
  compiled: CompiledPath;
}

interface ControlRoute {
  service: ServiceRuntime;
  control: ControlDefinition<unknown>;
  compiled: CompiledPath;
}

type Routed =
  | { ok: true; service: ServiceRuntime; operation: string; op: OperationDefinition<unknown>; route?: HttpRoute; params: Record<string, string> }
  | { ok: false; service?: ServiceRuntime; serviceName: string; operation: string; protocol: ServiceDefinition['protocol'] };

export class Emulator {
  readonly clock: EmulatorClock;
  readonly journal = new Journal();
  private stateClosed = false;
  readonly faults = new FaultTable();
  readonly events: EventBus;
  readonly jobs: JobEngine;
  private readonly services = new Map<string, ServiceRuntime>();
  private readonly sharedValues = new Map<string, unknown>();
  /** Which shared values each service asked for: a change to the service may have changed them. */
  private readonly sharedKeysOf = new Map<string, Set<string>>();
  /** `service\0kind` -> the declared lifecycle, whose hook a restored job gets back. */
  private readonly lifecycles = new Map<string, LifecycleDefinition>();
  readonly persistentClasses = new Map<string, PersistentClass>();
  /** Units (`service:<name>`, `shared:<key>`, `jobs`, `events`, `clock`) changed since the last write. */
  private readonly changed = new Set<string>();
  private readonly durable?: DurableState;
  private pendingFlush?: Promise<void>;
  private readonly byTarget = new Map<string, ServiceRuntime>();
  private readonly restRoutes: RestRoute[] = [];
  readonly controlRoutes: ControlRoute[] = [];
  private readonly log?: Logger;

  /** The injected clock, when it can wake the emulator and be held (a time-skipping server's). */
  private readonly baseClock?: Clock;
  private readonly heldClock?: Clock;
  /** Where the emulator listens, once it does (set by `startEmulator`): services put it in URLs they hand out. */
  endpoint?: string;

  constructor(opts: EmulatorOptions) {
    this.clock = new EmulatorClock(opts.clock, opts.timeScale ?? 1);
    this.baseClock = opts.clock;
    const holdClock = opts.clock?.markBusy && opts.clock.markIdle ? opts.clock : undefined;
    this.heldClock = holdClock;
    this.log = opts.log;
    this.events = new EventBus({
      target: opts.eventsTo,
      apiKey: opts.eventsApiKey,
      pattern: opts.eventsPattern,
      account: ACCOUNT_ID,
      region: DEFAULT_REGION,
      now: () => this.clock.now(),
      log: opts.log,
      baseDelayMs: opts.eventRetryBaseMs,
      deliverAfterRelease: opts.stateDir !== undefined,
      onOwedChange: () => this.markChanged('events'),
      ...(holdClock ? { hold: { busy: (key: string) => holdClock.markBusy?.(key), idle: (key: string) => holdClock.markIdle?.(key) } } : {}),
    });
    this.jobs = new JobEngine(
      () => this.clock.now(),
      (service) => this.transitionContext(service),
    );
    for (const def of opts.services) this.register(def);
    if (opts.stateDir !== undefined) {
      this.jobs.listen({
        jobsChanged: () => this.changed.add('jobs'),
        transitionObserved: (service) => {
          this.changed.add('jobs');
          this.markServiceChanged(service);
        },
        hookOf: (service, kind) => this.declaredLifecycle(service, kind)?.onTransition,
      });
      const { durable, fresh } = DurableState.open(opts.stateDir, this);
      this.durable = durable;
      // A new directory gets the whole initial state at once (random ids such as the default security group's
      // must not change at the next start because nothing had touched them yet).
      if (fresh) {
        this.markEverythingChanged();
        this.persist();
      }
    }
  }

  /** The scope a service's `createState` gets: records which shared values the service holds. */
  private scopeFor(service: string): EmulatorScope {
    const keys = new Set<string>();
    this.sharedKeysOf.set(service, keys);
    return {
      shared: <T>(key: string, create: () => T): T => {
        keys.add(key);
        if (!this.sharedValues.has(key)) this.sharedValues.set(key, create());
        return this.sharedValues.get(key) as T;
      },
    };
  }

  private register(def: ServiceDefinition<unknown>): void {
    if (this.services.has(def.name)) throw new Error(`service ${def.name} is defined twice`);
    for (const lifecycle of def.lifecycles ?? []) this.lifecycles.set(`${def.name}\u0000${lifecycle.kind}`, lifecycle);
    for (const [name, cls] of Object.entries(def.persistentClasses ?? {})) {
      const other = this.persistentClasses.get(name);
      if (other && other !== cls) throw new Error(`service ${def.name}: persistent class name ${name} is already taken by another class`);
      this.persistentClasses.set(name, cls);
    }
    const runtime: ServiceRuntime = { def, state: def.createState(this.scopeFor(def.name)) };
    this.services.set(def.name, runtime);
    if (def.protocol === 'awsJson1_0' || def.protocol === 'awsJson1_1') {
      if (!def.targetPrefix) throw new Error(`service ${def.name}: awsJson services need a targetPrefix`);
      this.byTarget.set(def.targetPrefix, runtime);
    }
    for (const [operation, op] of Object.entries(def.operations)) {
      if (def.protocol === 'restJson1' || def.protocol === 'restXml') {
        if (!op.http) throw new Error(`service ${def.name}: REST operation ${operation} needs an http route`);
      }
      if (op.http) this.restRoutes.push({ service: runtime, operation, op, route: op.http, compiled: compilePath(op.http.path) });
    }
    for (const control of def.control ?? []) {
      this.controlRoutes.push({ service: runtime, control, compiled: compilePath(control.path) });
    }
  }

  serviceNames(): string[] {
    return [...this.services.keys()];
  }

  describeServices(): Record<string, { protocol: string; operations: string[]; control: string[] }> {
    const out: Record<string, { protocol: string; operations: string[]; control: string[] }> = {};
    for (const [name, { def }] of this.services) {
      out[name] = {
        protocol: def.protocol,
        operations: Object.keys(def.operations).sort(),
        control: (def.control ?? []).map((c) => `${c.method} /_emulator/services/${name}${c.path}`),
      };
    }
    return out;
  }

  /** Forgets every resource, fault, journal entry, job, scenario and event; the clock keeps its time. */
  reset(): void {
    // A shared value gone after the reset must leave the state directory too.
    if (this.durable) for (const key of this.sharedValues.keys()) this.changed.add(`shared:${key}`);
    this.sharedValues.clear();
    for (const [name, runtime] of this.services) runtime.state = runtime.def.createState(this.scopeFor(name));
    this.faults.clear();
    this.journal.clear();
    this.jobs.reset();
    this.events.reset();
    this.markEverythingChanged();
  }

  // ---- durable state (persistence/durable-state.ts reads and replaces these) ----

  /** A service's state may have changed: it and the shared values it holds are written at the next `persist()`. */
  markServiceChanged(service: string): void {
    if (!this.durable) return;
    this.changed.add(`service:${service}`);
    for (const key of this.sharedKeysOf.get(service) ?? []) this.changed.add(`shared:${key}`);
  }

  /** `clock`, `jobs` or `events` changed. */
  markChanged(unit: 'clock' | 'jobs' | 'events'): void {
    if (this.durable) this.changed.add(unit);
  }

  markEverythingChanged(): void {
    if (!this.durable) return;
    for (const name of this.services.keys()) this.markServiceChanged(name);
    for (const unit of ['clock', 'jobs', 'events'] as const) this.changed.add(unit);
  }

  /**
   * Writes what changed since the last call (synchronously) and then lets the events it published go out. Called
   * before a request is answered and on the job tick; throws when the state cannot be written, and the changes stay
   * marked for the next call.
   */
  persist(): void {
    if (!this.durable || this.changed.size === 0) return;
    // After close the directory may already be another emulator's: a change now is refused, not written or answered.
    if (this.stateClosed) throw new Error('the emulator is shutting down; its state directory is closed');
    this.durable.commit([...this.changed]);
    this.changed.clear();
    this.events.release();
  }

  /**
   * Resolves once every change made so far is written (at once when there is none). Requests arriving together
   * share one write (group commit): each waits for it before its answer goes out, reads included, so no client is
   * told of a change a crash could still lose.
   */
  flush(): Promise<void> {
    if (!this.durable || this.changed.size === 0) return this.pendingFlush ?? Promise.resolve();
    this.pendingFlush ??= new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        this.pendingFlush = undefined;
        try {
          this.persist();
          resolve();
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
    return this.pendingFlush;
  }

  /** Writes what is left and gives the state directory up (on close). */
  closeState(): void {
    try {
      this.persist();
    } finally {
      this.stateClosed = true;
      this.durable?.release();
    }
  }

  /** The lifecycle a service declared for a job kind. */
  declaredLifecycle(service: string, kind: string): LifecycleDefinition | undefined {
    return this.lifecycles.get(`${service}\u0000${kind}`);
  }

  serviceState(name: string): unknown {
    return this.services.get(name)?.state;
  }

  /** Replaces a service's state with a restored one, or (state undefined) with a fresh one on the current shared values. */
  replaceServiceState(name: string, state?: unknown): void {
    const runtime = this.services.get(name);
    if (!runtime) throw new Error(`no service ${name}`);
    runtime.state = state === undefined ? runtime.def.createState(this.scopeFor(name)) : state;
  }

  /** The live shared values by key. */
  sharedState(): Map<string, unknown> {
    return this.sharedValues;
  }

  serviceContext(runtime: ServiceRuntime, region: string = DEFAULT_REGION): ServiceContext<unknown> {
    const def = runtime.def;
    return {
      service: def.name,
      region,
      accountId: ACCOUNT_ID,
      state: runtime.state,
      nowMs: () => this.clock.now(),
      now: () => new Date(this.clock.now()),
      error: (code, message, options = {}) => new EmulatorError(code, message, options.httpStatus ?? 400, options.fields ?? {}, options.headers ?? {}),
      publish: (event) => {
        this.events.publish(event, region);
      },
      jobs: this.jobs.forService(def.name),
      arn: (resource, arnService) => `arn:aws:${arnService ?? def.arnService ?? def.name}:${region}:${ACCOUNT_ID}:${resource}`,
      endpoint: this.endpoint,
      holdClock: (key) => {
        const holdKey = `${def.name}:${key}`;
        this.heldClock?.markBusy?.(holdKey);
        return () => {
          this.advanceJobs();
          this.heldClock?.markIdle?.(holdKey);
        };
      },
    };
  }

  private transitionContext(service: string): TransitionContext {
    const runtime = this.services.get(service);
    return {
      service,
      region: DEFAULT_REGION,
      accountId: ACCOUNT_ID,
      state: runtime?.state,
      nowMs: () => this.clock.now(),
      publish: (event) => {
        this.events.publish(event);
      },
      jobs: this.jobs.forService(service),
    };
  }

  /** Observes job transitions; a failing transition hook is a service bug, logged, and must not fail the request. */
  advanceJobs(): void {
    try {
      this.jobs.advance();
    } catch (err) {
      this.log?.error({ err }, 'a job transition hook failed');
    }
    this.advanceServices();
  }

  /** Services' time-driven work up to now, then a wake-up of a jumping clock at the next moment any has work. */
  private advanceServices(): void {
    let next = Infinity;
    for (const [name, runtime] of this.services) {
      const { advance, nextWakeMs } = runtime.def;
      if (!advance && !nextWakeMs) continue;
      const ctx = this.serviceContext(runtime);
      try {
        if (advance?.(ctx)) this.markServiceChanged(name);
        const at = nextWakeMs?.(ctx);
        if (at !== undefined && at < next) next = at;
      } catch (err) {
        this.log?.error({ err, service: name }, 'a service time step failed');
      }
    }
    const clock = this.baseClock;
    if (!clock?.scheduleAt || next === this.wakeAt) return;
    this.cancelWake?.();
    this.cancelWake = undefined;
    this.wakeAt = next;
    if (next === Infinity) return;
    this.cancelWake = clock.scheduleAt(next, () => {
      this.cancelWake = undefined;
      this.wakeAt = Infinity;
      this.advanceJobs();
    });
  }

  private wakeAt = Infinity;
  private cancelWake?: () => void;

  runtime(name: string): ServiceRuntime | undefined {
    return this.services.get(name);
  }

  private route(method: string, path: string, query: Record<string, string>, headers: IncomingHttpHeaders, body: Buffer): Routed {
    const target = headers['x-amz-target'];
    if (typeof target === 'string' && target.length > 0) {
      const dot = target.lastIndexOf('.');
      const prefix = target.slice(0, dot);
      const operation = target.slice(dot + 1);
      const service = this.byTarget.get(prefix);
      if (!service) return { ok: false, serviceName: `(X-Amz-Target prefix ${prefix})`, operation, protocol: 'awsJson1_1' };
      const op = service.def.operations[operation];
      if (!op) return { ok: false, service, serviceName: service.def.name, operation, protocol: service.def.protocol };
      return { ok: true, service, operation, op, params: {} };
    }
    const { signingName } = signingScope(headers);
    const contentType = String(headers['content-type'] ?? '');
    if (method === 'POST' && contentType.startsWith('application/x-www-form-urlencoded')) {
      const form = new URLSearchParams(body.toString('utf8'));
      const action = form.get('Action') ?? '';
      const version = form.get('Version') ?? undefined;
      const candidates = [...this.services.values()].filter((s) => s.def.protocol === 'awsQuery' || s.def.protocol === 'ec2Query');
      const service =
        candidates.find((s) => signingName !== undefined && (s.def.signingName ?? s.def.name) === signingName) ??
        candidates.find((s) => version !== undefined && s.def.apiVersion === version);
      if (!service) return { ok: false, serviceName: signingName ?? `(query API version ${version ?? 'none'})`, operation: action, protocol: 'awsQuery' };
      const op = service.def.operations[action];
      if (!op) return { ok: false, service, serviceName: service.def.name, operation: action, protocol: service.def.protocol };
      return { ok: true, service, operation: action, op, params: {} };
    }
    // A query API reached by a plain GET, as SNS's SubscribeURL and UnsubscribeURL are (`/?Action=ConfirmSubscription&...`).
    if (method === 'GET' && query.Action !== undefined) {
      const service = [...this.services.values()].find((s) => s.def.protocol === 'awsQuery' && s.def.operations[query.Action as string] !== undefined && (signingName === undefined || (s.def.signingName ?? s.def.name) === signingName));
      const op = service?.def.operations[query.Action];
      if (service && op) return { ok: true, service, operation: query.Action, op, params: {} };
    }
    let best: { r: RestRoute; params: Record<string, string>; score: number[] } | undefined;
    for (const r of this.restRoutes) {
      if (r.route.method !== method) continue;
      if (r.route.queryRequired?.some((q) => !(q in query))) continue;
      if (r.route.headersRequired?.some((h) => headers[h] === undefined)) continue;
      const params = matchPath(r.compiled, path);
      if (!params) continue;
      const score = [
        signingName !== undefined && (r.service.def.signingName ?? r.service.def.name) === signingName ? 1 : 0,
        query['x-id'] === r.operation ? 1 : 0,
        (r.route.queryRequired?.length ?? 0) + (r.route.headersRequired?.length ?? 0),
        r.compiled.literalLength,
      ];
      if (!best || compareScores(score, best.score) > 0) best = { r, params, score };
    }
    if (best) return { ok: true, service: best.r.service, operation: best.r.operation, op: best.r.op, route: best.r.route, params: best.params };
    const service = [...this.services.values()].find((s) => signingName !== undefined && (s.def.signingName ?? s.def.name) === signingName);
    return {
      ok: false,
      service,
      serviceName: service?.def.name ?? signingName ?? '(unknown service)',
      operation: query['x-id'] ?? `${method} ${path}`,
      protocol: service?.def.protocol ?? 'restJson1',
    };
  }

  /** Serves one request. Never throws: every failure becomes an AWS-shaped error answer. */
  async handle(raw: RawRequest): Promise<Outcome> {
    const started = performance.now();
    const requestId = randomUUID();
    const url = new URL(raw.url, 'http://emulator');
    const path = url.pathname;
    const query: Record<string, string> = {};
    const queryAll: Record<string, string[]> = {};
    for (const [k, v] of url.searchParams) {
      query[k] = v;
      (queryAll[k] ??= []).push(v);
    }
    const sdk = parseSdkRequestHeader(raw.headers['amz-sdk-request'] as string | undefined);
    const invocationId = raw.headers['amz-sdk-invocation-id'];
    const { region = DEFAULT_REGION } = signingScope(raw.headers);
    const time = new Date(this.clock.now()).toISOString();
    const seq = this.journal.nextSeq();

    let serviceName = '(unknown service)';
    let operation = `${raw.method} ${path}`;
    let protocolDef: Pick<ServiceDefinition<unknown>, 'protocol' | 'queryCompatible' | 'xmlNamespace'> = { protocol: 'awsJson1_1' };
    const fired: { fault?: Fault } = {};

    const finish = (outcome: Outcome, errorCode?: string): Outcome => {
      this.journal.add({
        seq,
        time,
        service: serviceName,
        operation,
        attempt: sdk.attempt,
        ...(sdk.max !== undefined ? { maxAttempts: sdk.max } : {}),
        ...(typeof invocationId === 'string' ? { invocationId } : {}),
        requestId,
        status: outcome.kind === 'respond' ? outcome.response.status : 0,
        ...(errorCode ? { error: errorCode } : outcome.kind === 'reset' ? { error: 'ConnectionReset' } : {}),
        ...(fired.fault ? { fault: fired.fault.id } : {}),
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      });
      return outcome;
    };
    const fail = (err: EmulatorError): Outcome => {
      // An after-commit fault loses the answer whatever it was: the client sees a reset, the journal the error.
      if (fired.fault?.mode === 'after-commit') return finish({ kind: 'reset' }, `ConnectionReset (${err.code})`);
      return finish({ kind: 'respond', response: encodeError(protocolDef, err, requestId) }, err.code);
    };

    let body: Buffer;
    let headers: IncomingHttpHeaders = raw.headers;
    try {
      const decoded = decodeBody(raw.body, raw.headers);
      body = decoded.body;
      if (Object.keys(decoded.trailers).length > 0) headers = { ...raw.headers, ...decoded.trailers };
    } catch (err) {
      const e = err instanceof WireError ? err : new WireError('InvalidRequest', String(err));
      // Answer in the protocol of the service the request was meant for, so its client can read the error.
      const guess = this.route(raw.method, path, query, raw.headers, raw.body);
      if (guess.ok) {
        serviceName = guess.service.def.name;
        operation = guess.operation;
        protocolDef = guess.service.def;
      }
      return fail(new EmulatorError(e.code, e.message, 400));
    }

    const routed = this.route(raw.method, path, query, headers, body);
    if (!routed.ok) {
      serviceName = routed.service?.def.name ?? routed.serviceName;
      operation = routed.operation;
      protocolDef = routed.service?.def ?? { protocol: routed.protocol };
      return fail(
        new EmulatorError(
          'UnknownOperationException',
          `the emulator does not emulate operation ${routed.operation} of service ${routed.serviceName}`,
          501,
        ),
      );
    }
    const { service, op, route } = routed;
    const def = service.def;
    serviceName = def.name;
    operation = routed.operation;
    protocolDef = def;

    // Jobs move with the clock: observe their transitions (and side effects) before answering.
    this.advanceJobs();

    const fault = this.faults.take(def.name, operation);
    fired.fault = fault;
    if (fault && fault.mode === 'before') {
      const code = faultErrorCode(fault, def.protocol);
      const status = fault.httpStatus ?? (code === 'SlowDown' ? 503 : 400);
      return fail(new EmulatorError(code, fault.message ?? `injected fault ${fault.id}`, status));
    }

    let input: Record<string, unknown>;
    try {
      input = decodeInput(def, route, { body, headers, query, queryAll, params: routed.params });
    } catch (err) {
      if (err instanceof WireError) return fail(new EmulatorError(err.code, err.message, 400));
      throw err;
    }
    const validation = validateInput(op.input, input);
    if (!validation.ok) {
      const v = def.validationError ?? { code: 'ValidationException' };
      return fail(new EmulatorError(v.code, validation.message, v.httpStatus ?? 400));
    }

    // A durable emulator writes the service's state before answering (also after a failure: a handler may change
    // state before it throws).
    if (!isReadOnly(operation, op)) this.markServiceChanged(def.name);
    const ctx: OperationContext<unknown> = {
      ...this.serviceContext(service, region),
      operation,
      requestId,
      http: {
        method: raw.method,
        path: safeDecode(path),
        query,
        queryAll,
        headers,
        body,
        params: routed.params,
      },
    };
    let output: unknown;
    try {
      output = await op.handler(validation.value, ctx);
    } catch (err) {
      if (err instanceof EmulatorError) return fail(err);
      this.log?.error({ err, service: def.name, operation }, 'emulated operation failed');
      return fail(new EmulatorError(def.protocol === 'restXml' ? 'InternalError' : 'InternalFailure', `emulator bug: ${(err as Error).message}`, 500));
    }

    if (op.cloudTrail ?? isMutating(operation)) this.publishCloudTrail(def, operation, region, requestId, validation.value, output, headers);

    if (fault && fault.mode === 'after-commit') return finish({ kind: 'reset' });
    let response: HttpResponse;
    try {
      response = encodeOutput(def, operation, route, output, requestId);
    } catch (err) {
      this.log?.error({ err, service: def.name, operation }, 'emulated operation answered something that cannot be encoded');
      return fail(new EmulatorError('InternalFailure', `emulator bug: ${(err as Error).message}`, 500));
    }
    return finish({ kind: 'respond', response });
  }

  private publishCloudTrail(
    def: ServiceDefinition<unknown>,
    operation: string,
    region: string,
    requestId: string,
    input: unknown,
    output: unknown,
    headers: IncomingHttpHeaders,
  ): void {
    const signingName = def.signingName ?? def.name;
    const eventTime = new Date(this.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    this.events.publish(
      {
        source: `aws.${signingName}`,
        detailType: 'AWS API Call via CloudTrail',
        detail: {
          eventVersion: '1.09',
          userIdentity: {
            type: 'IAMUser',
            principalId: 'AIDAEMULATOR',
            arn: `arn:aws:iam::${ACCOUNT_ID}:user/emulator`,
            accountId: ACCOUNT_ID,
            accessKeyId: 'emulator',
            userName: 'emulator',
          },
          eventTime,
          eventSource: `${signingName}.amazonaws.com`,
          eventName: operation,
          awsRegion: region,
          sourceIPAddress: '127.0.0.1',
          userAgent: String(headers['user-agent'] ?? ''),
          requestParameters: cloudTrailShape(input),
          responseElements: output instanceof HttpResponse ? null : cloudTrailShape(output ?? null),
          requestID: requestId,
          eventID: randomUUID(),
          readOnly: false,
          eventType: 'AwsApiCall',
          managementEvent: true,
          recipientAccountId: ACCOUNT_ID,
          eventCategory: 'Management',
        },
      },
      region,
    );
  }
}

function compareScores(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return 0;
}

/** CloudTrail writes parameter names in lowerCamelCase and times as ISO strings. */
function cloudTrailShape(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(cloudTrailShape);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k.charAt(0).toLowerCase() + k.slice(1)] = cloudTrailShape(v);
    return out;
  }
  return value;
}
