/**
 * Visibility over the in-memory runs: ListWorkflowExecutions / CountWorkflowExecutions with the query language,
 * custom search attributes (register, validate, upsert) and the execution info the SDK reads from list/describe.
 * Records are computed from the runs when asked: there is no second copy to keep in sync.
 */
import { ServiceError, invalidArgument } from './errors';
import type { NamespaceState } from './namespaces';
import type { SearchAttributes } from './proto-types';
import { durationFromMs, timestampFromMs } from './time-format';
import { compileVisibilityQuery, systemSearchAttributes, VisibilityQueryError } from './visibility/query';
import {
  SearchAttributeError,
  decodeSearchAttributes,
  encodeSearchAttributes,
  searchAttributeTypeFromProto,
  searchAttributeTypeToProto,
  validateSearchAttributes,
} from './visibility/search-attributes';
import type { SearchAttributeType, VisibilityRecord } from './visibility/types';
import { STATUS_ENUM, type WorkflowRun } from './workflow-run';

const DEFAULT_PAGE_SIZE = 1000;

/**
 * Attributes the real server predefines beside the system ones: SDKs upsert them (patched() writes
 * TemporalChangeVersion) and queries may use them, but they are not listed as custom.
 */
const PREDEFINED: ReadonlyMap<string, SearchAttributeType> = new Map<string, SearchAttributeType>([
  ['TemporalChangeVersion', 'KeywordList'],
  ['BinaryChecksums', 'KeywordList'],
  ['BuildIds', 'KeywordList'],
  ['TemporalScheduledStartTime', 'Datetime'],
  ['TemporalScheduledById', 'Keyword'],
  ['TemporalSchedulePaused', 'Bool'],
  ['TemporalNamespaceDivision', 'Keyword'],
  ['TemporalWorkerDeployment', 'Keyword'],
  ['TemporalWorkerDeploymentVersion', 'Keyword'],
  ['TemporalWorkflowVersioningBehavior', 'Keyword'],
  ['TemporalReportedProblems', 'KeywordList'],
]);

/** What a namespace accepts in upserts and queries: predefined plus its registered custom attributes. */
export function knownAttributes(ns: NamespaceState): ReadonlyMap<string, SearchAttributeType> {
  return new Map([...PREDEFINED, ...ns.customSearchAttributes]);
}

/** Decodes and checks search attributes sent by a client or a workflow; INVALID_ARGUMENT when they do not fit. */
export function validatedSearchValues(ns: NamespaceState, attrs: SearchAttributes | undefined): Record<string, unknown> {
  const fields = attrs?.indexedFields;
  if (!fields || Object.keys(fields).length === 0) return {};
  try {
    const known = knownAttributes(ns);
    return validateSearchAttributes(decodeSearchAttributes(fields, known), known);
  } catch (err) {
    if (err instanceof SearchAttributeError) throw invalidArgument(err.message);
    throw err;
  }
}

/** As DescribeWorkflowExecution and ListWorkflowExecutions return them: typed payloads the SDK can decode. */
export function encodedSearchAttributes(ns: NamespaceState, run: WorkflowRun): SearchAttributes | undefined {
  if (Object.keys(run.searchValues).length === 0) return undefined;
  return { indexedFields: encodeSearchAttributes(run.searchValues, knownAttributes(ns)) };
}

/**
 * Search attributes as the real server hands them out in history events: a payload without `type` metadata gets
 * its attribute's registered type, so a workflow reading its search attributes sees a Datetime as a Date.
 */
export function withTypeMetadata(ns: NamespaceState, attrs: SearchAttributes | undefined): SearchAttributes | undefined {
  const fields = attrs?.indexedFields;
  if (!fields) return attrs;
  const known = knownAttributes(ns);
  const typed: NonNullable<SearchAttributes['indexedFields']> = {};
  for (const [name, payload] of Object.entries(fields)) {
    const type = known.get(name);
    typed[name] = payload.metadata?.type || !type ? payload : { ...payload, metadata: { ...payload.metadata, type: Buffer.from(type) } };
  }
  return { ...attrs, indexedFields: typed };
}

export function visibilityRecord(run: WorkflowRun): VisibilityRecord {
  return {
    WorkflowId: run.workflowId,
    RunId: run.runId,
    WorkflowType: run.config.workflowType,
    ExecutionStatus: run.status,
    StartTime: run.startTime,
    CloseTime: run.closeTime,
    ExecutionTime: run.executionTime,
    TaskQueue: run.config.taskQueue,
    custom: run.searchValues,
  };
}

