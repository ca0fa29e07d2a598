/**
 * Reading ingestion sources from S3 as streams of rows: CSV through csv-parse (byte offsets kept, so a chunk is a
 * byte range fetched with `Range` and a retry resumes at the byte where its checkpoint stopped), Parquet through
 * hyparquet over ranged GETs (a chunk is a row range, read in slices), and a run's failure ledger (JSON lines).
 * Each row is a map of column name to string, the way the Feature Store runtime takes values.
 */
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { loadParquetReader } from '../../common/esm-import';
import { parquetValue } from '../../common/parquet';
import { FeatureFailure, featureFailure, parseS3Uri, type Chunk, type LedgerEntry } from '../../workflows/features/model';
import { aws } from './aws-errors';

export type RowValues = Record<string, string | undefined>;

export interface SourceRow {
  /** 0-based data row in the file (header excluded). */
  row: number;
  values: RowValues;
  /** CSV: the object offsets where this row starts and just after it ends. */
  startByte?: number;
  endByte?: number;
  /** Ledger rows keep where they came from. */
  origin?: { source: string; row: number };
}

export function requireS3Uri(uri: string): { bucket: string; key: string } {
  const p = parseS3Uri(uri);
  if (!p) throw featureFailure(FeatureFailure.SourceNotFound, `${uri} is not an s3:// URI`);
  return p;
}

/** Every CSV / Parquet object a source names: the object itself, or those under a prefix ending in `/`. */
export async function expandSources(s3: S3Client, sources: readonly string[]): Promise<{ uri: string; format: 'csv' | 'parquet' }[]> {
  const out: { uri: string; format: 'csv' | 'parquet' }[] = [];
  for (const source of sources) {
    const { bucket, key } = requireS3Uri(source);
    const keys: string[] = [];
    if (key === '' || key.endsWith('/')) {
      let token: string | undefined;
      do {
        const page = await aws(`list ${source}`, () => s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, ContinuationToken: token })), FeatureFailure.SourceNotFound);
        for (const o of page.Contents ?? []) if (o.Key && /\.(csv|parquet)$/i.test(o.Key)) keys.push(o.Key);
        token = page.NextContinuationToken;
      } while (token);
      if (keys.length === 0) throw featureFailure(FeatureFailure.SourceNotFound, `${source} holds no .csv or .parquet object`);
    } else {
      await aws(`head ${source}`, () => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })), FeatureFailure.SourceNotFound);
      keys.push(key);
    }
    for (const k of keys.sort()) out.push({ uri: `s3://${bucket}/${k}`, format: /\.parquet$/i.test(k) ? 'parquet' : 'csv' });
  }
  return out;
}

async function objectStream(s3: S3Client, uri: string, range?: { start: number; end?: number }): Promise<Readable> {
  const { bucket, key } = requireS3Uri(uri);
  if (range && range.end !== undefined && range.end <= range.start) {
    const { Readable: R } = await import('node:stream');
    return R.from([]);
  }
  const Range = range ? `bytes=${range.start}-${range.end === undefined ? '' : range.end - 1}` : undefined;
  const out = await aws(`read ${uri}`, () => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(Range ? { Range } : {}) })), FeatureFailure.SourceNotFound);
  return out.Body as Readable;
}

/**
 * Rows of a CSV object. Without `header` the first record is the header (a whole-file read); with it, the stream
 * starts at `byteStart` (a chunk, or a resumed chunk) and the first record there is data row `firstRow`.
 */
export async function* csvRows(s3: S3Client, uri: string, opts: { header?: string[]; byteStart?: number; byteEnd?: number; firstRow?: number } = {}): AsyncGenerator<SourceRow & { header: string[]; fields: number }> {
  const start = opts.byteStart ?? 0;
  const body = await objectStream(s3, uri, opts.header ? { start, end: opts.byteEnd } : undefined);
  const parser = body.pipe(parse({ info: true, relax_column_count: true, bom: !opts.header, skip_empty_lines: true }));
  let header = opts.header;
  let row = opts.firstRow ?? 0;
  const base = opts.header ? start : 0;
  let lastEnd = base;
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: { bytes: number } }>) {
      const endByte = base + item.info.bytes;
      if (!header) {
        header = item.record.map((h) => h.trim());
        lastEnd = endByte;
        continue;
      }
      const values: RowValues = {};
      for (let i = 0; i < header.length; i++) values[header[i]!] = item.record[i];
      yield { row, values, startByte: lastEnd, endByte, header, fields: item.record.length };
      lastEnd = endByte;
      row += 1;
    }
  } finally {
    body.destroy();
  }
}

