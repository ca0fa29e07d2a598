/**
 * What the Feature Store runtime checks in a record before it writes it, as AWS checks it: every feature defined
 * in the group and named once, the record identifier and the event time present, values of the feature's type
 * (`Integral` a 64-bit integer, `Fractional` a number, `String` any), event times as Unix seconds (`Fractional`)
 * or ISO 8601 `yyyy-MM-dd'T'HH:mm:ssZ` / `yyyy-MM-dd'T'HH:mm:ss.SSSZ` (`String`), a record of at most 350 KB and
 * an identifier of at most 2 KB.
 */
import type { FeatureGroup, FeatureValue } from '../sagemaker/feature-store';

export const MAX_RECORD_BYTES = 350 * 1024;
export const MAX_IDENTIFIER_BYTES = 2 * 1024;
const INTEGRAL = /^[-+]?\d+$/;
const FRACTIONAL = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const ISO_EVENT_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

export interface CheckedRecord {
  identifier: string;
  eventTimeMs: number;
  /** Raw event time string, as written. */
  eventTime: string;
  /** Values in the group's definition order (undefined: not in the record). */
  values: (string | undefined)[];
  sizeBytes: number;
}

export type RecordCheck = { ok: true; record: CheckedRecord } | { ok: false; code: string; message: string };

/** Parses an event time the way the group's event time feature is typed; NaN when it is not one. */
export function parseEventTime(type: string, value: string): number {
  if (type === 'Fractional') return FRACTIONAL.test(value) ? Math.round(Number(value) * 1000) : NaN;
  return ISO_EVENT_TIME.test(value) ? Date.parse(value) : NaN;
}

export function valueMatchesType(type: string, value: string): boolean {
  if (type === 'Integral') {
    if (!INTEGRAL.test(value)) return false;
    const n = BigInt(value);
    return n >= LONG_MIN && n <= LONG_MAX;
  }
  if (type === 'Fractional') return FRACTIONAL.test(value) && Number.isFinite(Number(value));
  return true;
}

/** Feature name -> position, per definitions list (replaced, never mutated, when a group is updated). */
const indexes = new WeakMap<readonly { FeatureName: string }[], Map<string, number>>();

function indexOf(g: FeatureGroup): Map<string, number> {
  let index = indexes.get(g.featureDefinitions);
  if (!index) indexes.set(g.featureDefinitions, (index = new Map(g.featureDefinitions.map((d, i) => [d.FeatureName, i]))));
  return index;
}

export function checkRecord(g: FeatureGroup, record: readonly FeatureValue[]): RecordCheck {
  const index = indexOf(g);
  const values: (string | undefined)[] = new Array<string | undefined>(g.featureDefinitions.length);
  let sizeBytes = 0;
  const fail = (message: string): RecordCheck => ({ ok: false, code: 'ValidationError', message });
  for (const fv of record) {
    const i = index.get(fv.FeatureName);
    if (i === undefined) return fail(`The feature ${fv.FeatureName} is not defined in FeatureGroup ${g.name}.`);
    if (values[i] !== undefined) return fail(`The feature ${fv.FeatureName} appears more than once in the record.`);
    const def = g.featureDefinitions[i]!;
    if ((fv.ValueAsString === undefined) === (fv.ValueAsStringList === undefined)) {
      return fail(`Exactly one of ValueAsString and ValueAsStringList must be set for feature ${fv.FeatureName}.`);
    }
    if (fv.ValueAsStringList !== undefined) {
      if (!def.CollectionType) return fail(`The feature ${fv.FeatureName} is not a collection type; use ValueAsString.`);
      for (const v of fv.ValueAsStringList) {
        if (!valueMatchesType(def.FeatureType, v)) return fail(`The value ${JSON.stringify(v)} of feature ${fv.FeatureName} is not of type ${def.FeatureType}.`);
      }
      values[i] = JSON.stringify(fv.ValueAsStringList);
    } else {
      const v = fv.ValueAsString!;
      if (def.CollectionType) return fail(`The feature ${fv.FeatureName} is a ${def.CollectionType}; use ValueAsStringList.`);
      if (!valueMatchesType(def.FeatureType, v)) return fail(`The value ${JSON.stringify(v)} of feature ${fv.FeatureName} is not of type ${def.FeatureType}.`);
      values[i] = v;
    }
    sizeBytes += Buffer.byteLength(fv.FeatureName) + Buffer.byteLength(values[i]!);
  }
  const idIndex = index.get(g.recordIdentifierFeatureName)!;
  const identifier = values[idIndex];
  if (identifier === undefined || identifier === '') return fail(`The record identifier feature ${g.recordIdentifierFeatureName} is missing from the record.`);
  if (Buffer.byteLength(identifier) > MAX_IDENTIFIER_BYTES) return fail(`The record identifier of ${g.recordIdentifierFeatureName} is longer than ${MAX_IDENTIFIER_BYTES} bytes.`);
  const etIndex = index.get(g.eventTimeFeatureName)!;
  const eventTime = values[etIndex];
  if (eventTime === undefined || eventTime === '') return fail(`The event time feature ${g.eventTimeFeatureName} is missing from the record.`);
  const eventTimeMs = parseEventTime(g.featureDefinitions[etIndex]!.FeatureType, eventTime);
  if (!Number.isFinite(eventTimeMs) || eventTimeMs < 0) {
    return fail(
      `Invalid EventTime ${JSON.stringify(eventTime)} for feature ${g.eventTimeFeatureName}: use Unix seconds (Fractional) or yyyy-MM-dd'T'HH:mm:ssZ / yyyy-MM-dd'T'HH:mm:ss.SSSZ (String).`,
    );
  }
  if (sizeBytes > MAX_RECORD_BYTES) return fail(`The record is ${sizeBytes} bytes; a record can be at most ${MAX_RECORD_BYTES} bytes.`);
  return { ok: true, record: { identifier, eventTimeMs, eventTime, values, sizeBytes } };
}

/** Write units a record costs: one per started KB. */
export function writeUnits(sizeBytes: number): number {
  return Math.max(1, Math.ceil(sizeBytes / 1024));
}
