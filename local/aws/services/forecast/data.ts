/**
 * Dataset data as Forecast checks it: schemas per domain, CSV and Parquet import validation (columns, timestamp format,
 * numbers, required values) with FieldStatistics, and the target time series as the model reads it.
 */
import { isParquet, parquetValue, readParquetTable } from '../../../../common/parquet';
import type { Attribute, DatasetType, FieldStatistic } from './state';

/** The attributes each domain requires per dataset type (the RETAIL and CUSTOM domains; others as CUSTOM). */
const REQUIRED: Record<string, Partial<Record<DatasetType, Attribute[]>>> = {
  RETAIL: {
    TARGET_TIME_SERIES: [
      { AttributeName: 'item_id', AttributeType: 'string' },
      { AttributeName: 'timestamp', AttributeType: 'timestamp' },
      { AttributeName: 'demand', AttributeType: 'float' },
    ],
    RELATED_TIME_SERIES: [
      { AttributeName: 'item_id', AttributeType: 'string' },
      { AttributeName: 'timestamp', AttributeType: 'timestamp' },
    ],
    ITEM_METADATA: [{ AttributeName: 'item_id', AttributeType: 'string' }],
  },
  CUSTOM: {
    TARGET_TIME_SERIES: [
      { AttributeName: 'item_id', AttributeType: 'string' },
      { AttributeName: 'timestamp', AttributeType: 'timestamp' },
      { AttributeName: 'target_value', AttributeType: 'float' },
    ],
    RELATED_TIME_SERIES: [
      { AttributeName: 'item_id', AttributeType: 'string' },
      { AttributeName: 'timestamp', AttributeType: 'timestamp' },
    ],
    ITEM_METADATA: [{ AttributeName: 'item_id', AttributeType: 'string' }],
  },
};

export const DOMAINS = ['RETAIL', 'CUSTOM', 'INVENTORY_PLANNING', 'EC2_CAPACITY', 'WORK_FORCE', 'WEB_TRAFFIC', 'METRICS'] as const;

/** The target attribute of a domain's target time series. */
export function targetAttributeOf(domain: string): string {
  return domain === 'RETAIL' ? 'demand' : 'target_value';
}

/** Why the schema does not fit the domain and type, or undefined. */
export function schemaProblem(domain: string, type: DatasetType, attributes: readonly Attribute[], frequency: string | undefined): string | undefined {
  const names = attributes.map((a) => a.AttributeName);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) return `The attribute ${dup} is defined more than once in the schema`;
  for (const need of REQUIRED[domain]?.[type] ?? REQUIRED.CUSTOM?.[type] ?? []) {
    const got = attributes.find((a) => a.AttributeName === need.AttributeName);
    if (!got) return `The schema of a ${domain} ${type} dataset must contain the attribute ${need.AttributeName} (${need.AttributeType})`;
    const numeric = (t: string) => t === 'float' || t === 'integer';
    if (got.AttributeType !== need.AttributeType && !(numeric(got.AttributeType) && numeric(need.AttributeType))) {
      return `The attribute ${need.AttributeName} of a ${domain} ${type} dataset must be of type ${need.AttributeType}, not ${got.AttributeType}`;
    }
  }
  if (type === 'ITEM_METADATA' && attributes.some((a) => a.AttributeType === 'timestamp')) return 'An ITEM_METADATA dataset cannot have a timestamp attribute';
  if (type !== 'ITEM_METADATA' && frequency === undefined && type === 'TARGET_TIME_SERIES') return 'DataFrequency is required for a TARGET_TIME_SERIES dataset';
  return undefined;
}

/** The timestamp formats Forecast accepts, as patterns. */
const TIMESTAMP_FORMATS: Record<string, RegExp> = {
  'yyyy-MM-dd': /^\d{4}-\d{2}-\d{2}$/,
  'yyyy-MM-dd HH:mm:ss': /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/,
  "yyyy-MM-dd'T'HH:mm:ss": /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/,
  'yyyy-MM-dd HH:mm': /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/,
};

export function timestampFormatProblem(format: string): string | undefined {
  return TIMESTAMP_FORMATS[format] ? undefined : `TimestampFormat ${format} is not supported (use one of ${Object.keys(TIMESTAMP_FORMATS).join(', ')})`;
}

