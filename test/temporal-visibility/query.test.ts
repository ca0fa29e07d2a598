import { describe, expect, it } from 'vitest';
import { compileVisibilityQuery, defaultVisibilityOrder, VisibilityQueryError } from '../../local/temporal/visibility/query';
import { defaultCustomSearchAttributes } from '../../local/temporal/visibility/search-attributes';
import type { SearchAttributeType, VisibilityRecord } from '../../local/temporal/visibility/types';

const customTypes = new Map<string, SearchAttributeType>([
  ...defaultCustomSearchAttributes,
  ['Tags', 'KeywordList'],
  ['TemporalChangeVersion', 'KeywordList'],
]);

const T0 = Date.parse('2024-05-01T12:00:00Z');
const MINUTE = 60_000;

function run(overrides: Partial<VisibilityRecord> & { custom?: Record<string, unknown> }): VisibilityRecord {
  return {
    WorkflowId: 'wf',
    RunId: 'run',
    WorkflowType: 'restoreHomeDirectory',
    ExecutionStatus: 'Running',
    StartTime: T0,
    TaskQueue: 'profile-recovery',
    custom: {},
    ...overrides,
  };
}

const runs: VisibilityRecord[] = [
  run({
    WorkflowId: 'recover-alice',
    RunId: 'r1',
    StartTime: T0,
    custom: { CustomKeywordField: 'alice', CustomIntField: 3, CustomTextField: 'Copy home directory of Alice', Tags: ['efs', 'studio'] },
  }),
  run({
    WorkflowId: 'recover-bob',
    RunId: 'r2',
    ExecutionStatus: 'Completed',
    StartTime: T0 + MINUTE,
    CloseTime: T0 + 5 * MINUTE,
    custom: { CustomKeywordField: 'bob', CustomIntField: 10, CustomDoubleField: 2.5, CustomBoolField: true },
  }),
  run({
    WorkflowId: 'ingest-features',
    RunId: 'r3',
    WorkflowType: 'ingestFeatures',
    TaskQueue: 'feature-ingestion',
    ExecutionStatus: 'Failed',
    StartTime: T0 + 2 * MINUTE,
    CloseTime: T0 + 3 * MINUTE,
    ExecutionTime: T0 + 2 * MINUTE,
    custom: { CustomIntField: -4, CustomDoubleField: 0.5, CustomBoolField: false, CustomDatetimeField: T0 + 10 * MINUTE, Tags: ['parquet'] },
  }),
  run({
    WorkflowId: 'retrain-forecast',
    RunId: 'r4',
    WorkflowType: 'retrainIfDataIsNewer',
    TaskQueue: 'forecast',
    ExecutionStatus: 'ContinuedAsNew',
    StartTime: T0 + 3 * MINUTE,
    CloseTime: T0 + 4 * MINUTE,
    custom: { CustomStringField: 'Forecast predictor retrained; data-is-newer', CustomDatetimeField: T0 },
  }),
];

/** Run ids of the runs a query matches, in input order. */
function select(query: string): string[] {
  const compiled = compileVisibilityQuery(query, customTypes);
  return runs.filter((r) => compiled.matches(r)).map((r) => r.RunId);
}

/** Run ids of the runs a query matches, in the query's list order. */
function list(query: string): string[] {
  const compiled = compileVisibilityQuery(query, customTypes);
  return runs
    .filter((r) => compiled.matches(r))
    .sort(compiled.compare ?? defaultVisibilityOrder)
    .map((r) => r.RunId);
}

function errorOf(query: string, options?: { allowGroupBy?: boolean }): string {
  try {
    compileVisibilityQuery(query, customTypes, options);
  } catch (err) {
    expect(err).toBeInstanceOf(VisibilityQueryError);
    return (err as Error).message;
  }
  throw new Error(`query was accepted: ${query}`);
}

describe('empty query', () => {
  it('matches every run', () => {
    expect(select('')).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(select('   \n ')).toEqual(['r1', 'r2', 'r3', 'r4']);
  });
});

