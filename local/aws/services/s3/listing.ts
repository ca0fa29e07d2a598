/**
 * ListObjectsV2 (prefix, delimiter with common prefixes counting once toward max-keys, start-after, continuation
 * tokens) and the older ListObjects (the same walk, paged by marker).
 */
import { flat } from '../../protocols/xml';
import type { EmulatorError } from '../../service';
import type { Bucket } from './state';

interface Token {
  /** The last key or common prefix returned. */
  after: string;
  /** The last item was a common prefix: skip every key under it. */
  prefix: boolean;
}

function encodeToken(t: Token): string {
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

function decodeToken(text: string): Token | undefined {
  try {
    const t = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Token;
    return typeof t.after === 'string' && typeof t.prefix === 'boolean' ? t : undefined;
  } catch {
    return undefined;
  }
}

/** S3's `encoding-type=url`: keys percent-encoded, `/` kept readable as S3 does. */
function urlEncode(text: string): string {
  return encodeURIComponent(text).replace(/%2F/g, '/');
}

interface Walk {
  contents: Record<string, unknown>[];
  commonPrefixes: string[];
  truncated: boolean;
  /** The last key or common prefix returned. */
  last?: Token;
}

/** Keys under `prefix` in order, after `from` (a key, or a common prefix whose keys are all skipped), up to `limit`. */
function walk(bucket: Bucket, prefix: string, delimiter: string, limit: number, from: Token | undefined, enc: (s: string) => string, withOwner: boolean): Walk {
  const keys = [...bucket.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  const contents: Record<string, unknown>[] = [];
  const commonPrefixes: string[] = [];
  let last: Token | undefined;
  let truncated = false;
  for (const key of keys) {
    if (from && (key <= from.after || (from.prefix && key.startsWith(from.after)))) continue;
    let common: string | undefined;
    if (delimiter) {
      const at = key.indexOf(delimiter, prefix.length);
      if (at >= 0) common = key.slice(0, at + delimiter.length);
    }
    if (common !== undefined && commonPrefixes[commonPrefixes.length - 1] === common) continue;
    if (contents.length + commonPrefixes.length >= limit) {
      truncated = true;
      break;
    }
    if (common !== undefined) {
      commonPrefixes.push(common);
      last = { after: common, prefix: true };
    } else {
      const o = bucket.objects.get(key);
      if (!o) continue;
      contents.push({
        Key: enc(key),
        LastModified: o.lastModified,
        ETag: o.etag,
        ...(o.checksum ? { ChecksumAlgorithm: o.checksum.algorithm, ChecksumType: o.checksum.type } : {}),
        Size: o.body.length,
        StorageClass: 'STANDARD',
        ...(withOwner ? { Owner: { ID: '123456789012', DisplayName: 'emulator' } } : {}),
      });
      last = { after: key, prefix: false };
    }
  }
  return { contents, commonPrefixes, truncated, last };
}

function maxKeysOf(query: Readonly<Record<string, string>>, invalid: (message: string) => EmulatorError): number {
  const text = query['max-keys'];
  const maxKeys = text === undefined ? 1000 : Number(text);
  if (!Number.isInteger(maxKeys) || maxKeys < 0) throw invalid('Provided max-keys not an integer or within integer range');
  return maxKeys;
}

/** What both listings answer alike. */
function sharedMembers(bucket: Bucket, prefix: string, delimiter: string, maxKeys: number, contents: Record<string, unknown>[], commonPrefixes: string[], urlEncoded: boolean): Record<string, unknown> {
  const enc = (s: string) => (urlEncoded ? urlEncode(s) : s);
  return {
    Contents: flat(contents),
    Name: bucket.name,
    Prefix: enc(prefix),
    ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
    MaxKeys: maxKeys,
    CommonPrefixes: flat(commonPrefixes.map((p) => ({ Prefix: enc(p) }))),
    ...(urlEncoded ? { EncodingType: 'url' } : {}),
  };
}

export function listObjectsV2(bucket: Bucket, query: Readonly<Record<string, string>>, invalid: (message: string) => EmulatorError): Record<string, unknown> {
  const prefix = query.prefix ?? '';
  const delimiter = query.delimiter ?? '';
  const maxKeys = maxKeysOf(query, invalid);
  const startAfter = query['start-after'];
  const continuation = query['continuation-token'];
  let token: Token | undefined;
  if (continuation !== undefined) {
    token = decodeToken(continuation);
    if (!token) throw invalid('The continuation token provided is incorrect');
  }
  const urlEncoded = query['encoding-type'] === 'url';
  const enc = (s: string) => (urlEncoded ? urlEncode(s) : s);
  const from = token ?? (startAfter !== undefined ? { after: startAfter, prefix: false } : undefined);
  const { contents, commonPrefixes, truncated, last } = walk(bucket, prefix, delimiter, Math.min(maxKeys, 1000), from, enc, query['fetch-owner'] === 'true');
  return {
    IsTruncated: truncated,
    ...sharedMembers(bucket, prefix, delimiter, maxKeys, contents, commonPrefixes, urlEncoded),
    KeyCount: contents.length + commonPrefixes.length,
    ...(continuation !== undefined ? { ContinuationToken: continuation } : {}),
    ...(truncated && last ? { NextContinuationToken: encodeToken(last) } : {}),
    ...(startAfter !== undefined ? { StartAfter: enc(startAfter) } : {}),
  };
}

/**
 * ListObjects (version 1): keys after `marker`; with a delimiter, a marker that is a common prefix skips its keys.
 * NextMarker is given only with a delimiter, as S3 does (without one, the last key is the next marker).
 */
export function listObjectsV1(bucket: Bucket, query: Readonly<Record<string, string>>, invalid: (message: string) => EmulatorError): Record<string, unknown> {
  const prefix = query.prefix ?? '';
  const delimiter = query.delimiter ?? '';
  const maxKeys = maxKeysOf(query, invalid);
  const marker = query.marker ?? '';
  const urlEncoded = query['encoding-type'] === 'url';
  const enc = (s: string) => (urlEncoded ? urlEncode(s) : s);
  const from = marker ? { after: marker, prefix: delimiter !== '' && marker.endsWith(delimiter) && marker.startsWith(prefix) } : undefined;
  const { contents, commonPrefixes, truncated, last } = walk(bucket, prefix, delimiter, Math.min(maxKeys, 1000), from, enc, true);
  return {
    IsTruncated: truncated,
    Marker: enc(marker),
    ...(truncated && delimiter && last ? { NextMarker: enc(last.after) } : {}),
    ...sharedMembers(bucket, prefix, delimiter, maxKeys, contents, commonPrefixes, urlEncoded),
  };
}