/** A hyparquet file over ranged S3 GETs, with hyparquet's cache so slices of one row group are fetched once. */
export async function parquetFile(s3: S3Client, uri: string) {
  const { bucket, key } = requireS3Uri(uri);
  const head = await aws(`head ${uri}`, () => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })), FeatureFailure.SourceNotFound);
  const hp = await loadParquetReader();
  const file = hp.cachedAsyncBuffer({
    byteLength: head.ContentLength ?? 0,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const out = await aws(`read ${uri}`, () => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end === undefined ? '' : end - 1}` })), FeatureFailure.SourceNotFound);
      const bytes = await out.Body!.transformToByteArray();
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  });
  const metadata = await hp.parquetMetadataAsync(file);
  return { hp, file, metadata, rows: Number(metadata.num_rows), columns: hp.parquetSchema(metadata).children.map((c) => c.element.name) };
}

const PARQUET_SLICE_ROWS = 5_000;

/** Rows `firstRow` to `endRow` (exclusive) of a Parquet object, read a slice at a time (memory stays flat). */
export async function* parquetRows(s3: S3Client, uri: string, firstRow: number, endRow?: number): AsyncGenerator<SourceRow> {
  const { hp, file, metadata, rows } = await parquetFile(s3, uri);
  const end = Math.min(endRow ?? rows, rows);
  for (let at = firstRow; at < end; at += PARQUET_SLICE_ROWS) {
    const sliceEnd = Math.min(end, at + PARQUET_SLICE_ROWS);
    const objects = await hp.parquetReadObjects({ file, metadata, rowStart: at, rowEnd: sliceEnd });
    for (let i = 0; i < objects.length; i++) {
      const values: RowValues = {};
      for (const [k, v] of Object.entries(objects[i]!)) values[k] = parquetValue(v);
      yield { row: at + i, values };
    }
  }
}

/** The failure-ledger objects of a run, in order. */
export async function ledgerParts(s3: S3Client, bucket: string, prefix: string): Promise<{ key: string; size: number }[]> {
  const parts: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const page = await aws(`list s3://${bucket}/${prefix}`, () => s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })), FeatureFailure.LedgerNotFound);
    for (const o of page.Contents ?? []) if (o.Key?.endsWith('.jsonl')) parts.push({ key: o.Key, size: o.Size ?? 0 });
    token = page.NextContinuationToken;
  } while (token);
  return parts.sort((a, b) => (a.key < b.key ? -1 : 1));
}

export async function readLedgerPart(s3: S3Client, uri: string): Promise<LedgerEntry[]> {
  const body = await objectStream(s3, uri);
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as LedgerEntry);
}

/** Rows of one ledger object (a redrive chunk), from `firstRow` on. */
export async function* ledgerRows(s3: S3Client, uri: string, firstRow: number): AsyncGenerator<SourceRow> {
  const entries = await readLedgerPart(s3, uri);
  for (let i = firstRow; i < entries.length; i++) yield { row: i, values: entries[i]!.record, origin: { source: entries[i]!.source, row: entries[i]!.row } };
}

/** The rows of a chunk from where its checkpoint stands (rows done; for CSV, the byte after the last one). */
export function chunkRows(s3: S3Client, chunk: Chunk, from: { rowsDone: number; nextByte?: number }): AsyncGenerator<SourceRow> {
  if (chunk.format === 'csv') {
    return csvRows(s3, chunk.source, { header: chunk.header!, byteStart: from.nextByte ?? chunk.byteStart!, byteEnd: chunk.byteEnd!, firstRow: chunk.firstRow + from.rowsDone });
  }
  if (chunk.format === 'parquet') return parquetRows(s3, chunk.source, chunk.firstRow + from.rowsDone, chunk.firstRow + chunk.rows);
  return ledgerRows(s3, chunk.source, from.rowsDone);
}
