import { VisibilityQueryError } from './query-error';
import { parseVisibilityQuery, type ColumnRef, type ComparisonOperator, type Expr, type Literal } from './query-parser';
import { parseRfc3339 } from './rfc3339';
import type { SearchAttributeType, VisibilityExecutionStatus, VisibilityRecord } from './types';

export { VisibilityQueryError } from './query-error';

export interface CompiledVisibilityQuery {
  matches(r: VisibilityRecord): boolean;
  /**
   * Order to list records in. Always set: the query's ORDER BY (ties broken by the default order),
   * or, without ORDER BY, the real server's default order (see `defaultVisibilityOrder`).
   */
  compare: ((a: VisibilityRecord, b: VisibilityRecord) => number) | undefined;
  /** GROUP BY attributes; only ever `['ExecutionStatus']` or empty, and only when `allowGroupBy` was set. */
  groupBy: readonly string[];
}

export interface CompileVisibilityQueryOptions {
  /** CountWorkflowExecutions accepts `GROUP BY ExecutionStatus`; ListWorkflowExecutions does not. */
  allowGroupBy?: boolean;
}

/** Statuses as the query language names them, by their proto enum number. */
const EXECUTION_STATUSES: readonly (VisibilityExecutionStatus | 'Unspecified')[] = [
  'Unspecified',
  'Running',
  'Completed',
  'Failed',
  'Canceled',
  'Terminated',
  'ContinuedAsNew',
  'TimedOut',
];

type SystemAttribute = 'WorkflowId' | 'RunId' | 'WorkflowType' | 'ExecutionStatus' | 'StartTime' | 'CloseTime' | 'ExecutionTime' | 'TaskQueue';

/** System search attributes a VisibilityRecord carries, with the types the real server gives them. */
export const systemSearchAttributes: ReadonlyMap<string, SearchAttributeType> = new Map<SystemAttribute, SearchAttributeType>([
  ['WorkflowId', 'Keyword'],
  ['RunId', 'Keyword'],
  ['WorkflowType', 'Keyword'],
  ['ExecutionStatus', 'Keyword'],
  ['StartTime', 'Datetime'],
  ['CloseTime', 'Datetime'],
  ['ExecutionTime', 'Datetime'],
  ['TaskQueue', 'Keyword'],
]);

// Real system attributes this server does not record; named so the error says so instead of "not valid".
const UNRECORDED_SYSTEM_ATTRIBUTES: ReadonlySet<string> = new Set([
  'HistoryLength',
  'HistorySizeBytes',
  'ExecutionDuration',
  'StateTransitionCount',
  'ParentWorkflowId',
  'ParentRunId',
  'RootWorkflowId',
  'RootRunId',
  'TemporalNamespaceDivision',
]);

interface Attribute {
  name: string;
  type: SearchAttributeType;
  isStatus: boolean;
  read(r: VisibilityRecord): unknown;
}

type Operand = string | number | boolean;
/** SQL's three-valued logic: null is "unknown", which a missing attribute yields and which never matches. */
type Truth = boolean | null;
type Predicate = (r: VisibilityRecord) => Truth;

/**
 * Compiles a visibility query (the `query` of ListWorkflowExecutions / CountWorkflowExecutions).
 * Semantics follow the real server's SQL visibility store, which `temporal server start-dev` uses (SQLite);
 * ORDER BY follows the Elasticsearch store, the only one that accepts it.
 */
export function compileVisibilityQuery(
  query: string,
  customTypes: ReadonlyMap<string, SearchAttributeType>,
  options: CompileVisibilityQueryOptions = {},
): CompiledVisibilityQuery {
  const parsed = parseVisibilityQuery(query);
  const resolve = (column: ColumnRef): Attribute => resolveAttribute(column, customTypes);

  const groupBy = parsed.groupBy.map((column) => {
    const attribute = resolve(column);
    if (!options.allowGroupBy) notSupported("'GROUP BY' clause (only CountWorkflowExecutions accepts it)");
    if (attribute.name !== 'ExecutionStatus' || parsed.groupBy.length > 1) {
      notSupported(`'GROUP BY' clause is only supported for a single ExecutionStatus search attribute`);
    }
    return attribute.name;
  });

  const predicate = parsed.where ? compileExpr(parsed.where, resolve) : undefined;
  const orderKeys = parsed.orderBy.map(({ column, descending }) => {
    const attribute = resolve(column);
    if (attribute.type === 'Text') {
      notSupported(`unable to sort by search attribute '${attribute.name}' of type Text`);
    }
    return { attribute, descending };
  });

  const compare =
    orderKeys.length === 0
      ? defaultVisibilityOrder
      : (a: VisibilityRecord, b: VisibilityRecord): number => {
          for (const { attribute, descending } of orderKeys) {
            const order = compareForSort(sortValue(attribute, a, descending), sortValue(attribute, b, descending), descending);
            if (order !== 0) return order;
          }
          return defaultVisibilityOrder(a, b);
        };

  return {
    matches: predicate ? (r) => predicate(r) === true : () => true,
    compare,
    groupBy,
  };
}

