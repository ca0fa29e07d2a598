/**
 * Parquet, in one place for the pipelines and the emulator: hyparquet reads (a whole object in memory, or ranged
 * reads through the caller's AsyncBuffer), hyparquet-writer writes synchronously once loaded, and Parquet values
 * become the strings CSV would have carried.
 */
import { loadParquetReader, loadParquetWriter } from './esm-import';

type ParquetWriter = typeof import('hyparquet-writer');

let writer: ParquetWriter | undefined;
let loadingWriter: Promise<ParquetWriter> | undefined;

/** Starts loading the writer (once per process); emulated handlers are synchronous, so they write only once it is here. */
export function parquetWriterReady(): Promise<ParquetWriter> {
  loadingWriter ??= loadParquetWriter().then((m) => (writer = m));
  return loadingWriter;
}

/** The writer when loaded (see parquetWriterReady), else undefined. */
export function loadedParquetWriter(): ParquetWriter | undefined {
  return writer;
}

/** A Parquet value as text: integers and decimals as digits, timestamps as ISO 8601, null as undefined. */
export function parquetValue(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : undefined;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return String(v);
}

/** A Parquet file starts and ends with the magic `PAR1`. */
export function isParquet(body: Uint8Array): boolean {
  const magic = (at: number) => body[at] === 0x50 && body[at + 1] === 0x41 && body[at + 2] === 0x52 && body[at + 3] === 0x31;
  return body.length >= 12 && magic(0) && magic(body.length - 4);
}

export interface ParquetTable {
  /** Column names, in file order. */
  columns: string[];
  /** Rows as the file holds them (numbers, bigints, strings, Dates, null), in column order. */
  rows: unknown[][];
}

/** Every row of a Parquet object held in memory. Throws on a file that is not valid Parquet. */
export async function readParquetTable(body: Uint8Array): Promise<ParquetTable> {
  const hp = await loadParquetReader();
  const file = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
  const metadata = hp.parquetMetadata(file);
  const columns = hp.parquetSchema(metadata).children.map((c) => c.element.name);
  const rows = (await hp.parquetReadObjects({ file, metadata })).map((o) => columns.map((c) => (o as Record<string, unknown>)[c] ?? null));
  return { columns, rows };
}
