/**
 * Protobuf's JSON mapping, as Temporal's HTTP gateway writes and reads it: lowerCamelCase names, default values
 * omitted, enums by full name, 64-bit integers as decimal strings, bytes as base64, and the well-known types in their
 * JSON forms (Timestamp as RFC 3339, Duration as "1.5s", Any with "@type", FieldMask, Struct, wrappers). protobufjs's
 * own toObject/fromObject do not know these forms, so both directions walk the message types here.
 */
import * as protobuf from 'protobufjs/light';
import { status } from '@grpc/grpc-js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A request the JSON mapping cannot read: answered INVALID_ARGUMENT, as the gateway does. */
export class JsonMappingError extends Error {
  readonly code = status.INVALID_ARGUMENT;
}

// @temporalio/proto may carry its own copy of protobufjs: reflection objects are told apart by shape, not instanceof.
const isType = (t: unknown): t is protobuf.Type => typeof t === 'object' && t !== null && 'fieldsArray' in t;
const isEnum = (t: unknown): t is protobuf.Enum => typeof t === 'object' && t !== null && 'valuesById' in t;

const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INT32 = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const FLOAT = new Set(['double', 'float']);

export const lowerCamel = (name: string): string => name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

type Long = { toString(): string; isZero(): boolean };
const isLong = (v: unknown): v is Long => typeof v === 'object' && v !== null && typeof (v as Long).isZero === 'function';

// ---------------------------------------------------------------------------------------------------------------
// Writing: a decoded message to JSON.

/** Go's protojson writes 0, 3, 6 or 9 fractional digits. */
function fraction(nanos: number): string {
  if (nanos === 0) return '';
  const digits = String(nanos).padStart(9, '0');
  if (nanos % 1_000_000 === 0) return `.${digits.slice(0, 3)}`;
  if (nanos % 1_000 === 0) return `.${digits.slice(0, 6)}`;
  return `.${digits}`;
}

const num = (v: unknown): number => (isLong(v) ? Number(v.toString()) : Number(v ?? 0));

function timestampJson(m: { seconds?: unknown; nanos?: number }): string {
  const seconds = num(m.seconds);
  const iso = new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  return `${iso}${fraction(m.nanos ?? 0)}Z`;
}

function durationJson(m: { seconds?: unknown; nanos?: number }): string {
  const seconds = num(m.seconds);
  const nanos = m.nanos ?? 0;
  const negative = seconds < 0 || nanos < 0;
  return `${negative ? '-' : ''}${Math.abs(seconds)}${fraction(Math.abs(nanos))}s`;
}

function isDefault(field: protobuf.Field, value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (isType(field.resolvedType)) return false;
  if (isLong(value)) return value.isZero();
  if (field.type === 'bytes') return (value as ArrayLike<number>).length === 0;
  return value === 0 || value === '' || value === false;
}

function scalarJson(field: protobuf.Field, value: unknown): Json {
  const rt = field.resolvedType;
  if (isEnum(rt)) {
    const n = Number(value);
    return rt.valuesById[n] ?? n;
  }
  if (isType(rt)) return messageJson(rt, value as protobuf.Message);
  if (INT64.has(field.type)) return String(value);
  if (field.type === 'bytes') return Buffer.from(value as Uint8Array).toString('base64');
  if (FLOAT.has(field.type)) {
    const n = Number(value);
    if (Number.isNaN(n)) return 'NaN';
    if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
    return n;
  }
  return value as Json;
}

function resolved(type: protobuf.Type): protobuf.Field[] {
  for (const f of type.fieldsArray) f.resolve();
  return type.fieldsArray;
}