/**
 * The real server's list order without ORDER BY: open runs first, then by close time, newest first;
 * then start time, newest first; then run id ascending so pages are stable.
 */
export function defaultVisibilityOrder(a: VisibilityRecord, b: VisibilityRecord): number {
  const aClose = a.CloseTime ?? Number.POSITIVE_INFINITY;
  const bClose = b.CloseTime ?? Number.POSITIVE_INFINITY;
  if (aClose !== bClose) return aClose > bClose ? -1 : 1;
  if (a.StartTime !== b.StartTime) return a.StartTime > b.StartTime ? -1 : 1;
  return a.RunId < b.RunId ? -1 : a.RunId > b.RunId ? 1 : 0;
}

function resolveAttribute(column: ColumnRef, customTypes: ReadonlyMap<string, SearchAttributeType>): Attribute {
  const system = systemSearchAttributes.get(column.name);
  if (system) {
    const name = column.name as SystemAttribute;
    return { name, type: system, isStatus: name === 'ExecutionStatus', read: (r) => r[name] };
  }
  // Like the server, `Foo` may name `TemporalFoo` and the other way round.
  const candidates = [column.name, column.name.startsWith('Temporal') ? column.name.slice('Temporal'.length) : `Temporal${column.name}`];
  for (const name of candidates) {
    const type = customTypes.get(name);
    if (type) return { name, type, isStatus: false, read: (r) => r.custom[name] };
  }
  if (UNRECORDED_SYSTEM_ATTRIBUTES.has(column.name)) {
    notSupported(`search attribute '${column.name}' is not recorded by the embedded server`);
  }
  invalid(`column name '${column.name}' is not a valid search attribute`);
}

function compileExpr(expr: Expr, resolve: (column: ColumnRef) => Attribute): Predicate {
  switch (expr.type) {
    case 'and': {
      const left = compileExpr(expr.left, resolve);
      const right = compileExpr(expr.right, resolve);
      return (r) => and(left(r), right(r));
    }
    case 'or': {
      const left = compileExpr(expr.left, resolve);
      const right = compileExpr(expr.right, resolve);
      return (r) => or(left(r), right(r));
    }
    case 'not': {
      const inner = compileExpr(expr.expr, resolve);
      return (r) => not(inner(r));
    }
    case 'compare':
      return compileComparison(resolve(expr.column), expr.op, expr.value);
    case 'in': {
      const attribute = resolve(expr.column);
      requireOperator(attribute, expr.negated ? 'NOT IN' : 'IN');
      const operands = expr.values.map((value) => toOperand(attribute, value));
      return negateIf(expr.negated, compileMembership(attribute, operands));
    }
    case 'between': {
      const attribute = resolve(expr.column);
      if (!['Datetime', 'Double', 'Int', 'Keyword'].includes(attribute.type)) {
        invalid(`cannot do range condition on search attribute '${attribute.name}' of type ${attribute.type}`);
      }
      const from = toOperand(attribute, expr.from);
      const to = toOperand(attribute, expr.to);
      const range: Predicate = (r) => {
        const value = readScalar(attribute, r);
        return value === null ? null : value >= from && value <= to;
      };
      return negateIf(expr.negated, range);
    }
    case 'isNull': {
      const attribute = resolve(expr.column);
      return (r) => isMissing(attribute, r) !== expr.negated;
    }
    case 'startsWith': {
      const attribute = resolve(expr.column);
      requireOperator(attribute, expr.negated ? 'NOT STARTS_WITH' : 'STARTS_WITH');
      if (expr.value.kind !== 'string') {
        invalid(`right-hand side of 'STARTS_WITH' must be a literal string (got: ${expr.value.text})`);
      }
      const prefix = toOperand(attribute, expr.value) as string;
      const startsWith: Predicate = (r) => {
        const value = readScalar(attribute, r);
        return value === null ? null : String(value).startsWith(prefix);
      };
      return negateIf(expr.negated, startsWith);
    }
    case 'like': {
      const attribute = resolve(expr.column);
      const hint = attribute.type === 'Keyword' ? ' (use STARTS_WITH for a prefix search)' : '';
      notSupported(
        `operator '${expr.negated ? 'NOT LIKE' : 'LIKE'}' not supported for ${attribute.type} type search attribute '${attribute.name}'${hint}`,
      );
    }
  }
}

