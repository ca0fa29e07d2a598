import { defineSearchAttributeKey, SearchAttributeType as SdkType, TypedSearchAttributes } from '@temporalio/common';
// The same module the SDK client and workflow code encode search attributes with.
import {
  decodeSearchAttributes as sdkDecodeSearchAttributes,
  decodeTypedSearchAttributes as sdkDecodeTypedSearchAttributes,
  encodeUnifiedSearchAttributes,
} from '@temporalio/common/lib/converter/payload-search-attributes';
import { describe, expect, it } from 'vitest';
import { compileVisibilityQuery } from '../../local/temporal/visibility/query';
import {
  decodeSearchAttributes,
  defaultCustomSearchAttributes,
  encodeSearchAttributes,
  mergeSearchAttributes,
  parseSearchAttributeFlag,
  SearchAttributeError,
  searchAttributeTypeFromProto,
  searchAttributeTypeToProto,
  validateSearchAttributes,
} from '../../local/temporal/visibility/search-attributes';
import type { SearchAttributeType, VisibilityRecord } from '../../local/temporal/visibility/types';

const registered = new Map<string, SearchAttributeType>([...defaultCustomSearchAttributes, ['Tags', 'KeywordList']]);

const keys = {
  keyword: defineSearchAttributeKey('CustomKeywordField', SdkType.KEYWORD),
  text: defineSearchAttributeKey('CustomTextField', SdkType.TEXT),
  int: defineSearchAttributeKey('CustomIntField', SdkType.INT),
  double: defineSearchAttributeKey('CustomDoubleField', SdkType.DOUBLE),
  bool: defineSearchAttributeKey('CustomBoolField', SdkType.BOOL),
  datetime: defineSearchAttributeKey('CustomDatetimeField', SdkType.DATETIME),
  keywordList: defineSearchAttributeKey('Tags', SdkType.KEYWORD_LIST),
};

const when = new Date('2024-05-01T12:34:56.789Z');

function errorOf(action: () => unknown): string {
  try {
    action();
  } catch (err) {
    expect(err).toBeInstanceOf(SearchAttributeError);
    return (err as Error).message;
  }
  throw new Error('no error was thrown');
}

