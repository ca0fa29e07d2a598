import { systemSearchAttributes } from './query';
import { parseRfc3339 } from './rfc3339';
import type { SearchAttributeType } from './types';

/** A search attribute the server must refuse: unregistered, of the wrong type, undecodable. Maps to INVALID_ARGUMENT. */
export class SearchAttributeError extends Error {
  override name = 'SearchAttributeError';
}

/** A `temporal.api.common.v1.Payload` as gRPC hands it over. */
export interface EncodedPayload {
  metadata?: Record<string, Uint8Array | Buffer> | null;
  data?: Uint8Array | Buffer | null;
}

const TYPES: readonly SearchAttributeType[] = ['Text', 'Keyword', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList'];

/**
 * Custom search attributes registered when the server starts, as Temporal's own test server
 * (sdk-java `TestVisibilityStoreImpl`, what `createTimeSkipping` runs) registers them.
 * `temporal server start-dev` registers none; it takes `--search-attribute Name=Type` instead (`parseSearchAttributeFlag`).
 */
export const defaultCustomSearchAttributes: ReadonlyMap<string, SearchAttributeType> = new Map<string, SearchAttributeType>([
  ['CustomKeywordField', 'Keyword'],
  ['CustomStringField', 'Text'],
  ['CustomTextField', 'Text'],
  ['CustomIntField', 'Int'],
  ['CustomDoubleField', 'Double'],
  ['CustomBoolField', 'Bool'],
  ['CustomDatetimeField', 'Datetime'],
]);

/**
 * `INDEXED_VALUE_TYPE_KEYWORD_LIST` (or its enum number, or the short form `KeywordList`) to `KeywordList`.
 * Throws for UNSPECIFIED and anything unknown, as RegisterSearchAttributes / AddSearchAttributes must refuse them.
 */
export function searchAttributeTypeFromProto(t: string | number): SearchAttributeType {
  if (typeof t === 'number' || /^\d+$/.test(t)) {
    const type = TYPES[Number(t) - 1];
    if (type) return type;
  } else {
    const type = TYPES.find((candidate) => candidate === t || searchAttributeTypeToProto(candidate) === t);
    if (type) return type;
  }
  throw new SearchAttributeError(`Unable to read search attribute type: ${String(t)}`);
}

/** `KeywordList` to `INDEXED_VALUE_TYPE_KEYWORD_LIST`. */
export function searchAttributeTypeToProto(t: SearchAttributeType): string {
  return `INDEXED_VALUE_TYPE_${t.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

/** Reads the `Name=Type` value of `temporal server start-dev --search-attribute` (type case-insensitive). */
export function parseSearchAttributeFlag(flag: string): [string, SearchAttributeType] {
  const eq = flag.indexOf('=');
  const name = flag.slice(0, eq).trim();
  const typeText = flag.slice(eq + 1).trim().toLowerCase();
  const type = TYPES.find((candidate) => candidate.toLowerCase() === typeText);
  if (eq <= 0 || !type) {
    throw new SearchAttributeError(`invalid search attribute flag '${flag}': expected Name=Type with Type one of ${TYPES.join(', ')}`);
  }
  return [name, type];
}

/**
 * Decodes `SearchAttributes.indexed_fields` to plain values: string, number, boolean, ms-number for Datetime,
 * string[] for KeywordList, and `null` for a payload that clears the attribute (JSON null, `[]`, binary/null),
 * which the SDK sends when a workflow upserts `[]` or a typed `null`.
 *
 * The value type is the registered type when `registered` knows the attribute (as the real server decides),
 * else the payload's `type` metadata (typed search attributes carry it; the deprecated untyped ones do not).
 * A value that does not fit its type is returned as decoded JSON, for `validateSearchAttributes` to reject.
 */
export function decodeSearchAttributes(
  indexedFields: Record<string, EncodedPayload>,
  registered?: ReadonlyMap<string, SearchAttributeType>,
): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [name, payload] of Object.entries(indexedFields)) {
    const raw = decodePayloadJson(name, payload);
    const metadataType = payload.metadata?.type ? metadataTypeOf(Buffer.from(payload.metadata.type).toString('utf8')) : undefined;
    const type = registered?.get(name) ?? metadataType;
    if (type === undefined) {
      result[name] = Array.isArray(raw) && raw.length === 0 ? null : raw;
      continue;
    }
    const normalized = normalizeValue(raw, type);
    result[name] = normalized.ok ? normalized.value : raw;
  }
  return result;
}

/**
 * Checks decoded values (from `decodeSearchAttributes`) against the registered attributes and returns them
 * normalized to the VisibilityRecord form; `null` (clear the attribute) is always valid for a registered one.
 * Throws SearchAttributeError with the real server's wording for a system, unregistered or wrongly typed attribute.
 */
export function validateSearchAttributes(
  values: Record<string, unknown>,
  registered: ReadonlyMap<string, SearchAttributeType>,
): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    if (systemSearchAttributes.has(name)) {
      throw new SearchAttributeError(`${name} attribute can't be set in SearchAttributes`);
    }
    const type = registered.get(name);
    if (!type) throw new SearchAttributeError(`search attribute ${name} is not defined`);
    const normalized = normalizeValue(value, type);
    if (!normalized.ok) {
      throw new SearchAttributeError(`invalid value for search attribute ${name} of type ${type}: ${describe(value)}`);
    }
    result[name] = normalized.value;
  }
  return result;
}