describe('comparison operators on Keyword system attributes', () => {
  it('= and != compare exactly (case-sensitive)', () => {
    expect(select(`WorkflowId = 'recover-bob'`)).toEqual(['r2']);
    expect(select(`WorkflowId = 'Recover-Bob'`)).toEqual([]);
    expect(select(`WorkflowType != 'restoreHomeDirectory'`)).toEqual(['r3', 'r4']);
    expect(select(`WorkflowType <> 'restoreHomeDirectory'`)).toEqual(['r3', 'r4']);
    expect(select(`RunId = 'r3'`)).toEqual(['r3']);
    expect(select(`TaskQueue = 'forecast'`)).toEqual(['r4']);
  });

  it('< <= > >= compare strings lexicographically', () => {
    expect(select(`WorkflowId < 'recover'`)).toEqual(['r3']);
    expect(select(`WorkflowId <= 'recover-alice'`)).toEqual(['r1', 'r3']);
    expect(select(`WorkflowId > 'recover-alice'`)).toEqual(['r2', 'r4']);
    expect(select(`WorkflowId >= 'retrain-forecast'`)).toEqual(['r4']);
  });

  it('IN and NOT IN', () => {
    expect(select(`WorkflowType IN ('ingestFeatures', 'retrainIfDataIsNewer')`)).toEqual(['r3', 'r4']);
    expect(select(`WorkflowType NOT IN ('ingestFeatures', 'retrainIfDataIsNewer')`)).toEqual(['r1', 'r2']);
    expect(select(`WorkflowId in ('recover-bob')`)).toEqual(['r2']);
  });

  it('STARTS_WITH and NOT STARTS_WITH', () => {
    expect(select(`WorkflowId STARTS_WITH 'recover-'`)).toEqual(['r1', 'r2']);
    expect(select(`WorkflowId NOT STARTS_WITH 'recover-'`)).toEqual(['r3', 'r4']);
    expect(select(`WorkflowId starts_with '%'`)).toEqual([]);
  });

  it('BETWEEN is inclusive, NOT BETWEEN its complement', () => {
    expect(select(`WorkflowId BETWEEN 'recover-alice' AND 'recover-bob'`)).toEqual(['r1', 'r2']);
    expect(select(`WorkflowId NOT BETWEEN 'recover-alice' AND 'recover-bob'`)).toEqual(['r3', 'r4']);
  });
});

describe('ExecutionStatus', () => {
  it('is matched by name, by proto enum name and by number', () => {
    expect(select(`ExecutionStatus = 'Running'`)).toEqual(['r1']);
    expect(select(`ExecutionStatus = 'WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW'`)).toEqual(['r4']);
    expect(select(`ExecutionStatus = 3`)).toEqual(['r3']);
    expect(select(`ExecutionStatus != 'Running'`)).toEqual(['r2', 'r3', 'r4']);
    expect(select(`ExecutionStatus IN ('Completed', 'Failed')`)).toEqual(['r2', 'r3']);
  });

  it('rejects an unknown status, naming the valid ones', () => {
    expect(errorOf(`ExecutionStatus = 'Runing'`)).toBe(
      "invalid query: invalid expression: invalid ExecutionStatus value 'Runing' (valid: Running, Completed, Failed, Canceled, Terminated, ContinuedAsNew, TimedOut)",
    );
    expect(errorOf(`ExecutionStatus = 'running'`)).toContain("invalid ExecutionStatus value 'running'");
    expect(errorOf(`ExecutionStatus = 9`)).toContain('invalid ExecutionStatus value 9');
  });
});

