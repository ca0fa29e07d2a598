/**
 * S3 objects as other emulated services read and write them (a Glue job's script and outputs, Forecast's imports
 * and exports): the buckets are one value per emulator (`scope.shared`), so every service that asks for them sees
 * the objects the S3 API serves, and what they write is listed and read back through the S3 API at once.
 */
import type { EmulatorScope } from '../../service';
import { md5Hex } from './checksums';
import { createS3State, type S3Object, type S3State } from './state';

export const S3_SHARED_KEY = 's3-buckets';

/**
 * The emulator's S3 buckets (the same map the S3 service holds). The shared value is the buckets map itself, so a
 * state directory stores it once, by key, and what other services wrote is S3's after a restart too.
 */
export function s3StateOf(scope: EmulatorScope): S3State {
  return { buckets: scope.shared(S3_SHARED_KEY, () => createS3State().buckets) };
}

export interface S3Location {
  bucket: string;
  key: string;
}

/** `s3://bucket/key` -> its parts; undefined when it is not such a URI. */
export function parseS3Uri(uri: string): S3Location | undefined {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) return undefined;
  return { bucket: m[1] as string, key: m[2] as string };
}

export function getObject(s3: S3State, loc: S3Location): S3Object | undefined {
  return s3.buckets.get(loc.bucket)?.objects.get(loc.key);
}

/** Objects whose key starts with the prefix, in key order (S3's listing order). */
export function listObjects(s3: S3State, loc: S3Location): S3Object[] {
  const bucket = s3.buckets.get(loc.bucket);
  if (!bucket) return [];
  return [...bucket.objects.values()].filter((o) => o.key.startsWith(loc.key)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Writes an object as PutObject would (no event: services writing their outputs publish none here); false when the bucket is missing. */
export function putObject(s3: S3State, loc: S3Location, body: Buffer, now: Date, contentType = 'text/csv'): boolean {
  const bucket = s3.buckets.get(loc.bucket);
  if (!bucket) return false;
  bucket.objects.set(loc.key, { key: loc.key, body, etag: `"${md5Hex(body)}"`, lastModified: now, headers: { 'content-type': contentType }, metadata: {} });
  return true;
}
