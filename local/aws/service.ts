/**
 * The service plugin interface of the AWS emulator: a service is one `defineService({...})` value listed in
 * `services/index.ts`. The emulator owns the wire (routing, decoding, validation, error encoding, faults,
 * journal, events); a service owns its in-memory state and operation handlers. See SERVICES.md.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ZodType } from 'zod';
import type { JobTracker, LifecycleDefinition } from './jobs';

export type Protocol = 'awsJson1_0' | 'awsJson1_1' | 'restJson1' | 'restXml' | 'awsQuery' | 'ec2Query';

/** Minimal required-field spec, for operations that need no full schema: field name -> wire type. */
export type FieldType = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'timestamp';
export type RequiredFields = Readonly<Record<string, FieldType>>;

/** An AWS-style error a handler throws (built with `ctx.error`); the protocol layer encodes it. */
export class EmulatorError extends Error {
  override readonly name = 'EmulatorError';
  constructor(
    /** The error code the SDK turns into the exception name, e.g. `ResourceNotFound`. */
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
    /** Extra members of the error body (JSON) or `<Error>` element (XML). */
    readonly fields: Readonly<Record<string, unknown>> = {},
    /** Extra response headers, e.g. `Retry-After`. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

export interface ErrorOptions {
  httpStatus?: number;
  fields?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** A handler's raw HTTP answer, for REST operations that set headers or stream bytes (S3). */
export class HttpResponse {
  constructor(
    readonly status: number,
    readonly headers: Readonly<Record<string, string>>,
    readonly body: Buffer | string = '',
  ) {}
}

/** The request as it arrived, after gzip / aws-chunked decoding. */
export interface HttpRequestView {
  readonly method: string;
  /** Decoded path without the query string. */
  readonly path: string;
  /** Query parameters; a repeated key keeps its last value, see `queryAll`. */
  readonly query: Readonly<Record<string, string>>;
  readonly queryAll: Readonly<Record<string, readonly string[]>>;
  /** Lower-case header names; trailers of an aws-chunked body are merged in. */
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** Path parameters of the matched REST route template. */
  readonly params: Readonly<Record<string, string>>;
}

/** An EventBridge event as a service publishes it; the bus adds id, time, account and region. */
export interface PublishedEvent {
  source: string;
  detailType: string;
  detail: unknown;
  resources?: string[];
}

/** What every handler and control endpoint receives besides its input. */
export interface ServiceContext<S> {
  readonly service: string;
  readonly region: string;
  readonly accountId: string;
  /** This emulator's state of the service; replaced by a fresh `createState()` on reset. */
  readonly state: S;
  /** Emulated time (virtual or scaled) in epoch milliseconds, and as a Date. */
  nowMs(): number;
  now(): Date;
  /** The emulator's own base URL once it listens (`http://127.0.0.1:4566`); undefined for an Emulator without a server. */
  readonly endpoint?: string;
  /**
   * Outbound work a service does itself (SNS's HTTP deliveries): a jumping virtual clock waits while it is in flight.
   * The returned release runs the services' time step again (a retry scheduled meanwhile is woken in time), then lets
   * the clock go on.
   */
  holdClock(key: string): () => void;
  /** Builds the typed error to throw: `throw ctx.error('ResourceNotFound', 'Domain d-1 does not exist')`. */
  error(code: string, message: string, options?: ErrorOptions): EmulatorError;
  /** Publishes an EventBridge-style event to the events target (at least once, journaled). */
  publish(event: PublishedEvent): void;
  /** Long-running resources: status from the clock and a per-resource scenario. */
  readonly jobs: JobTracker;
  /** `arn:aws:<service>:<region>:<account>:<resource>`; `arnService` overrides the service part. */
  arn(resource: string, arnService?: string): string;
}

export interface OperationContext<S> extends ServiceContext<S> {
  readonly operation: string;
  readonly requestId: string;
  readonly http: HttpRequestView;
}

/** REST routing of one operation (restJson1, restXml). */
export interface HttpRoute {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'HEAD' | 'PATCH';
  /** Path template: `/2015-02-01/file-systems/{FileSystemId}`, greedy `{Key+}`. */
  path: string;
  /** Query keys that must be present for this route to match (S3 sub-resources: `uploads`, `uploadId`). */
  queryRequired?: readonly string[];
  /** Headers (lower case) that must be present for this route to match (`x-amz-copy-source`). */
  headersRequired?: readonly string[];
  /** Success status (default 200). */
  status?: number;
  /**
   * restJson1: query parameter -> input member, when the names differ (default: same name); a member ending in
   * `[]` collects repeated parameters into a list: `{ FeatureName: 'FeatureNames[]' }`.
   */
  query?: Readonly<Record<string, string>>;
  /** restJson1: header (lower case) -> input member. */
  headers?: Readonly<Record<string, string>>;
}

export interface OperationDefinition<S, I = Record<string, unknown>> {
  /** A zod schema of the decoded input, or a map of required fields and their wire types. */
  input?: ZodType<I> | RequiredFields;
  /** REST protocols; a query-protocol service may also serve a plain GET path this way (SNS's signing certificate). */
  http?: HttpRoute;
  /**
   * Whether a successful call is published as an "AWS API Call via CloudTrail" event. Default: the name starts
   * with a mutating verb (Create, Delete, Update, Put, Start, Stop, ...).
   */
  cloudTrail?: boolean;
  /**
   * Whether the operation leaves the state alone, so a durable emulator writes nothing for it. Default: the name
   * starts with a reading verb (Describe, List, Get, Head, ...); anything else is stored after it runs.
   */
  readOnly?: boolean;
  /**
   * Returns the output: a plain object (Dates become epoch seconds in JSON, ISO 8601 in XML) or an HttpResponse.
   * Mutate state synchronously between checks and writes (no await in between): requests run concurrently.
   */
  handler(input: I, ctx: OperationContext<S>): unknown;
}

/** A service-specific control endpoint under `/_emulator/services/<name>/...`. */
export interface ControlRequest {
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  /** Parsed JSON body (undefined when empty). */
  readonly body: unknown;
}

export interface ControlDefinition<S> {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** Path template relative to `/_emulator/services/<name>`, e.g. `/file-systems/{FileSystemId}/files/{Path+}`. */
  path: string;
  description: string;
  /** Returns the JSON answer (status 200); throw `ctx.error(code, message, { httpStatus })` for errors. */
  handler(req: ControlRequest, ctx: ServiceContext<S>): unknown;
}

/** What `createState` receives: the emulator instance's scope, for state that several services share. */
export interface EmulatorScope {
  /**
   * One value per emulator instance under `key`, made by `create` for the first service that asks, and the same
   * object for every later one (e.g. the EFS file trees that SageMaker, EFS and DataSync all touch). Reset makes
   * fresh shared values before every service's `createState` runs again.
   */
  shared<T>(key: string, create: () => T): T;
}

export interface ServiceDefinition<S = unknown> {
  /** As the SDK package names it: `s3`, `sagemaker`, `datasync`, `sagemaker-featurestore-runtime`, ... */
  name: string;
  protocol: Protocol;
  /** awsJson: the `X-Amz-Target` prefix before the dot (`SageMaker`, `FmrsService`). */
  targetPrefix?: string;
  /** SigV4 signing name from the Authorization header (default `name`): `elasticfilesystem`, `sagemaker`. */
  signingName?: string;
  /** awsQuery / ec2Query: the `Version=` of requests, and the XML namespace of replies. */
  apiVersion?: string;
  xmlNamespace?: string;
  /** awsJson1_0 with `awsQueryCompatible` (CloudWatch): also send `x-amzn-query-error: Code;Sender`. */
  queryCompatible?: boolean;
  /** The service's validation error code (default `ValidationException`) and HTTP status (default 400). */
  validationError?: { code: string; httpStatus?: number };
  /** The ARN service part (default `name`). */
  arnService?: string;
  /** Fresh in-memory state; called at start and on every reset, with the emulator's scope for shared values. */
  createState(scope: EmulatorScope): S;
  operations: Readonly<Record<string, OperationDefinition<S>>>;
  control?: readonly ControlDefinition<S>[];
  /**
   * Every lifecycle whose jobs have an `onTransition` hook, one per kind: a job restored from a state directory gets
   * its hook back from here (its phases and durations are stored with it).
   */
  lifecycles?: readonly LifecycleDefinition[];
  /**
   * Classes whose instances the state holds (name -> class), so a state directory gives them back with their
   * methods. Plain objects, arrays, Map, Set, Date and Buffer need nothing.
   */
  persistentClasses?: Readonly<Record<string, abstract new (...args: never[]) => unknown>>;
  /**
   * Time-driven work (a processing job's per-minute metrics, alarm evaluations) caught up to the emulated now: runs
   * after job transitions, before every request and on the tick, in the order services are listed. Returns whether
   * the state changed (a durable emulator then writes it).
   */
  advance?(ctx: ServiceContext<S>): boolean;
  /** The next emulated time `advance` has work at: a virtual clock that jumps is woken then, never past it. */
  nextWakeMs?(ctx: ServiceContext<S>): number | undefined;
}

/**
 * Declares a service. Typing note: wrap an operation in `operation({...})` for its handler to see the zod schema's
 * output type; a plain operation with a required-fields map sees `Record<string, unknown>` and narrows itself.
 */
export function defineService<S>(def: ServiceDefinition<S>): ServiceDefinition<unknown> {
  // The state type only matters inside the service's own handlers; the emulator treats every state alike.
  return def as unknown as ServiceDefinition<unknown>;
}

/** Declares one operation with its input type inferred from a zod schema. */
export function operation<S, I>(def: OperationDefinition<S, I>): OperationDefinition<S> {
  return def as unknown as OperationDefinition<S>;
}

const MUTATING_VERBS =
  /^(Create|Delete|Update|Put|Start|Stop|Modify|Authorize|Revoke|Tag|Untag|Add|Remove|Register|Deregister|Complete|Abort|Copy|Set|Publish|Subscribe|Unsubscribe|Enable|Disable|Cancel|Restore|Attach|Detach|Associate|Disassociate|Import|Resume|Retry|Send|Upload|Batch(Put|Delete))/;

export function isMutating(operationName: string): boolean {
  return MUTATING_VERBS.test(operationName);
}

const READING_VERBS = /^(Describe|List|Get|Head|Search|Query|Select|Batch(Get|Describe))/;

/** Whether a durable emulator may skip writing after this operation. */
export function isReadOnly(operationName: string, op: Pick<OperationDefinition<unknown>, 'readOnly'>): boolean {
  return op.readOnly ?? READING_VERBS.test(operationName);
}

/** An S3 / query map member: serialised in XML as `<entry><key/><value/></entry>` items. */
export class XmlMap {
  constructor(readonly entries: Readonly<Record<string, unknown>>) {}
}

/** A fresh random id as AWS uses in names and ARNs: `newId('d-')` gives `d-` and 12 lower-case hex characters. */
export function newId(prefix = '', length = 12): string {
  return `${prefix}${randomBytes(Math.ceil(length / 2)).toString('hex').slice(0, length)}`;
}