describe('Datetime attributes', () => {
  it('compare with RFC 3339 literals in any offset, with or without fraction', () => {
    expect(select(`StartTime > '2024-05-01T12:01:00Z'`)).toEqual(['r3', 'r4']);
    expect(select(`StartTime >= '2024-05-01T12:01:00Z'`)).toEqual(['r2', 'r3', 'r4']);
    expect(select(`StartTime < "2024-05-01T14:01:00.000+02:00"`)).toEqual(['r1']);
    expect(select(`StartTime <= '2024-05-01T12:00:00.000000001Z'`)).toEqual(['r1']);
    expect(select(`StartTime = '2024-05-01T12:00:00Z'`)).toEqual(['r1']);
    expect(select(`StartTime BETWEEN '2024-05-01T12:01:00Z' AND '2024-05-01T12:02:00Z'`)).toEqual(['r2', 'r3']);
  });

  it('compare with integers read as nanoseconds since the epoch', () => {
    const nanos = `${BigInt(T0 + MINUTE) * 1_000_000n}`;
    expect(select(`StartTime = ${nanos}`)).toEqual(['r2']);
  });

  it('never match a run without the value, except through IS NULL', () => {
    expect(select(`CloseTime > '2000-01-01T00:00:00Z'`)).toEqual(['r2', 'r3', 'r4']);
    expect(select(`CloseTime IS NULL`)).toEqual(['r1']);
    expect(select(`CloseTime IS NOT NULL`)).toEqual(['r2', 'r3', 'r4']);
    expect(select(`ExecutionTime = '2024-05-01T12:02:00Z'`)).toEqual(['r3']);
    expect(select(`CustomDatetimeField < '2024-05-01T12:05:00Z'`)).toEqual(['r4']);
  });

  it('reject a literal that is not RFC 3339, naming the attribute', () => {
    expect(errorOf(`StartTime > '2024-05-01'`)).toBe(
      "invalid query: invalid expression: unable to parse datetime '2024-05-01' for search attribute StartTime (expected RFC 3339, e.g. 2024-05-01T12:00:00Z)",
    );
    expect(errorOf(`CloseTime < '2024-02-30T00:00:00Z'`)).toContain("unable to parse datetime '2024-02-30T00:00:00Z'");
    expect(errorOf(`StartTime > true`)).toContain('invalid value type for search attribute StartTime of type Datetime: true');
  });
});

describe('custom attributes by type', () => {
  it('Keyword: exact, ordered, IN, STARTS_WITH, BETWEEN', () => {
    expect(select(`CustomKeywordField = 'alice'`)).toEqual(['r1']);
    expect(select(`CustomKeywordField != 'alice'`)).toEqual(['r2']);
    expect(select(`CustomKeywordField > 'alice'`)).toEqual(['r2']);
    expect(select(`CustomKeywordField IN ('bob', 'carol')`)).toEqual(['r2']);
    expect(select(`CustomKeywordField STARTS_WITH 'al'`)).toEqual(['r1']);
    expect(select(`CustomKeywordField BETWEEN 'a' AND 'b'`)).toEqual(['r1']);
  });

  it('Int and Double compare numerically, with int or decimal literals, negative included', () => {
    expect(select(`CustomIntField > 2`)).toEqual(['r1', 'r2']);
    expect(select(`CustomIntField < -1`)).toEqual(['r3']);
    expect(select(`CustomIntField = -4`)).toEqual(['r3']);
    expect(select(`CustomIntField >= 3.5`)).toEqual(['r2']);
    expect(select(`CustomIntField IN (3, 10)`)).toEqual(['r1', 'r2']);
    expect(select(`CustomIntField NOT IN (3, 10)`)).toEqual(['r3']);
    expect(select(`CustomIntField BETWEEN -5 AND 3`)).toEqual(['r1', 'r3']);
    expect(select(`CustomDoubleField <= 0.5`)).toEqual(['r3']);
    expect(select(`CustomDoubleField = 2.5`)).toEqual(['r2']);
    expect(select(`CustomDoubleField > 1e-1`)).toEqual(['r2', 'r3']);
    expect(select(`CustomDoubleField > 2`)).toEqual(['r2']);
  });

  it('Bool matches true and false, case-insensitively written', () => {
    expect(select(`CustomBoolField = true`)).toEqual(['r2']);
    expect(select(`CustomBoolField = FALSE`)).toEqual(['r3']);
    expect(select(`CustomBoolField != true`)).toEqual(['r3']);
  });

  it('Text matches when any word of the query occurs, ignoring case and punctuation', () => {
    expect(select(`CustomTextField = 'alice'`)).toEqual(['r1']);
    expect(select(`CustomTextField = 'HOME'`)).toEqual(['r1']);
    expect(select(`CustomTextField = 'nothing directory'`)).toEqual(['r1']);
    expect(select(`CustomTextField = 'direct'`)).toEqual([]);
    expect(select(`CustomStringField = 'retrained'`)).toEqual(['r4']);
    // A piece with punctuation is a phrase: its words must be adjacent.
    expect(select(`CustomStringField = 'data-is-newer'`)).toEqual(['r4']);
    expect(select(`CustomStringField = 'newer-data'`)).toEqual([]);
  });

  it('Text != matches runs where no word occurs, including runs without the attribute', () => {
    expect(select(`CustomTextField != 'alice'`)).toEqual(['r2', 'r3', 'r4']);
  });

  it('KeywordList: = and IN match any element, != and NOT IN none', () => {
    expect(select(`Tags = 'efs'`)).toEqual(['r1']);
    expect(select(`Tags IN ('parquet', 'csv')`)).toEqual(['r3']);
    expect(select(`Tags != 'efs'`)).toEqual(['r2', 'r3', 'r4']);
    expect(select(`Tags NOT IN ('efs', 'parquet')`)).toEqual(['r2', 'r4']);
    expect(select(`Tags IS NULL`)).toEqual(['r2', 'r4']);
    expect(select(`Tags IS NOT NULL`)).toEqual(['r1', 'r3']);
  });

  it('the Temporal prefix may be left out, as the server allows', () => {
    const compiled = compileVisibilityQuery(`ChangeVersion = 'fix-1'`, customTypes);
    expect(compiled.matches(run({ custom: { TemporalChangeVersion: ['fix-1'] } }))).toBe(true);
  });

  it('a run missing the attribute matches neither = nor != on a single-valued attribute', () => {
    expect(select(`CustomKeywordField = 'alice' OR CustomKeywordField != 'alice'`)).toEqual(['r1', 'r2']);
    expect(select(`CustomKeywordField IS NULL`)).toEqual(['r3', 'r4']);
    expect(select(`CustomKeywordField NOT IN ('alice')`)).toEqual(['r2']);
  });
});

