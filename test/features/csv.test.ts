/**
 * The ingestion CSV reader gives the records csv-parse gives (quotes, commas and line breaks in quoted fields,
 * doubled quotes, CRLF, empty lines, a BOM, multi-byte UTF-8), however the bytes are split into chunks, and the byte
 * offsets it reports are where the records are: reading from a record's start byte gives that record and the rest.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { csvRecords, CsvSyntaxError } from '../../activities/features/csv';

const LINES = [
  '\uFEFFtid,cc_num,comment,amount',
  'T1,4000,plain,1.5',
  'T2,4001,"with, comma",2',
  '',
  'T3,4002,"with ""quotes"" inside",3',
  'T4,4003,"two',
  'lines",4',
  'T5,4004,ünïcödé €,5',
  'T6,4005,,6',
  'T7,4006,"",7',
  '',
  'T8,4007,"é, ""ü""\nnext",8',
  'T9,4008,last',
];

async function read(bytes: Buffer, chunkSize: number, bom = true) {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  const out: { fields: string[]; endByte: number }[] = [];
  for await (const r of csvRecords(chunks, { bom })) out.push(r);
  return out;
}

describe.each([
  ['LF', '\n'],
  ['CRLF', '\r\n'],
])('csvRecords, lines ending in %s', (_, eol) => {
  const bytes = Buffer.from(LINES.join(eol), 'utf8');
  const expected = parse(bytes, { bom: true, relax_column_count: true, skip_empty_lines: true }) as string[][];

  it('reads the records csv-parse reads, whatever the chunk size', async () => {
    expect(expected).toHaveLength(10);
    for (const size of [1, 2, 3, 7, 16, 64, bytes.length]) {
      expect((await read(bytes, size)).map((r) => r.fields), `chunks of ${size} bytes`).toEqual(expected);
    }
    expect(expected[5]).toEqual(['T5', '4004', 'ünïcödé €', '5']);
    expect(expected[9]).toEqual(['T9', '4008', 'last']);
  });

  it('reports byte offsets a reader can resume from', async () => {
    const all = await read(bytes, 5);
    let start = 0;
    for (let i = 0; i < all.length; i++) {
      const rest = await read(bytes.subarray(start), 4, start === 0);
      expect(rest.map((r) => r.fields)).toEqual(expected.slice(i));
      expect(rest[0]!.endByte + start).toBe(all[i]!.endByte);
      start = all[i]!.endByte;
    }
    expect(start).toBe(bytes.length);
  });
});

describe('csvRecords on broken quoting', () => {
  it('refuses an unclosed quote and text after a closing quote', async () => {
    await expect(read(Buffer.from('a,"open\nb,c\n'), 3)).rejects.toThrow(CsvSyntaxError);
    await expect(read(Buffer.from('a,"closed"x,b\n'), 3)).rejects.toThrow(/after the closing quote/);
  });
});