/** Applies an upsert: later values replace earlier ones, `null` removes the attribute. */
export function mergeSearchAttributes(
  current: Readonly<Record<string, unknown>>,
  update: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...current };
  for (const [name, value] of Object.entries(update)) {
    if (value === null || value === undefined) delete merged[name];
    else merged[name] = value;
  }
  return merged;
}

/**
 * Encodes values (VisibilityRecord form) as the server returns them in DescribeWorkflowExecution and
 * ListWorkflowExecutions: `json/plain` with `type` metadata, which the SDK needs to fill `typedSearchAttributes`.
 * An attribute missing from `registered` gets a type inferred from its value.
 */
export function encodeSearchAttributes(
  values: Readonly<Record<string, unknown>>,
  registered: ReadonlyMap<string, SearchAttributeType>,
): Record<string, { metadata: Record<string, Buffer>; data: Buffer }> {
  const result: Record<string, { metadata: Record<string, Buffer>; data: Buffer }> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value === null || value === undefined) continue;
    const type = registered.get(name) ?? inferType(value);
    const json = type === 'Datetime' && typeof value === 'number' ? new Date(value).toISOString() : value;
    result[name] = {
      metadata: { encoding: Buffer.from('json/plain'), type: Buffer.from(type) },
      data: Buffer.from(JSON.stringify(json)),
    };
  }
  return result;
}

function decodePayloadJson(name: string, payload: EncodedPayload): unknown {
  const encoding = payload.metadata?.encoding ? Buffer.from(payload.metadata.encoding).toString('utf8') : undefined;
  if (encoding === 'binary/null') return null;
  if (encoding !== undefined && encoding !== 'json/plain') {
    throw new SearchAttributeError(`search attribute ${name}: unsupported payload encoding '${encoding}' (expected json/plain)`);
  }
  const text = payload.data ? Buffer.from(payload.data).toString('utf8') : '';
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new SearchAttributeError(`search attribute ${name}: payload is not valid JSON: ${text.slice(0, 100)}`);
  }
}

/** Metadata `type` is usually the short name (`KeywordList`), rarely the enum name (`INDEXED_VALUE_TYPE_KEYWORD_LIST`). */
function metadataTypeOf(text: string): SearchAttributeType | undefined {
  return TYPES.find((candidate) => candidate === text || searchAttributeTypeToProto(candidate) === text);
}

type Normalized = { ok: true; value: unknown } | { ok: false };

/**
 * As the server's decoder: a one-element list stands for its element (older SDKs send lists),
 * an empty list or null clears the attribute, a longer list is only valid for KeywordList.
 */
function normalizeValue(value: unknown, type: SearchAttributeType): Normalized {
  if (value === null || value === undefined) return { ok: true, value: null };
  if (type === 'KeywordList') {
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) return { ok: false };
    return { ok: true, value: value.length === 0 ? null : [...value] };
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return { ok: true, value: null };
    if (value.length > 1) return { ok: false };
    return normalizeValue(value[0], type);
  }
  switch (type) {
    case 'Keyword':
    case 'Text':
      return typeof value === 'string' ? { ok: true, value } : { ok: false };
    case 'Int':
      return Number.isSafeInteger(value) ? { ok: true, value } : { ok: false };
    case 'Double':
      return typeof value === 'number' && Number.isFinite(value) ? { ok: true, value } : { ok: false };
    case 'Bool':
      return typeof value === 'boolean' ? { ok: true, value } : { ok: false };
    case 'Datetime':
      if (typeof value === 'number' && Number.isFinite(value)) return { ok: true, value };
      if (typeof value === 'string') {
        const ms = parseRfc3339(value);
        return ms === undefined ? { ok: false } : { ok: true, value: Math.floor(ms) };
      }
      return { ok: false };
  }
}

function inferType(value: unknown): SearchAttributeType {
  if (Array.isArray(value)) return 'KeywordList';
  if (typeof value === 'boolean') return 'Bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'Int' : 'Double';
  return 'Keyword';
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