function compileComparison(attribute: Attribute, op: ComparisonOperator, literal: Literal): Predicate {
  requireOperator(attribute, op);
  const operand = toOperand(attribute, literal);
  if (attribute.type === 'Text') {
    const phrases = textQueryPhrases(operand as string, attribute.name);
    // The SQL store matches text through a full-text index: a missing value is simply "not matching".
    const matches: Predicate = (r) => {
      const value = readScalar(attribute, r);
      if (value === null) return false;
      const words = textWords(String(value));
      return phrases.some((phrase) => containsPhrase(words, phrase));
    };
    return negateIf(op === '!=', matches);
  }
  if (attribute.type === 'KeywordList') return negateIf(op === '!=', compileMembership(attribute, [operand]));
  return (r) => {
    const value = readScalar(attribute, r);
    if (value === null) return null;
    switch (op) {
      case '=':
        return value === operand;
      case '!=':
        return value !== operand;
      case '<':
        return value < operand;
      case '<=':
        return value <= operand;
      case '>':
        return value > operand;
      case '>=':
        return value >= operand;
    }
  };
}

/** `IN` (and KeywordList `=`): for a KeywordList, any element equal to any operand. */
function compileMembership(attribute: Attribute, operands: Operand[]): Predicate {
  if (attribute.type === 'KeywordList') {
    const wanted = new Set(operands);
    // A full-text index backs KeywordList in the SQL store too, so missing means "not a member", not unknown.
    return (r) => readList(attribute, r).some((item) => wanted.has(item));
  }
  return (r) => {
    const value = readScalar(attribute, r);
    return value === null ? null : operands.includes(value);
  };
}

const OPERATORS_BY_TYPE: Readonly<Record<SearchAttributeType, readonly string[]>> = {
  Keyword: ['=', '!=', '<', '<=', '>', '>=', 'IN', 'NOT IN', 'STARTS_WITH', 'NOT STARTS_WITH'],
  KeywordList: ['=', '!=', 'IN', 'NOT IN'],
  Text: ['=', '!='],
  Int: ['=', '!=', '<', '<=', '>', '>=', 'IN', 'NOT IN'],
  Double: ['=', '!=', '<', '<=', '>', '>=', 'IN', 'NOT IN'],
  Bool: ['=', '!=', '<', '<=', '>', '>=', 'IN', 'NOT IN'],
  Datetime: ['=', '!=', '<', '<=', '>', '>=', 'IN', 'NOT IN'],
};

function requireOperator(attribute: Attribute, operator: string): void {
  if (!OPERATORS_BY_TYPE[attribute.type].includes(operator)) {
    notSupported(`operator '${operator}' not supported for ${attribute.type} type search attribute '${attribute.name}'`);
  }
}

/** Checks a literal against the attribute's type and converts it to what record values are compared with. */
function toOperand(attribute: Attribute, literal: Literal): Operand {
  if (literal.kind === 'identifier') {
    notSupported(`column name on the right side of comparison expression (did you forget to quote '${literal.value}'?)`);
  }
  if (literal.kind === 'null') {
    invalid(`NULL is not a value for search attribute ${attribute.name}; use '${attribute.name} IS NULL'`);
  }
  if (attribute.isStatus) return executionStatusOperand(literal);
  const wrongType = (): never =>
    invalid(`invalid value type for search attribute ${attribute.name} of type ${attribute.type}: ${literal.text}`);
  switch (attribute.type) {
    case 'Keyword':
    case 'KeywordList':
    case 'Text':
      return literal.kind === 'string' ? literal.value : wrongType();
    case 'Int':
    case 'Double':
      return literal.kind === 'number' ? literal.value : wrongType();
    case 'Bool':
      return literal.kind === 'bool' ? literal.value : wrongType();
    case 'Datetime':
      if (literal.kind === 'string') {
        const ms = parseRfc3339(literal.value);
        if (ms === undefined) {
          invalid(
            `unable to parse datetime '${literal.value}' for search attribute ${attribute.name} (expected RFC 3339, e.g. 2024-05-01T12:00:00Z)`,
          );
        }
        return ms;
      }
      // The server reads an integer datetime as nanoseconds since the epoch.
      if (literal.kind === 'number' && Number.isInteger(literal.value)) return nanosToMillis(literal.text);
      return wrongType();
  }
}