const WRAPPERS = new Set(['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map((n) => `.google.protobuf.${n}`));

function wellKnownJson(type: protobuf.Type, m: Record<string, unknown>): Json | undefined {
  switch (type.fullName) {
    case '.google.protobuf.Timestamp':
      return timestampJson(m);
    case '.google.protobuf.Duration':
      return durationJson(m);
    case '.google.protobuf.Empty':
      return {};
    case '.google.protobuf.FieldMask':
      return ((m.paths as string[] | undefined) ?? []).map(lowerCamel).join(',');
    case '.google.protobuf.Struct': {
      const out: JsonObject = {};
      const valueType = type.lookupType('google.protobuf.Value');
      for (const [k, v] of Object.entries((m.fields as Record<string, protobuf.Message>) ?? {})) out[k] = messageJson(valueType, v);
      return out;
    }
    case '.google.protobuf.ListValue': {
      const valueType = type.lookupType('google.protobuf.Value');
      return ((m.values as protobuf.Message[]) ?? []).map((v) => messageJson(valueType, v));
    }
    case '.google.protobuf.Value': {
      if (m.nullValue !== undefined && m.nullValue !== null && Object.prototype.hasOwnProperty.call(m, 'nullValue')) return null;
      if (Object.prototype.hasOwnProperty.call(m, 'numberValue')) return m.numberValue as number;
      if (Object.prototype.hasOwnProperty.call(m, 'stringValue')) return m.stringValue as string;
      if (Object.prototype.hasOwnProperty.call(m, 'boolValue')) return m.boolValue as boolean;
      if (m.structValue) return messageJson(type.lookupType('google.protobuf.Struct'), m.structValue as protobuf.Message);
      if (m.listValue) return messageJson(type.lookupType('google.protobuf.ListValue'), m.listValue as protobuf.Message);
      return null;
    }
    case '.google.protobuf.Any': {
      const url = String(m.type_url ?? m.typeUrl ?? '');
      const inner = type.root.lookup(url.slice(url.lastIndexOf('/') + 1));
      const bytes = (m.value as Uint8Array | undefined) ?? new Uint8Array();
      if (!isType(inner)) return { '@type': url, value: Buffer.from(bytes).toString('base64') };
      const json = messageJson(inner, inner.decode(bytes));
      if (json !== null && typeof json === 'object' && !Array.isArray(json) && !wellKnownJsonForm(inner)) return { '@type': url, ...json };
      return { '@type': url, value: json };
    }
    default:
      if (WRAPPERS.has(type.fullName)) {
        const field = resolved(type)[0]!;
        return scalarJson(field, m.value ?? (field.type === 'bool' ? false : field.type === 'string' ? '' : 0));
      }
      return undefined;
  }
}

const wellKnownJsonForm = (type: protobuf.Type): boolean => type.fullName.startsWith('.google.protobuf.');

/** A decoded message (protobufjs instance) as protobuf JSON. */
export function messageJson(type: protobuf.Type, message: protobuf.Message | Record<string, unknown>): Json {
  const m = message as unknown as Record<string, unknown>;
  const wkt = wellKnownJson(type, m);
  if (wkt !== undefined) return wkt;
  const out: JsonObject = {};
  for (const field of resolved(type)) {
    const value = m[field.name];
    const name = lowerCamel(field.name);
    if (field.map) {
      const entries = Object.entries((value as Record<string, unknown> | undefined) ?? {});
      if (entries.length === 0) continue;
      out[name] = Object.fromEntries(entries.map(([k, v]) => [k, scalarJson(field, v)]));
    } else if (field.repeated) {
      const list = (value as unknown[] | undefined) ?? [];
      if (list.length === 0) continue;
      out[name] = list.map((v) => scalarJson(field, v));
    } else if (field.partOf) {
      // A oneof member (or proto3 `optional`) is written when set, even with its default value.
      if (value === null || value === undefined || !Object.prototype.hasOwnProperty.call(m, field.name)) continue;
      out[name] = scalarJson(field, value);
    } else {
      if (isDefault(field, value)) continue;
      out[name] = scalarJson(field, value);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading: JSON (a body, or query and path parameters as strings) to a plain object for Type.fromObject.

const fail = (path: string, what: string): never => {
  throw new JsonMappingError(`invalid value for ${path || 'the request'}: ${what}`);
};

function parseSecondsAndNanos(text: string, path: string, what: string): { seconds: number; nanos: number } {
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?$/.exec(text);
  if (!m) return fail(path, what);
  const sign = m[1] ? -1 : 1;
  return { seconds: sign * Number(m[2]), nanos: sign * Number((m[3] ?? '').padEnd(9, '0') || '0') };
}

function timestampFromJson(v: unknown, path: string): { seconds: number; nanos: number } {
  if (typeof v !== 'string') return fail(path, 'an RFC 3339 timestamp string');
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(v);
  if (!m) return fail(path, `an RFC 3339 timestamp, not ${JSON.stringify(v)}`);
  const ms = Date.parse(`${m[1]}${m[3]!.toUpperCase()}`);
  if (Number.isNaN(ms)) return fail(path, `an RFC 3339 timestamp, not ${JSON.stringify(v)}`);
  return { seconds: Math.floor(ms / 1000), nanos: Number((m[2] ?? '').padEnd(9, '0') || '0') };
}

function durationFromJson(v: unknown, path: string): { seconds: number; nanos: number } {
  if (typeof v !== 'string' || !v.endsWith('s')) return fail(path, `a duration such as "10s" or "1.5s", not ${JSON.stringify(v)}`);
  return parseSecondsAndNanos(v.slice(0, -1), path, `a duration such as "10s" or "1.5s", not ${JSON.stringify(v)}`);
}

function bytesFromJson(v: unknown, path: string): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) return fail(path, 'base64 bytes');
  return Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

function scalarFromJson(field: protobuf.Field, v: unknown, path: string): unknown {
  const rt = field.resolvedType;
  if (isEnum(rt)) {
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
    if (typeof v === 'string' && rt.values[v] !== undefined) return rt.values[v];
    return fail(path, `one of ${Object.keys(rt.values).join(', ')}`);
  }
  if (isType(rt)) return messageFromJson(rt, v, path);
  if (INT64.has(field.type)) {
    if ((typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^-?\d+$/.test(v))) return String(v);
    return fail(path, 'an integer');
  }
  if (INT32.has(field.type)) {
    const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) return fail(path, 'an integer');
    return n;
  }
  if (FLOAT.has(field.type)) {
    if (typeof v === 'number') return v;
    if (v === 'NaN' || v === 'Infinity' || v === '-Infinity' || (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)))) return Number(v);
    return fail(path, 'a number');
  }
  if (field.type === 'bool') {
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    return fail(path, 'true or false');
  }
  if (field.type === 'bytes') return bytesFromJson(v, path);
  if (typeof v !== 'string') return fail(path, 'a string');
  return v;
}

function wellKnownFromJson(type: protobuf.Type, v: unknown, path: string): { value: unknown } | undefined {
  switch (type.fullName) {
    case '.google.protobuf.Timestamp':
      return { value: timestampFromJson(v, path) };
    case '.google.protobuf.Duration':
      return { value: durationFromJson(v, path) };
    case '.google.protobuf.FieldMask':
      if (typeof v !== 'string') return fail(path, 'a field mask string');
      return { value: { paths: v === '' ? [] : v.split(',').map((p) => p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)) } };
    case '.google.protobuf.Struct':
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(path, 'an object');
      return { value: { fields: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, valueFromJson(x)])) } };
    case '.google.protobuf.ListValue':
      if (!Array.isArray(v)) return fail(path, 'an array');
      return { value: { values: v.map(valueFromJson) } };
    case '.google.protobuf.Value':
      return { value: valueFromJson(v) };
    case '.google.protobuf.Any': {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(path, 'an object with "@type"');
      const { '@type': url, ...rest } = v as Record<string, unknown>;
      if (typeof url !== 'string') return fail(path, 'an object with "@type"');
      const inner = type.root.lookup(url.slice(url.lastIndexOf('/') + 1));
      if (!isType(inner)) return fail(path, `a known message type, not ${url}`);
      const body = wellKnownJsonForm(inner) ? rest.value : rest;
      const bytes = inner.encode(inner.fromObject(messageFromJson(inner, body, path) as Record<string, unknown>)).finish();
      return { value: { type_url: url, value: Buffer.from(bytes) } };
    }
    default:
      if (WRAPPERS.has(type.fullName)) return { value: { value: scalarFromJson(resolved(type)[0]!, v, path) } };
      return undefined;
  }
}

