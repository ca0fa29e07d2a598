/**
 * CSV records from a byte stream, with the byte offset where each record ends, so a chunk is a byte range and a
 * retry resumes at the byte its checkpoint names. RFC 4180: comma-separated; a field in double quotes may hold
 * commas, line breaks and doubled quotes; lines end in LF or CRLF; empty lines are skipped; a UTF-8 BOM at the
 * start of a file is skipped. A quote inside an unquoted field is kept as a character.
 *
 * Written for the ingestion hot path: a line without quotes (nearly every line of a feature file) costs one
 * indexOf and one split. csv-parse, which looks at every character, was a fifth of the worker's CPU per record.
 */

export interface CsvRecord {
  fields: string[];
  /** Offset in the stream just after the record (and its line break). */
  endByte: number;
}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const COMMA = 0x2c;

export class CsvSyntaxError extends Error {
  override readonly name = 'CsvSyntaxError';
}

/**
 * Parses the record with quotes that starts at `start`; undefined when the buffer ends inside it and more bytes
 * may come.
 */
function quotedRecord(buf: Buffer, start: number, final: boolean): { fields: string[]; next: number } | undefined {
  const fields: string[] = [];
  let i = start;
  for (;;) {
    let value: string;
    if (buf[i] === QUOTE) {
      const parts: string[] = [];
      let from = i + 1;
      for (;;) {
        const q = buf.indexOf(QUOTE, from);
        if (q === -1 || q + 1 >= buf.length) {
          if (!final) return undefined;
          if (q === -1) throw new CsvSyntaxError(`a quoted field that starts at byte ${i} is not closed`);
        }
        if (buf[q + 1] === QUOTE) {
          parts.push(buf.toString('utf8', from, q + 1));
          from = q + 2;
          continue;
        }
        parts.push(buf.toString('utf8', from, q));
        i = q + 1;
        break;
      }
      value = parts.join('');
      const c = buf[i];
      if (i < buf.length && c !== COMMA && c !== LF && !(c === CR && (buf[i + 1] === LF || i + 1 === buf.length))) {
        throw new CsvSyntaxError(`unexpected ${JSON.stringify(String.fromCharCode(c!))} after the closing quote of the field that ends at byte ${i - 1}`);
      }
    } else {
      let end = i;
      while (end < buf.length && buf[end] !== COMMA && buf[end] !== LF) end += 1;
      if (end === buf.length && !final) return undefined;
      const stop = buf[end] === LF && end > i && buf[end - 1] === CR ? end - 1 : end;
      value = buf.toString('utf8', i, stop);
      i = end;
    }
    fields.push(value);
    if (i >= buf.length) {
      if (!final) return undefined;
      return { fields, next: i };
    }
    if (buf[i] === COMMA) {
      i += 1;
      continue;
    }
    if (buf[i] === CR) i += 1;
    if (i < buf.length && buf[i] === LF) i += 1;
    else if (!final) return undefined;
    return { fields, next: i };
  }
}

/** Every record of `body`; `bom` skips a UTF-8 byte order mark at its start (the start of a file). */
export async function* csvRecords(body: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, opts: { bom?: boolean } = {}): AsyncGenerator<CsvRecord> {
  let buf: Buffer = Buffer.alloc(0);
  /** Stream offset of buf[0]. */
  let base = 0;
  let pos = 0;
  let started = !opts.bom;
  /** The next quote at or after pos in buf (-1: none; -2: not looked for yet), so each line does not rescan. */
  let quoteAt = -2;

  function* records(final: boolean): Generator<CsvRecord> {
    if (!started) {
      if (buf.length < 3 && !final) return;
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
      started = true;
    }
    while (pos < buf.length) {
      const nl = buf.indexOf(LF, pos);
      if (nl === -1 && !final) return;
      const lineEnd = nl === -1 ? buf.length : nl;
      if (quoteAt === -2 || (quoteAt !== -1 && quoteAt < pos)) quoteAt = buf.indexOf(QUOTE, pos);
      if (quoteAt === -1 || quoteAt > lineEnd) {
        const next = nl === -1 ? buf.length : nl + 1;
        const end = lineEnd > pos && buf[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
        const start = pos;
        pos = next;
        if (end > start) yield { fields: buf.toString('utf8', start, end).split(','), endByte: base + next };
        continue;
      }
      const r = quotedRecord(buf, pos, final);
      if (!r) return;
      pos = r.next;
      yield { fields: r.fields, endByte: base + r.next };
    }
  }

  for await (const chunk of body) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    base += pos;
    buf = pos < buf.length ? Buffer.concat([buf.subarray(pos), bytes]) : bytes;
    pos = 0;
    quoteAt = -2;
    yield* records(false);
  }
  yield* records(true);
}