export function executionInfo(ns: NamespaceState, run: WorkflowRun): object {
  const parent = run.config.parent;
  return {
    execution: run.execution,
    type: run.workflowTypeMessage,
    startTime: timestampFromMs(run.startTime),
    closeTime: run.closeTime !== undefined ? timestampFromMs(run.closeTime) : undefined,
    status: STATUS_ENUM[run.status],
    historyLength: run.lastEventId,
    parentExecution: parent ? { workflowId: parent.workflowId, runId: parent.runId } : undefined,
    executionTime: timestampFromMs(run.executionTime),
    memo: run.memo,
    searchAttributes: encodedSearchAttributes(ns, run),
    taskQueue: run.config.taskQueue,
    stateTransitionCount: run.lastEventId,
    historySizeBytes: run.historySizeBytes,
    executionDuration: run.closeTime !== undefined ? durationFromMs(run.closeTime - run.startTime) : undefined,
    firstRunId: run.config.firstExecutionRunId,
  };
}

function compile(ns: NamespaceState, query: string | undefined, allowGroupBy = false): ReturnType<typeof compileVisibilityQuery> {
  try {
    return compileVisibilityQuery(query ?? '', knownAttributes(ns), { allowGroupBy });
  } catch (err) {
    if (err instanceof VisibilityQueryError) throw invalidArgument(`invalid query: ${err.message}`);
    throw err;
  }
}

export function listWorkflowExecutions(ns: NamespaceState, req: { pageSize?: number; nextPageToken?: Buffer; query?: string }): object {
  const q = compile(ns, req.query);
  const runs = [...ns.runs.values()].map((run) => ({ run, record: visibilityRecord(run) })).filter((r) => q.matches(r.record));
  if (q.compare) {
    const compare = q.compare;
    runs.sort((a, b) => compare(a.record, b.record));
  }
  const offset = req.nextPageToken && req.nextPageToken.length > 0 ? Number(req.nextPageToken.toString('utf8')) || 0 : 0;
  const pageSize = req.pageSize && req.pageSize > 0 ? req.pageSize : DEFAULT_PAGE_SIZE;
  const page = runs.slice(offset, offset + pageSize);
  const next = offset + page.length < runs.length ? Buffer.from(String(offset + page.length)) : undefined;
  return { executions: page.map((r) => executionInfo(ns, r.run)), nextPageToken: next };
}

export function countWorkflowExecutions(ns: NamespaceState, req: { query?: string }): object {
  const q = compile(ns, req.query, true);
  const matching = [...ns.runs.values()].map(visibilityRecord).filter((r) => q.matches(r));
  if (q.groupBy.length === 0) return { count: matching.length };
  const byStatus = new Map<string, number>();
  for (const r of matching) byStatus.set(r.ExecutionStatus, (byStatus.get(r.ExecutionStatus) ?? 0) + 1);
  return {
    count: matching.length,
    groups: [...byStatus].map(([status, count]) => ({
      groupValues: [{ metadata: { encoding: Buffer.from('json/plain'), type: Buffer.from('Keyword') }, data: Buffer.from(JSON.stringify(status)) }],
      count,
    })),
  };
}

// ---- OperatorService: search attribute registration --------------------------------------------------------------

export function addSearchAttributes(ns: NamespaceState, attrs: Record<string, string | number> | undefined): object {
  const entries = Object.entries(attrs ?? {});
  if (entries.length === 0) throw invalidArgument('SearchAttributes are not set on request.');
  const parsed = entries.map(([name, t]) => {
    if (systemSearchAttributes.has(name) || PREDEFINED.has(name)) throw invalidArgument(`Search attribute ${name} is reserved by system.`);
    try {
      return [name, searchAttributeTypeFromProto(t)] as const;
    } catch (err) {
      throw invalidArgument(err instanceof Error ? err.message : String(err));
    }
  });
  for (const [name, type] of parsed) {
    const existing = ns.customSearchAttributes.get(name);
    if (existing && existing !== type) throw new ServiceError(6, `Search attribute ${name} already exists with type ${existing}.`);
  }
  for (const [name, type] of parsed) ns.customSearchAttributes.set(name, type);
  return {};
}

export function removeSearchAttributes(ns: NamespaceState, names: string[] | undefined): object {
  for (const name of names ?? []) {
    if (!ns.customSearchAttributes.has(name)) throw new ServiceError(5, `Search attribute ${name} doesn't exist.`);
  }
  for (const name of names ?? []) ns.customSearchAttributes.delete(name);
  return {};
}

export function listSearchAttributes(ns: NamespaceState): object {
  const customAttributes: Record<string, string> = {};
  for (const [name, type] of ns.customSearchAttributes) customAttributes[name] = searchAttributeTypeToProto(type);
  const systemAttributes: Record<string, string> = {};
  for (const [name, type] of [...systemSearchAttributes, ...PREDEFINED]) systemAttributes[name] = searchAttributeTypeToProto(type);
  return { customAttributes, systemAttributes, storageSchema: {} };
}