describe('logical operators', () => {
  it('AND binds tighter than OR', () => {
    expect(select(`WorkflowId = 'recover-alice' OR WorkflowId = 'recover-bob' AND ExecutionStatus = 'Running'`)).toEqual(['r1']);
    expect(select(`ExecutionStatus = 'Running' AND WorkflowId = 'recover-alice' OR WorkflowId = 'recover-bob'`)).toEqual(['r1', 'r2']);
  });

  it('parentheses override precedence and may nest', () => {
    expect(select(`(WorkflowId = 'recover-alice' OR WorkflowId = 'recover-bob') AND ExecutionStatus = 'Completed'`)).toEqual(['r2']);
    expect(select(`((TaskQueue = 'forecast')) OR (CustomIntField > 5 AND (CustomBoolField = true))`)).toEqual(['r2', 'r4']);
  });

  it('NOT negates the predicate or group that follows it, binding tighter than AND', () => {
    expect(select(`NOT ExecutionStatus = 'Running'`)).toEqual(['r2', 'r3', 'r4']);
    expect(select(`NOT ExecutionStatus = 'Running' AND TaskQueue = 'forecast'`)).toEqual(['r4']);
    expect(select(`NOT (WorkflowId STARTS_WITH 'recover' OR TaskQueue = 'forecast')`)).toEqual(['r3']);
    expect(select(`NOT NOT RunId = 'r1'`)).toEqual(['r1']);
  });

  it('NOT of an unknown comparison stays unknown, as in SQL', () => {
    expect(select(`NOT CustomKeywordField = 'alice'`)).toEqual(['r2']);
    expect(select(`NOT CustomKeywordField = 'alice' OR CloseTime IS NULL`)).toEqual(['r1', 'r2']);
  });

  it('keywords are case-insensitive', () => {
    expect(select(`WorkflowType in ('ingestFeatures') or RunId = 'r1'`)).toEqual(['r1', 'r3']);
    expect(select(`WorkflowId Not Between 'a' aNd 'j'`)).toEqual(['r1', 'r2', 'r4']);
    expect(select(`CloseTime is not null and RunId != 'r2'`)).toEqual(['r3', 'r4']);
  });
});

