/** Request-body decoding shared by every protocol: gzip, aws-chunked, forms, REST path templates, JSON values. */
import { gunzipSync } from 'node:zlib';
import type { IncomingHttpHeaders } from 'node:http';

export class WireError extends Error {
  override readonly name = 'WireError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Undoes `Content-Encoding: gzip` (CloudWatch compresses bodies of 10 KiB or more) and S3's `aws-chunked`
 * framing (`<hex size>[;chunk-signature=..]\r\n<bytes>\r\n ... 0\r\n<trailers>\r\n\r\n`); trailers such as
 * `x-amz-checksum-crc32` are returned to be merged into the headers.
 */
export function decodeBody(raw: Buffer, headers: IncomingHttpHeaders): { body: Buffer; trailers: Record<string, string> } {
  const encodings = String(headers['content-encoding'] ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean);
  const sha = String(headers['x-amz-content-sha256'] ?? '');
  let body = raw;
  let trailers: Record<string, string> = {};
  if (encodings.includes('aws-chunked') || sha.startsWith('STREAMING-')) {
    ({ body, trailers } = decodeAwsChunked(body));
  }
  if (encodings.includes('gzip')) {
    try {
      body = gunzipSync(body);
    } catch (err) {
      throw new WireError('SerializationException', `the body is not valid gzip: ${(err as Error).message}`);
    }
  }
  return { body, trailers };
}

export function decodeAwsChunked(raw: Buffer): { body: Buffer; trailers: Record<string, string> } {
  const chunks: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', pos);
    if (lineEnd < 0) throw new WireError('IncompleteBody', 'aws-chunked body ends inside a chunk header');
    const sizeText = raw.subarray(pos, lineEnd).toString('latin1').split(';')[0] ?? '';
    const size = parseInt(sizeText, 16);
    if (!Number.isFinite(size) || size < 0) throw new WireError('InvalidRequest', `bad aws-chunked chunk size "${sizeText}"`);
    pos = lineEnd + 2;
    if (size === 0) break;
    if (pos + size > raw.length) throw new WireError('IncompleteBody', 'aws-chunked body is shorter than its chunk sizes');
    chunks.push(raw.subarray(pos, pos + size));
    pos += size + 2;
  }
  const trailers: Record<string, string> = {};
  for (const line of raw.subarray(pos).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { body: Buffer.concat(chunks), trailers };
}

/**
 * Decodes a query-protocol form into nested values: `A.B.1.C=x` gives `{ A: { B: [{ C: 'x' }] } }` (indexes are
 * 1-based on the wire); awsQuery's `member` wrappers become plain arrays and `entry.N.key/value` pairs plain objects.
 */
export function decodeForm(text: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const parts = key.split('.');
    let node: Record<string, unknown> | unknown[] = root;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string;
      const last = i === parts.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(parts[i + 1] as string);
      const slot: string | number = Array.isArray(node) ? Number(part) - 1 : part;
      const container = node as Record<string | number, unknown>;
      if (last) {
        container[slot] = value;
      } else {
        if (container[slot] === undefined || typeof container[slot] !== 'object') container[slot] = nextIsIndex ? [] : {};
        node = container[slot] as Record<string, unknown> | unknown[];
      }
    }
  }
  return unwrapQueryShapes(root) as Record<string, unknown>;
}

function unwrapQueryShapes(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map(unwrapQueryShapes);
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && keys[0] === 'member' && Array.isArray(obj.member)) return unwrapQueryShapes(obj.member);
    if (keys.length === 1 && keys[0] === 'entry' && Array.isArray(obj.entry)) {
      const out: Record<string, unknown> = {};
      for (const e of obj.entry as Record<string, unknown>[]) {
        if (e && typeof e === 'object') out[String(e.key ?? e.Name ?? '')] = unwrapQueryShapes(e.value ?? e.Value);
      }
      return out;
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = unwrapQueryShapes(obj[k]);
    return out;
  }
  return value;
}

export interface CompiledPath {
  regex: RegExp;
  names: string[];
  /** Literal characters, to prefer `/a/b` over `/a/{x}`. */
  literalLength: number;
}

/** `/2015-02-01/file-systems/{FileSystemId}` or `/{Bucket}/{Key+}` as a regex; `{Key+}` is greedy. */
export function compilePath(template: string): CompiledPath {
  const names: string[] = [];
  let literalLength = 0;
  let pattern = '';
  for (const piece of template.split(/(\{[^}]+\})/)) {
    const m = /^\{([^}+]+)(\+?)\}$/.exec(piece);
    if (m) {
      names.push(m[1] as string);
      pattern += m[2] ? '(.+)' : '([^/]+)';
    } else {
      literalLength += piece.length;
      pattern += piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  // A trailing slash is tolerated: path-style clients send `/bucket/` as well as `/bucket`.
  return { regex: new RegExp(`^${pattern}${template.endsWith('/') ? '' : '/?'}$`), names, literalLength };
}

export function matchPath(compiled: CompiledPath, rawPath: string): Record<string, string> | undefined {
  const m = compiled.regex.exec(rawPath);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  compiled.names.forEach((name, i) => {
    params[name] = safeDecode(m[i + 1] as string);
  });
  return params;
}

export function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** JSON protocols: Dates as epoch seconds, bytes as base64. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
    const original = this[key];
    if (original instanceof Date) return original.getTime() / 1000;
    if (original instanceof Uint8Array) return Buffer.from(original).toString('base64');
    return v;
  });
}

/** The SigV4 credential scope's region and signing name, from the Authorization header. */
export function signingScope(headers: IncomingHttpHeaders): { region?: string; signingName?: string } {
  const auth = headers.authorization;
  if (!auth) return {};
  const m = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth);
  return m ? { region: m[1], signingName: m[2] } : {};
}