function executionStatusOperand(literal: Literal): string {
  const valid = EXECUTION_STATUSES.slice(1).join(', ');
  if (literal.kind === 'number') {
    const status = Number.isInteger(literal.value) ? EXECUTION_STATUSES[literal.value] : undefined;
    if (status === undefined) invalid(`invalid ExecutionStatus value ${literal.text} (valid: ${valid})`);
    return status;
  }
  if (literal.kind !== 'string') invalid(`unexpected value type for search attribute ExecutionStatus: ${literal.text}`);
  const name = literal.value.startsWith('WORKFLOW_EXECUTION_STATUS_')
    ? EXECUTION_STATUSES.find((s) => protoStatusName(s) === literal.value)
    : EXECUTION_STATUSES.find((s) => s === literal.value);
  if (name === undefined) invalid(`invalid ExecutionStatus value '${literal.value}' (valid: ${valid})`);
  return name;
}

function protoStatusName(status: string): string {
  return `WORKFLOW_EXECUTION_STATUS_${status.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

function nanosToMillis(digits: string): number {
  const nanos = BigInt(digits.replace(/^-/, '')) * (digits.startsWith('-') ? -1n : 1n);
  return Number(nanos / 1_000_000n) + Number(nanos % 1_000_000n) / 1e6;
}

/** A record's value for a single-valued attribute, or null when missing or not of the attribute's type. */
function readScalar(attribute: Attribute, r: VisibilityRecord): Operand | null {
  const value = attribute.read(r);
  switch (attribute.type) {
    case 'Keyword':
    case 'Text':
      return typeof value === 'string' ? value : null;
    case 'Int':
    case 'Double':
    case 'Datetime':
      return typeof value === 'number' && Number.isFinite(value) ? value : null;
    case 'Bool':
      return typeof value === 'boolean' ? value : null;
    case 'KeywordList':
      return null;
  }
}

function readList(attribute: Attribute, r: VisibilityRecord): string[] {
  const value = attribute.read(r);
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  // A single keyword stored for a KeywordList attribute still counts as a one-element list.
  return typeof value === 'string' ? [value] : [];
}

function isMissing(attribute: Attribute, r: VisibilityRecord): boolean {
  return attribute.type === 'KeywordList' ? readList(attribute, r).length === 0 : readScalar(attribute, r) === null;
}

/** Lower-cased words, accents removed, split on anything not a letter or digit: SQLite's unicode61 tokenizer. */
function textWords(text: string): string[] {
  return text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** The server splits a Text query on spaces and matches if any piece occurs (each piece as a phrase). */
function textQueryPhrases(query: string, attributeName: string): string[][] {
  const phrases = query.split(' ').filter((piece) => piece !== '').map(textWords);
  if (phrases.length === 0) invalid(`unexpected value for Text type search attribute ${attributeName} (no tokens found)`);
  return phrases.filter((phrase) => phrase.length > 0);
}

function containsPhrase(words: string[], phrase: string[]): boolean {
  for (let start = 0; start + phrase.length <= words.length; start++) {
    if (phrase.every((word, i) => words[start + i] === word)) return true;
  }
  return false;
}

/** Sort key; a KeywordList sorts by its smallest element ascending, largest descending, as Elasticsearch does. */
function sortValue(attribute: Attribute, r: VisibilityRecord, descending: boolean): Operand | null {
  if (attribute.type !== 'KeywordList') return readScalar(attribute, r);
  const list = readList(attribute, r).sort();
  return (descending ? list[list.length - 1] : list[0]) ?? null;
}

/** Missing values sort last in both directions (Elasticsearch's default). */
function compareForSort(a: Operand | null, b: Operand | null, descending: boolean): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  if (a === b) return 0;
  return (a < b ? -1 : 1) * (descending ? -1 : 1);
}

function and(a: Truth, b: Truth): Truth {
  if (a === false || b === false) return false;
  return a === null || b === null ? null : true;
}

function or(a: Truth, b: Truth): Truth {
  if (a === true || b === true) return true;
  return a === null || b === null ? null : false;
}

function not(a: Truth): Truth {
  return a === null ? null : !a;
}

function negateIf(negate: boolean, predicate: Predicate): Predicate {
  return negate ? (r) => not(predicate(r)) : predicate;
}

function invalid(message: string): never {
  throw new VisibilityQueryError(`invalid query: invalid expression: ${message}`);
}

function notSupported(message: string): never {
  throw new VisibilityQueryError(`invalid query: operation is not supported: ${message}`);
}