describe('decodeSearchAttributes on SDK-encoded payloads', () => {
  it('decodes typed search attributes (the SDK puts the type in metadata)', () => {
    const payloads = encodeUnifiedSearchAttributes(
      undefined,
      new TypedSearchAttributes([
        { key: keys.keyword, value: 'profile-123' },
        { key: keys.text, value: 'copy the home directory' },
        { key: keys.int, value: 42 },
        { key: keys.double, value: 0.25 },
        { key: keys.bool, value: true },
        { key: keys.datetime, value: when },
        { key: keys.keywordList, value: ['efs', 'studio'] },
      ]),
    );
    expect(Buffer.from(payloads.CustomIntField?.metadata?.type as Uint8Array).toString()).toBe('Int');
    // Without a registry the metadata alone decides the type.
    expect(decodeSearchAttributes(payloads)).toEqual({
      CustomKeywordField: 'profile-123',
      CustomTextField: 'copy the home directory',
      CustomIntField: 42,
      CustomDoubleField: 0.25,
      CustomBoolField: true,
      CustomDatetimeField: when.getTime(),
      Tags: ['efs', 'studio'],
    });
  });

  it('decodes the deprecated untyped form (lists, no type metadata) using the registered types', () => {
    const payloads = encodeUnifiedSearchAttributes({
      CustomKeywordField: ['profile-123'],
      CustomIntField: [7],
      CustomDatetimeField: [when],
      CustomBoolField: [false],
      Tags: ['a', 'b'],
    });
    expect(payloads.CustomIntField?.metadata?.type).toBeUndefined();
    expect(decodeSearchAttributes(payloads, registered)).toEqual({
      CustomKeywordField: 'profile-123',
      CustomIntField: 7,
      CustomDatetimeField: when.getTime(),
      CustomBoolField: false,
      Tags: ['a', 'b'],
    });
  });

  it('turns the SDK ways of clearing an attribute into null', () => {
    const typedClear = encodeUnifiedSearchAttributes(undefined, [{ key: keys.keyword, value: null }]);
    const untypedClear = encodeUnifiedSearchAttributes({ CustomIntField: [] });
    expect(decodeSearchAttributes({ ...typedClear, ...untypedClear }, registered)).toEqual({ CustomKeywordField: null, CustomIntField: null });
    expect(decodeSearchAttributes({ X: { metadata: { encoding: Buffer.from('binary/null') } } })).toEqual({ X: null });
  });

  it('prefers the registered type over the metadata, as the server does', () => {
    const payloads = encodeUnifiedSearchAttributes(undefined, [{ key: defineSearchAttributeKey('CustomKeywordField', SdkType.TEXT), value: 'x' }]);
    expect(decodeSearchAttributes(payloads, registered)).toEqual({ CustomKeywordField: 'x' });
  });

  it('leaves a value that does not fit its type for validation to reject', () => {
    const payloads = encodeUnifiedSearchAttributes({ CustomIntField: ['seven'] });
    const decoded = decodeSearchAttributes(payloads, registered);
    expect(decoded).toEqual({ CustomIntField: ['seven'] });
    expect(errorOf(() => validateSearchAttributes(decoded, registered))).toBe('invalid value for search attribute CustomIntField of type Int: ["seven"]');
  });

  it('refuses payloads that are not JSON', () => {
    const binary = { metadata: { encoding: Buffer.from('binary/plain') }, data: Buffer.from([1, 2]) };
    expect(errorOf(() => decodeSearchAttributes({ CustomKeywordField: binary }))).toBe(
      "search attribute CustomKeywordField: unsupported payload encoding 'binary/plain' (expected json/plain)",
    );
    const broken = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{nope') };
    expect(errorOf(() => decodeSearchAttributes({ CustomKeywordField: broken }))).toContain('payload is not valid JSON');
  });

  it('feeds the query language: a decoded record is found by a query on each type', () => {
    const payloads = encodeUnifiedSearchAttributes(
      undefined,
      new TypedSearchAttributes([
        { key: keys.keyword, value: 'profile-123' },
        { key: keys.int, value: 42 },
        { key: keys.datetime, value: when },
        { key: keys.keywordList, value: ['efs', 'studio'] },
        { key: keys.text, value: 'Copy the home directory' },
      ]),
    );
    const custom = validateSearchAttributes(decodeSearchAttributes(payloads, registered), registered);
    const record: VisibilityRecord = {
      WorkflowId: 'wf',
      RunId: 'run',
      WorkflowType: 'restoreHomeDirectory',
      ExecutionStatus: 'Running',
      StartTime: when.getTime(),
      TaskQueue: 'q',
      custom,
    };
    const query = `CustomKeywordField = 'profile-123' AND CustomIntField >= 42 AND CustomDatetimeField = '${when.toISOString()}' AND Tags = 'studio' AND CustomTextField = 'home'`;
    expect(compileVisibilityQuery(query, registered).matches(record)).toBe(true);
    expect(compileVisibilityQuery(`CustomIntField > 42`, registered).matches(record)).toBe(false);
  });
});

describe('validateSearchAttributes', () => {
  it('returns values in record form, unwrapping one-element lists and parsing datetimes', () => {
    expect(
      validateSearchAttributes(
        { CustomIntField: [3], CustomDatetimeField: '2024-05-01T14:34:56.789+02:00', Tags: ['x'], CustomTextField: null },
        registered,
      ),
    ).toEqual({ CustomIntField: 3, CustomDatetimeField: when.getTime(), Tags: ['x'], CustomTextField: null });
  });

  it('refuses an unregistered attribute', () => {
    expect(errorOf(() => validateSearchAttributes({ CustomFooField: 'x' }, registered))).toBe('search attribute CustomFooField is not defined');
  });

  it('refuses a system attribute', () => {
    expect(errorOf(() => validateSearchAttributes({ WorkflowId: 'x' }, registered))).toBe("WorkflowId attribute can't be set in SearchAttributes");
  });

  it.each([
    ['CustomIntField', 1.5, 'Int', '1.5'],
    ['CustomIntField', '1', 'Int', '"1"'],
    ['CustomDoubleField', 'x', 'Double', '"x"'],
    ['CustomBoolField', 'true', 'Bool', '"true"'],
    ['CustomKeywordField', 5, 'Keyword', '5'],
    ['CustomKeywordField', ['a', 'b'], 'Keyword', '["a","b"]'],
    ['CustomDatetimeField', 'yesterday', 'Datetime', '"yesterday"'],
    ['Tags', 'single', 'KeywordList', '"single"'],
    ['Tags', ['a', 1], 'KeywordList', '["a",1]'],
  ])('refuses %s = %j', (name, value, type, shown) => {
    expect(errorOf(() => validateSearchAttributes({ [name]: value }, registered))).toBe(
      `invalid value for search attribute ${name} of type ${type}: ${shown}`,
    );
  });
});

describe('encodeSearchAttributes', () => {
  it('produces payloads the SDK decodes into both typed and untyped search attributes', () => {
    const values = {
      CustomKeywordField: 'profile-123',
      CustomIntField: 42,
      CustomDoubleField: 0.25,
      CustomBoolField: true,
      CustomDatetimeField: when.getTime(),
      Tags: ['efs', 'studio'],
      Gone: null,
    };
    const payloads = encodeSearchAttributes(values, registered);
    expect(Object.keys(payloads)).not.toContain('Gone');

    const typed = sdkDecodeTypedSearchAttributes(payloads);
    expect(typed.get(keys.keyword)).toBe('profile-123');
    expect(typed.get(keys.int)).toBe(42);
    expect(typed.get(keys.double)).toBe(0.25);
    expect(typed.get(keys.bool)).toBe(true);
    expect(typed.get(keys.datetime)).toEqual(when);
    expect(typed.get(keys.keywordList)).toEqual(['efs', 'studio']);

    const untyped = sdkDecodeSearchAttributes(payloads);
    expect(untyped).toEqual({
      CustomKeywordField: ['profile-123'],
      CustomIntField: [42],
      CustomDoubleField: [0.25],
      CustomBoolField: [true],
      CustomDatetimeField: [when],
      Tags: ['efs', 'studio'],
    });
  });

  it('round-trips through decodeSearchAttributes', () => {
    const values = { CustomKeywordField: 'k', CustomDatetimeField: when.getTime(), Tags: ['a'] };
    expect(decodeSearchAttributes(encodeSearchAttributes(values, registered))).toEqual(values);
  });
});

describe('mergeSearchAttributes', () => {
  it('replaces, adds and removes (null) attributes without touching the original', () => {
    const current = { A: 'a', B: 1 };
    expect(mergeSearchAttributes(current, { B: 2, C: true, A: null })).toEqual({ B: 2, C: true });
    expect(current).toEqual({ A: 'a', B: 1 });
  });
});

describe('search attribute types', () => {
  it('convert between proto enum names and short names in both directions', () => {
    const all: SearchAttributeType[] = ['Keyword', 'Text', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList'];
    for (const type of all) expect(searchAttributeTypeFromProto(searchAttributeTypeToProto(type))).toBe(type);
    expect(searchAttributeTypeToProto('KeywordList')).toBe('INDEXED_VALUE_TYPE_KEYWORD_LIST');
    expect(searchAttributeTypeFromProto('INDEXED_VALUE_TYPE_DATETIME')).toBe('Datetime');
    expect(searchAttributeTypeFromProto('Keyword')).toBe('Keyword');
  });

  it('accept the enum numbers the SDK registers with', () => {
    expect(searchAttributeTypeFromProto(1)).toBe('Text');
    expect(searchAttributeTypeFromProto(7)).toBe('KeywordList');
    expect(searchAttributeTypeFromProto('3')).toBe('Int');
  });

  it('refuse UNSPECIFIED and unknown types', () => {
    expect(errorOf(() => searchAttributeTypeFromProto('INDEXED_VALUE_TYPE_UNSPECIFIED'))).toBe(
      'Unable to read search attribute type: INDEXED_VALUE_TYPE_UNSPECIFIED',
    );
    expect(errorOf(() => searchAttributeTypeFromProto(0))).toContain('Unable to read search attribute type: 0');
    expect(errorOf(() => searchAttributeTypeFromProto('String'))).toContain('String');
  });

  it('read the --search-attribute flag that TestWorkflowEnvironment.createLocal passes', () => {
    const flag = `CustomerId=${TypedSearchAttributes.toMetadataType(SdkType.KEYWORD_LIST)}`;
    expect(parseSearchAttributeFlag(flag)).toEqual(['CustomerId', 'KeywordList']);
    expect(parseSearchAttributeFlag('Score=int')).toEqual(['Score', 'Int']);
    expect(errorOf(() => parseSearchAttributeFlag('Score'))).toContain("invalid search attribute flag 'Score'");
    expect(errorOf(() => parseSearchAttributeFlag('Score=Float'))).toContain('expected Name=Type');
  });

  it('pre-registers the attributes of Temporal’s test server', () => {
    expect(Object.fromEntries(defaultCustomSearchAttributes)).toEqual({
      CustomKeywordField: 'Keyword',
      CustomStringField: 'Text',
      CustomTextField: 'Text',
      CustomIntField: 'Int',
      CustomDoubleField: 'Double',
      CustomBoolField: 'Bool',
      CustomDatetimeField: 'Datetime',
    });
  });
});
