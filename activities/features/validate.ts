/**
 * The client-side check of a source against a feature group, before anything is written: every column a feature
 * of the group, the record identifier and event time present in every row, every value of its feature's type,
 * event times in a format the Feature Store takes. Problems name the file, the row and the column.
 */
import type { RowValues } from './sources';

export interface FeatureSpec {
  name: string;
  type: 'Integral' | 'Fractional' | 'String';
}

export interface IngestionTarget {
  featureGroupName: string;
  recordIdentifierFeatureName: string;
  eventTimeFeatureName: string;
  features: FeatureSpec[];
}

export interface SourceProblem {
  file: string;
  /** 1-based data row (header excluded); 0 for the header. */
  row: number;
  column: string;
  problem: string;
}

export function describeProblem(p: SourceProblem): string {
  return `${p.file} ${p.row === 0 ? 'header' : `row ${p.row}`}, column ${p.column}: ${p.problem}`;
}

const INTEGRAL = /^[-+]?\d{1,19}$/;
const FRACTIONAL = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const ISO_EVENT_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

export function checkColumns(target: IngestionTarget, file: string, columns: readonly string[]): SourceProblem[] {
  const known = new Set(target.features.map((f) => f.name));
  const problems: SourceProblem[] = [];
  for (const c of columns) if (!known.has(c)) problems.push({ file, row: 0, column: c, problem: `not a feature of ${target.featureGroupName}` });
  for (const required of [target.recordIdentifierFeatureName, target.eventTimeFeatureName]) {
    if (!columns.includes(required)) problems.push({ file, row: 0, column: required, problem: `missing: every record needs it` });
  }
  return problems;
}

/** Checks one row's values; returns its problems (none: the row can be written). */
export function checkRow(target: IngestionTarget, types: ReadonlyMap<string, FeatureSpec['type']>, file: string, row: number, values: RowValues): SourceProblem[] {
  const problems: SourceProblem[] = [];
  for (const [column, value] of Object.entries(values)) {
    const type = types.get(column);
    if (!type || value === undefined || value === '') continue;
    if (type === 'Integral' && (!INTEGRAL.test(value) || BigInt(value) > 2n ** 63n - 1n || BigInt(value) < -(2n ** 63n))) {
      problems.push({ file, row, column, problem: `${JSON.stringify(value)} is not Integral (a 64-bit integer)` });
    } else if (type === 'Fractional' && !(FRACTIONAL.test(value) && Number.isFinite(Number(value)))) {
      problems.push({ file, row, column, problem: `${JSON.stringify(value)} is not Fractional (a number)` });
    }
  }
  for (const required of [target.recordIdentifierFeatureName, target.eventTimeFeatureName]) {
    const v = values[required];
    if (v === undefined || v === '') problems.push({ file, row, column: required, problem: 'empty: every record needs it' });
  }
  const et = values[target.eventTimeFeatureName];
  if (et !== undefined && et !== '') {
    const type = types.get(target.eventTimeFeatureName);
    const ok = type === 'Fractional' ? FRACTIONAL.test(et) : ISO_EVENT_TIME.test(et);
    if (!ok && !problems.some((p) => p.column === target.eventTimeFeatureName)) {
      problems.push({
        file,
        row,
        column: target.eventTimeFeatureName,
        problem: `${JSON.stringify(et)} is not an event time (${type === 'Fractional' ? 'Unix seconds' : "yyyy-MM-dd'T'HH:mm:ssZ or yyyy-MM-dd'T'HH:mm:ss.SSSZ"})`,
      });
    }
  }
  return problems;
}