describe('literals and names', () => {
  it('strings may use single or double quotes, doubled or backslash-escaped quotes', () => {
    const compiled = compileVisibilityQuery(`WorkflowId = 'it''s' OR WorkflowId = "say \\"hi\\"" OR WorkflowId = 'a\\'b'`, customTypes);
    expect(compiled.matches(run({ WorkflowId: "it's" }))).toBe(true);
    expect(compiled.matches(run({ WorkflowId: 'say "hi"' }))).toBe(true);
    expect(compiled.matches(run({ WorkflowId: "a'b" }))).toBe(true);
    expect(compiled.matches(run({ WorkflowId: 'its' }))).toBe(false);
  });

  it('names may be backquoted, which also lets a keyword or odd name be an attribute', () => {
    const types = new Map<string, SearchAttributeType>([['Order', 'Int'], ['My Field', 'Keyword']]);
    const compiled = compileVisibilityQuery('`Order` = 1 AND `My Field` = \'x\' AND `WorkflowId` = \'wf\'', types);
    expect(compiled.matches(run({ custom: { Order: 1, 'My Field': 'x' } }))).toBe(true);
    expect(compiled.matches(run({ custom: { Order: 2, 'My Field': 'x' } }))).toBe(false);
  });

  it('attribute names are case-sensitive', () => {
    expect(errorOf(`workflowid = 'x'`)).toBe("invalid query: invalid expression: column name 'workflowid' is not a valid search attribute");
  });
});

describe('ORDER BY', () => {
  it('lists open runs first, then newest close, then newest start, without ORDER BY', () => {
    expect(list('')).toEqual(['r1', 'r2', 'r4', 'r3']);
    const compiled = compileVisibilityQuery('', customTypes);
    expect(compiled.compare).toBe(defaultVisibilityOrder);
  });

  it('breaks default-order ties on run id so pages are stable', () => {
    const a = run({ RunId: 'a' });
    const b = run({ RunId: 'b' });
    expect([b, a].sort(defaultVisibilityOrder).map((r) => r.RunId)).toEqual(['a', 'b']);
  });

  it('sorts ascending by default and descending on DESC', () => {
    expect(list('ORDER BY StartTime')).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(list('ORDER BY StartTime ASC')).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(list('order by StartTime desc')).toEqual(['r4', 'r3', 'r2', 'r1']);
  });

  it('follows a filter, and sorts by several keys', () => {
    expect(list(`CloseTime IS NOT NULL ORDER BY CloseTime DESC`)).toEqual(['r2', 'r4', 'r3']);
    expect(list(`ORDER BY TaskQueue ASC, StartTime DESC`)).toEqual(['r3', 'r4', 'r2', 'r1']);
  });

  it('puts runs without the value last in both directions', () => {
    expect(list('ORDER BY CustomIntField')).toEqual(['r3', 'r1', 'r2', 'r4']);
    expect(list('ORDER BY CustomIntField DESC')).toEqual(['r2', 'r1', 'r3', 'r4']);
    expect(list('ORDER BY CloseTime')).toEqual(['r3', 'r4', 'r2', 'r1']);
  });

  it('refuses to sort by a Text attribute', () => {
    expect(errorOf('ORDER BY CustomTextField')).toBe(
      "invalid query: operation is not supported: unable to sort by search attribute 'CustomTextField' of type Text",
    );
  });
});

describe('GROUP BY', () => {
  it('is accepted for ExecutionStatus when counting', () => {
    expect(compileVisibilityQuery(`WorkflowType = 'x' GROUP BY ExecutionStatus`, customTypes, { allowGroupBy: true }).groupBy).toEqual([
      'ExecutionStatus',
    ]);
    expect(compileVisibilityQuery(`WorkflowType = 'x'`, customTypes, { allowGroupBy: true }).groupBy).toEqual([]);
  });

  it('is refused when listing and for other attributes', () => {
    expect(errorOf('GROUP BY ExecutionStatus')).toContain("'GROUP BY' clause");
    expect(errorOf('GROUP BY WorkflowType', { allowGroupBy: true })).toContain(
      "'GROUP BY' clause is only supported for a single ExecutionStatus search attribute",
    );
  });
});

