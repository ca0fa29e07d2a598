/**
 * Reading ingestion sources from S3 as streams of rows: CSV through Papa Parse (byte offsets kept, so a chunk is a
 * byte range fetched with `Range` and a retry resumes at the byte where its checkpoint stopped), Parquet through
 * hyparquet over ranged GETs (a chunk is a row range, read in slices), and a run's failure ledger (JSON lines).
 * Each row is a map of column name to string, the way the Feature Store runtime takes values.
 */
import type { Readable } from 'node:stream';
import Papa from 'papaparse';
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

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
/** The longest stretch the reader takes without a record end: more means an unterminated quote (or no LF at all). */
export const MAX_CSV_RECORD_BYTES = 4 * 1024 * 1024;

/**
 * Where the last complete record of `buf` ends (just past its LF), or -1: a LF ends a record when the quotes
 * before it since the record began are even (RFC 4180: a quoted field's own quotes are doubled). A stray quote in an
 * unquoted field can make this cut inside what the parser reads as a quoted field; the parser then reports an
 * unterminated quote at the cut, which is an error, so a wrong cut never passes silently.
 */
function lastRecordEnd(buf: Buffer): number {
  let end = -1;
  let odd = false;
  let q = buf.indexOf(QUOTE);
  for (let pos = 0; ; ) {
    const nl = buf.indexOf(LF, pos);
    if (nl === -1) return end;
    while (q !== -1 && q < nl) {
      odd = !odd;
      q = buf.indexOf(QUOTE, q + 1);
    }
    if (!odd) end = nl + 1;
    pos = nl + 1;
  }
}

interface CsvRecord {
  fields: string[];
  /** Offsets of the record in the object, its line end included. */
  startByte: number;
  endByte: number;
}

/**
 * The records of a block of whole records, parsed by Papa Parse; `base` is the block's offset in the object. Papa
 * gives each record's end as a character offset: equal to bytes when the block is ASCII, converted otherwise. A
 * byte order mark (at the file's start) is skipped.
 */
function parseBlock(uri: string, block: Buffer, at: number, newline: '\n' | '\r\n', nameOf: (index: number) => string): CsvRecord[] {
  // Papa drops a byte order mark that starts its input: drop it here, so offsets count from the bytes it reads.
  const bom = block.length >= 3 && block[0] === 0xef && block[1] === 0xbb && block[2] === 0xbf;
  const buf = bom ? block.subarray(3) : block;
  const base = bom ? at + 3 : at;
  const text = buf.toString('utf8');
  const ascii = text.length === buf.length;
  const out: CsvRecord[] = [];
  let lastChar = 0;
  let lastByte = base;
  let problem: string | undefined;
  Papa.parse<string[]>(text, {
    delimiter: ',',
    newline,
    quoteChar: '"',
    skipEmptyLines: true,
    step: (r) => {
      if (problem) return;
      if (r.errors.length > 0) {
        problem = `${nameOf(out.length)}: malformed CSV (${r.errors.map((e) => e.message).join('; ')}); quote fields that hold quotes, commas or line breaks, and double the quotes inside them`;
        return;
      }
      const end = ascii ? base + r.meta.cursor : lastByte + Buffer.byteLength(text.slice(lastChar, r.meta.cursor));
      out.push({ fields: r.data, startByte: lastByte, endByte: end });
      lastChar = r.meta.cursor;
      lastByte = end;
    },
  });
  if (problem) throw featureFailure(FeatureFailure.SourceInvalid, `${uri} ${problem}`);
  return out;
}

/**
 * Rows of a CSV object. Without `header` the first record is the header (a whole-file read); with it, the stream
 * starts at `byteStart` (a chunk, or a resumed chunk) and the first record there is data row `firstRow`. The
 * stream is cut into blocks of whole records (quote-aware), each parsed at once by Papa Parse: records end with LF
 * or CRLF, and every row knows the bytes it spans, so a chunk is a byte range and a resume starts at a byte.
 */
export async function* csvRows(s3: S3Client, uri: string, opts: { header?: string[]; byteStart?: number; byteEnd?: number; firstRow?: number } = {}): AsyncGenerator<SourceRow & { header: string[]; fields: number }> {
  const start = opts.byteStart ?? 0;
  const body = await objectStream(s3, uri, opts.header ? { start, end: opts.byteEnd } : undefined);
  let header = opts.header;
  let row = opts.firstRow ?? 0;
  let carry: Buffer = Buffer.alloc(0);
  /** The object offset of `carry`'s first byte. */
  let at = opts.header ? start : 0;
  let newline: '\n' | '\r\n' | undefined;
  /** How an error names the block's record `i`: the header, or its data row (1-based, as validation counts). */
  const nameOf = (i: number) => (header ? `row ${row + i + 1}` : i === 0 ? 'the header' : `row ${row + i}`);
  function* rowsOf(records: CsvRecord[]) {
    for (const r of records) {
      if (!header) {
        header = r.fields.map((h) => h.trim());
        continue;
      }
      const values: RowValues = {};
      for (let i = 0; i < header.length; i++) values[header[i]!] = r.fields[i];
      yield { row: row++, values, startByte: r.startByte, endByte: r.endByte, header, fields: r.fields.length };
    }
  }
  try {
    for await (const data of body as AsyncIterable<Buffer>) {
      const buf = carry.length > 0 ? Buffer.concat([carry, data]) : data;
      const end = lastRecordEnd(buf);
      if (end === -1) {
        if (buf.length > MAX_CSV_RECORD_BYTES) throw featureFailure(FeatureFailure.SourceInvalid, `${uri} has no record end in ${MAX_CSV_RECORD_BYTES} bytes from byte ${at}: a quote left open, or lines that do not end with LF or CRLF`);
        carry = buf;
        continue;
      }
      if (!newline) {
        const lf = buf.indexOf(LF);
        newline = lf > 0 && buf[lf - 1] === CR ? '\r\n' : '\n';
      }
      yield* rowsOf(parseBlock(uri, buf.subarray(0, end), at, newline, nameOf));
      carry = Buffer.from(buf.subarray(end));
      at += end;
    }
    if (carry.length > 0) yield* rowsOf(parseBlock(uri, carry, at, newline ?? '\n', nameOf));
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
