/**
 * Reading a CSV source (sources.ts `csvRows`): the rows and the bytes each spans, however the object's bytes arrive
 * (every split of the stream is tried), for quoted commas, quotes and line breaks, CRLF, a BOM, non-ASCII text,
 * empty lines and a last line without its LF; a resume at any row's end byte reads exactly the rest; malformed
 * quoting stops with the file and row named.
 */
import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import type { S3Client } from '@aws-sdk/client-s3';
import { csvRows } from '../../activities/features/sources';

/** An S3 client that answers GetObject (with its Range) from `bytes`, in pieces cut at `cuts`. */
function objectIn(bytes: Buffer, cuts: number[] = []): S3Client {
  return {
    async send(cmd: { input: { Range?: string } }) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(cmd.input.Range ?? '');
      const start = m ? Number(m[1]) : 0;
      const end = m && m[2] !== '' ? Number(m[2]) + 1 : bytes.length;
      const body = bytes.subarray(start, end);
      const at = [0, ...cuts.filter((c) => c > start && c < end).map((c) => c - start), body.length];
      return { Body: Readable.from(at.slice(1).map((e, i) => body.subarray(at[i], e))) };
    },
  } as unknown as S3Client;
}

async function read(s3: S3Client, opts?: Parameters<typeof csvRows>[2]) {
  const out = [];
  for await (const r of csvRows(s3, 's3://sources/file.csv', opts)) out.push(r);
  return out;
}

const TEXT =
  '\uFEFFid, note ,amount\r\n' +
  'a1,"comma, inside",1.5\r\n' +
  '\r\n' +
  'a2,"line\r\nbreak and ""quotes""",2\r\n' +
  'é3,日本語 ✓ 🚀,3\r\n' +
  'a4,,4\r\n' +
  'a5,"",5';
const EXPECTED = [
  { id: 'a1', note: 'comma, inside', amount: '1.5' },
  { id: 'a2', note: 'line\r\nbreak and "quotes"', amount: '2' },
  { id: 'é3', note: '日本語 ✓ 🚀', amount: '3' },
  { id: 'a4', note: '', amount: '4' },
  { id: 'a5', note: '', amount: '5' },
];

it('reads every row with the bytes it spans, however the stream is split', async () => {
  const bytes = Buffer.from(TEXT, 'utf8');
  const splits: number[][] = [[], Array.from({ length: bytes.length }, (_, i) => i)];
  for (let c = 1; c < bytes.length; c++) splits.push([c]);
  for (const cuts of splits) {
    const rows = await read(objectIn(bytes, cuts));
    expect(rows.map((r) => r.values), `cut at ${cuts.join(',')}`).toEqual(EXPECTED);
    expect(rows[0]!.header).toEqual(['id', 'note', 'amount']);
    // Each row's bytes, read alone with the header, give that row back: the offsets are bytes, not characters.
    for (const r of rows) {
      const alone = await read(objectIn(bytes), { header: r.header, byteStart: r.startByte, byteEnd: r.endByte, firstRow: r.row });
      expect(alone.map((a) => a.values)).toEqual([r.values]);
    }
    expect(rows.at(-1)!.endByte).toBe(bytes.length);
  }
});

it('resumes at any row end byte with exactly the rows after it', async () => {
  const bytes = Buffer.from(TEXT, 'utf8');
  const rows = await read(objectIn(bytes));
  for (const r of rows) {
    const rest = await read(objectIn(bytes, [r.endByte! + 3]), { header: r.header, byteStart: r.endByte, byteEnd: bytes.length, firstRow: r.row + 1 });
    expect(rest.map((x) => [x.row, x.values])).toEqual(rows.filter((x) => x.row > r.row).map((x) => [x.row, x.values]));
  }
});

it('reads a large LF file in many blocks with contiguous offsets', async () => {
  const lines = ['k,v'];
  for (let i = 0; i < 20_000; i++) lines.push(i % 97 === 0 ? `k${i},"multi\nline ${i}"` : `k${i},v${i}`);
  const bytes = Buffer.from(lines.join('\n') + '\n');
  const cuts = Array.from({ length: Math.floor(bytes.length / 65_536) }, (_, i) => (i + 1) * 65_536);
  const rows = await read(objectIn(bytes, cuts));
  expect(rows).toHaveLength(20_000);
  expect(rows[97]!.values).toEqual({ k: 'k97', v: 'multi\nline 97' });
  for (let i = 1; i < rows.length; i++) expect(rows[i]!.startByte).toBe(rows[i - 1]!.endByte);
  expect(rows.at(-1)!.endByte).toBe(bytes.length);
});

it('stops on malformed quoting, naming the file and the row', async () => {
  const bad = Buffer.from('id,note\nr1,ok\nr2,"closed"then more\nr3,x\n');
  await expect(read(objectIn(bad))).rejects.toThrow(/s3:\/\/sources\/file\.csv row 2: malformed CSV/);
  const open = Buffer.from('id,note\nr1,"never closed\nr2,x\n');
  await expect(read(objectIn(open))).rejects.toThrow(/s3:\/\/sources\/file\.csv row 1: malformed CSV/);
});