describe('errors', () => {
  it('an unknown attribute is named', () => {
    expect(errorOf(`CustomFooField = 'x'`)).toBe("invalid query: invalid expression: column name 'CustomFooField' is not a valid search attribute");
    expect(errorOf(`ORDER BY Nope`)).toContain("column name 'Nope' is not a valid search attribute");
  });

  it('a system attribute this server does not record says so', () => {
    expect(errorOf(`HistoryLength > 10`)).toBe(
      "invalid query: operation is not supported: search attribute 'HistoryLength' is not recorded by the embedded server",
    );
  });

  it('a value of the wrong type names attribute, type and value', () => {
    expect(errorOf(`CustomIntField = '5'`)).toBe("invalid query: invalid expression: invalid value type for search attribute CustomIntField of type Int: '5'");
    expect(errorOf(`CustomKeywordField = 5`)).toBe(
      'invalid query: invalid expression: invalid value type for search attribute CustomKeywordField of type Keyword: 5',
    );
    expect(errorOf(`CustomBoolField = 'true'`)).toContain('of type Bool');
    expect(errorOf(`Tags IN ('a', 2)`)).toContain('invalid value type for search attribute Tags of type KeywordList: 2');
  });

  it('an unquoted value is reported as a probably forgotten quote', () => {
    expect(errorOf(`WorkflowId = foo`)).toBe(
      "invalid query: operation is not supported: column name on the right side of comparison expression (did you forget to quote 'foo'?)",
    );
  });

  it('NULL as a value points to IS NULL', () => {
    expect(errorOf(`CloseTime = NULL`)).toContain("use 'CloseTime IS NULL'");
  });

  it('an operator the type does not support names operator, type and attribute', () => {
    expect(errorOf(`CustomTextField > 'a'`)).toBe(
      "invalid query: operation is not supported: operator '>' not supported for Text type search attribute 'CustomTextField'",
    );
    expect(errorOf(`CustomTextField IN ('a')`)).toContain("operator 'IN' not supported for Text type");
    expect(errorOf(`Tags < 'a'`)).toContain("operator '<' not supported for KeywordList type search attribute 'Tags'");
    expect(errorOf(`CustomIntField STARTS_WITH '1'`)).toContain("operator 'STARTS_WITH' not supported for Int type");
    expect(errorOf(`WorkflowId LIKE 'abc%'`)).toBe(
      "invalid query: operation is not supported: operator 'LIKE' not supported for Keyword type search attribute 'WorkflowId' (use STARTS_WITH for a prefix search)",
    );
  });

  it('BETWEEN on a type without order is refused', () => {
    expect(errorOf(`CustomBoolField BETWEEN false AND true`)).toBe(
      "invalid query: invalid expression: cannot do range condition on search attribute 'CustomBoolField' of type Bool",
    );
    expect(errorOf(`Tags BETWEEN 'a' AND 'b'`)).toContain('of type KeywordList');
  });

  it('a Text query with no words is refused', () => {
    expect(errorOf(`CustomTextField = '  '`)).toContain('no tokens found');
  });

  it('syntax errors give the position and what was expected', () => {
    expect(errorOf(`WorkflowId = 'a' AND`)).toBe(
      'invalid query: malformed SQL query: syntax error at end of query: expected a search attribute name, NOT or (',
    );
    expect(errorOf(`WorkflowId = 'a' WorkflowType = 'b'`)).toBe(
      "invalid query: malformed SQL query: syntax error at position 18 near 'WorkflowType': expected AND, OR, ORDER BY or the end of the query",
    );
    expect(errorOf(`(WorkflowId = 'a'`)).toContain("expected ')' or AND/OR");
    expect(errorOf(`WorkflowId 'a'`)).toContain("syntax error at position 12 near ''a'': expected an operator after 'WorkflowId'");
    expect(errorOf(`WorkflowId = 'a`)).toContain("syntax error at position 14 near ''a': expected a closing '");
    expect(errorOf(`WorkflowId IN ()`)).toContain("at position 16 near ')': expected a value");
    expect(errorOf(`WorkflowId IN ('a' 'b')`)).toContain("expected ',' or ')' in the IN list");
    expect(errorOf(`WorkflowId = 'a' # comment`)).toContain("at position 18 near '#'");
    expect(errorOf(`CloseTime IS 5`)).toContain("near '5': expected NULL");
    expect(errorOf(`= 'a'`)).toContain("at position 1 near '='");
    expect(errorOf(`ORDER StartTime`)).toContain("near 'StartTime': expected BY");
  });

  it('LIMIT is refused, as by the server', () => {
    expect(errorOf(`WorkflowId = 'a' LIMIT 5`)).toContain("'LIMIT' clause");
  });
});