/** Epoch milliseconds of a timestamp in one of the formats (UTC). */
export function timestampMs(value: string): number {
  const iso = value.length === 10 ? `${value}T00:00:00Z` : `${value.replace(' ', 'T')}${value.length === 16 ? ':00' : ''}Z`;
  return Date.parse(iso);
}

export interface ValidatedImport {
  problem?: string;
  lines: string[];
  fieldStatistics: Record<string, FieldStatistic>;
}

/** One data row of an import file: its fields in file order (Forecast maps them to the schema's attributes by position). */
export interface ImportRow {
  /** Where it came from, for messages: `s3://bucket/key line 3`. */
  where: string;
  fields: string[];
}

export interface ImportFile {
  name: string;
  body: Buffer;
}

/** The rows of CSV files: blank lines skipped, and a first line equal to the attribute names taken as a header. */
export function csvImportRows(files: readonly ImportFile[], attributes: readonly Attribute[]): ImportRow[] {
  const header = attributes.map((a) => a.AttributeName).join(',');
  const out: ImportRow[] = [];
  for (const file of files) {
    const rows = file.body.toString('utf8').split(/\r?\n/);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as string;
      if (row.trim() === '' || (i === 0 && row.trim() === header)) continue;
      out.push({ where: `${file.name} line ${i + 1}`, fields: row.split(',') });
    }
  }
  return out;
}

/** A Parquet TIMESTAMP or DATE value in the import's timestamp format (UTC). */
function formatTimestamp(d: Date, timestampFormat: string): string {
  const iso = d.toISOString();
  if (timestampFormat === 'yyyy-MM-dd') return iso.slice(0, 10);
  if (timestampFormat === 'yyyy-MM-dd HH:mm') return iso.slice(0, 16).replace('T', ' ');
  if (timestampFormat === "yyyy-MM-dd'T'HH:mm:ss") return iso.slice(0, 19);
  return iso.slice(0, 19).replace('T', ' ');
}

/**
 * The rows of Parquet files, their columns in file order; a TIMESTAMP or DATE column is written in the import's
 * timestamp format, a string column is validated against it as in CSV. A file that is not Parquet gives a problem.
 */
export async function parquetImportRows(files: readonly ImportFile[], timestampFormat: string): Promise<ImportRow[] | { problem: string }> {
  const out: ImportRow[] = [];
  for (const file of files) {
    if (!isParquet(file.body)) return { problem: `${file.name} is not a Parquet file (Format PARQUET)` };
    let table: Awaited<ReturnType<typeof readParquetTable>>;
    try {
      table = await readParquetTable(file.body);
    } catch (err) {
      return { problem: `${file.name} cannot be read as Parquet: ${(err as Error).message}` };
    }
    table.rows.forEach((row, i) => {
      out.push({ where: `${file.name} row ${i + 1}`, fields: row.map((v) => (v instanceof Date ? formatTimestamp(v, timestampFormat) : (parquetValue(v) ?? ''))) });
    });
  }
  return out;
}