function valueFromJson(v: unknown): Record<string, unknown> {
  if (v === null) return { nullValue: 0 };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(valueFromJson) } };
  return { structValue: { fields: Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, valueFromJson(x)])) } };
}

/** The field named `key` (its JSON name, or its proto name in snake_case), if the message has one. */
export function fieldByName(type: protobuf.Type, key: string): protobuf.Field | undefined {
  const camel = lowerCamel(key);
  return resolved(type).find((f) => f.name === key || lowerCamel(f.name) === camel);
}

/**
 * JSON to a plain object that `type.fromObject` turns into the message. Unknown fields are ignored; a single value
 * where a list is expected (one query parameter) is a list of one.
 */
export function messageFromJson(type: protobuf.Type, json: unknown, path = ''): unknown {
  const wkt = wellKnownFromJson(type, json, path);
  if (wkt) return wkt.value;
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return fail(path, 'an object');
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const field = fieldByName(type, key);
    if (!field || value === null || value === undefined) continue;
    const at = path ? `${path}.${lowerCamel(field.name)}` : lowerCamel(field.name);
    if (field.map) {
      if (typeof value !== 'object' || Array.isArray(value)) fail(at, 'an object');
      out[field.name] = Object.fromEntries(Object.entries(value as object).map(([k, x]) => [k, scalarFromJson(field, x, `${at}.${k}`)]));
    } else if (field.repeated) {
      const list = Array.isArray(value) ? value : [value];
      out[field.name] = list.map((x, i) => scalarFromJson(field, x, `${at}[${i}]`));
    } else {
      out[field.name] = scalarFromJson(field, value, at);
    }
  }
  return out;
}

/**
 * Sets one field of a plain request object (as messageFromJson makes) from a path of field names and a text value,
 * as path and query parameters give them; `append` adds to a repeated field (a query key given again).
 * Unknown names are ignored (false), as the gateway ignores unknown query parameters of no consequence.
 */
export function setFieldFromText(type: protobuf.Type, plain: Record<string, unknown>, names: string[], text: string, append = false): boolean {
  let t = type;
  let target = plain;
  for (let i = 0; i < names.length; i++) {
    const field = fieldByName(t, names[i]!);
    if (!field || field.map) return false;
    const at = names.slice(0, i + 1).map(lowerCamel).join('.');
    if (i === names.length - 1) {
      const value = isType(field.resolvedType) && !wellKnownJsonForm(field.resolvedType) ? fail(at, 'a field of a message, not the message') : scalarFromJson(field, text, at);
      if (field.repeated) {
        const list = append && Array.isArray(target[field.name]) ? (target[field.name] as unknown[]) : [];
        target[field.name] = [...list, value];
      } else {
        target[field.name] = value;
      }
      return true;
    }
    if (!(isType(field.resolvedType)) || field.repeated) return false;
    const next = target[field.name];
    target = (next !== null && typeof next === 'object' ? next : (target[field.name] = {})) as Record<string, unknown>;
    t = field.resolvedType;
  }
  return false;
}