/** Validates import rows against the schema (columns, timestamp format, numbers, required values) with FieldStatistics. */
export function validateImport(rows: Iterable<ImportRow>, attributes: readonly Attribute[], timestampFormat: string): ValidatedImport {
  const pattern = TIMESTAMP_FORMATS[timestampFormat] ?? (TIMESTAMP_FORMATS['yyyy-MM-dd HH:mm:ss'] as RegExp);
  const lines: string[] = [];
  const header = attributes.map((a) => a.AttributeName).join(',');
  const columns = attributes.map(() => ({ count: 0, nulls: 0, nan: 0, distinct: new Set<string>(), numbers: [] as number[], min: undefined as string | undefined, max: undefined as string | undefined }));
  for (const { where, fields } of rows) {
    if (fields.length !== attributes.length) {
      return fail(`${where} has ${fields.length} columns, but the dataset's schema has ${attributes.length} (${header})`);
    }
    for (let c = 0; c < attributes.length; c++) {
      const attr = attributes[c] as Attribute;
      const value = (fields[c] as string).trim();
      const col = columns[c] as (typeof columns)[number];
      col.count++;
      if (value === '') {
        if (attr.AttributeName === 'item_id' || attr.AttributeType === 'timestamp') return fail(`${where}: ${attr.AttributeName} is empty`);
        col.nulls++;
        continue;
      }
      col.distinct.add(value);
      if (attr.AttributeType === 'timestamp') {
        if (!pattern.test(value) || Number.isNaN(timestampMs(value))) return fail(`${where}: the timestamp "${value}" does not match the format ${timestampFormat}`);
        if (col.min === undefined || value < col.min) col.min = value;
        if (col.max === undefined || value > col.max) col.max = value;
      } else if (attr.AttributeType === 'float' || attr.AttributeType === 'integer') {
        if (/^nan$/i.test(value)) {
          col.nan++;
          continue;
        }
        const n = Number(value);
        if (!Number.isFinite(n) || (attr.AttributeType === 'integer' && !Number.isInteger(n))) {
          return fail(`${where}: "${value}" is not a valid ${attr.AttributeType} for ${attr.AttributeName}`);
        }
        col.numbers.push(n);
      }
    }
    lines.push(fields.map((f) => f.trim()).join(','));
  }
  if (lines.length === 0) return fail('The import found no data rows');
  const fieldStatistics: Record<string, FieldStatistic> = {};
  attributes.forEach((attr, c) => {
    const col = columns[c] as (typeof columns)[number];
    const stat: FieldStatistic = { Count: col.count, CountDistinct: col.distinct.size, CountNull: col.nulls, CountNan: col.nan };
    if (col.numbers.length > 0) {
      const avg = col.numbers.reduce((s, v) => s + v, 0) / col.numbers.length;
      const sd = Math.sqrt(col.numbers.reduce((s, v) => s + (v - avg) ** 2, 0) / col.numbers.length);
      stat.Min = String(col.numbers.reduce((m, v) => Math.min(m, v), Infinity));
      stat.Max = String(col.numbers.reduce((m, v) => Math.max(m, v), -Infinity));
      stat.Avg = Math.round(avg * 1e6) / 1e6;
      stat.Stddev = Math.round(sd * 1e6) / 1e6;
    } else if (col.min !== undefined) {
      stat.Min = col.min;
      stat.Max = col.max as string;
    }
    fieldStatistics[attr.AttributeName] = stat;
  });
  return { lines, fieldStatistics };

  function fail(problem: string): ValidatedImport {
    return { problem, lines: [], fieldStatistics: {} };
  }
}

export interface TargetSeries {
  /** Timestamps of the whole axis (ISO), ascending, one step apart. */
  axis: number[];
  items: { itemId: string; values: number[] }[];
}

/**
 * The target time series on one time axis: every item from the first to the last timestamp of the data, a missing
 * step filled with 0 (Forecast's default filling for demand).
 */
export function targetSeries(data: Buffer, attributes: readonly Attribute[], targetAttribute: string, step: number): TargetSeries {
  const iItem = attributes.findIndex((a) => a.AttributeName === 'item_id');
  const iTime = attributes.findIndex((a) => a.AttributeType === 'timestamp');
  const iTarget = attributes.findIndex((a) => a.AttributeName === targetAttribute);
  const byItem = new Map<string, Map<number, number>>();
  let first = Infinity;
  let last = -Infinity;
  for (const line of data.toString('utf8').split('\n')) {
    if (!line) continue;
    const f = line.split(',');
    const t = timestampMs(f[iTime] as string);
    const v = Number(f[iTarget] || 0);
    const item = f[iItem] as string;
    const m = byItem.get(item) ?? new Map<number, number>();
    m.set(t, Number.isFinite(v) ? v : 0);
    byItem.set(item, m);
    first = Math.min(first, t);
    last = Math.max(last, t);
  }
  const axis: number[] = [];
  if (Number.isFinite(first)) for (let t = first; t <= last; t += step) axis.push(t);
  const items = [...byItem.keys()].sort().map((itemId) => {
    const m = byItem.get(itemId) as Map<number, number>;
    return { itemId, values: axis.map((t) => m.get(t) ?? 0) };
  });
  return { axis, items };
}

/** The item ids of an import's data (item metadata, related series). */
export function itemIdsOf(data: Buffer, attributes: readonly Attribute[]): Set<string> {
  const i = attributes.findIndex((a) => a.AttributeName === 'item_id');
  const out = new Set<string>();
  for (const line of data.toString('utf8').split('\n')) if (line) out.add(line.split(',')[i] as string);
  return out;
}
