import { createHash } from 'node:crypto';
import type { EmulatorScope } from '../../service';
import type { ChecksumAlgorithm } from './checksums';

export interface StoredChecksum {
  algorithm: ChecksumAlgorithm;
  /** Base64; a composite multipart checksum ends in `-<parts>`. */
  value: string;
  type: 'FULL_OBJECT' | 'COMPOSITE';
}

export interface S3Object {
  key: string;
  body: Buffer;
  /** Quoted, as S3 sends it. */
  etag: string;
  lastModified: Date;
  /** Standard headers kept with the object: content-type, cache-control, ... */
  headers: Record<string, string>;
  metadata: Record<string, string>;
  checksum?: StoredChecksum;
  partsCount?: number;
}

export interface UploadPart {
  partNumber: number;
  body: Buffer;
  etag: string;
  lastModified: Date;
  checksum?: string;
}

export interface MultipartUpload {
  uploadId: string;
  key: string;
  initiated: Date;
  headers: Record<string, string>;
  metadata: Record<string, string>;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType: 'FULL_OBJECT' | 'COMPOSITE';
  parts: Map<number, UploadPart>;
}

export interface Bucket {
  name: string;
  region: string;
  created: Date;
  objects: Map<string, S3Object>;
  uploads: Map<string, MultipartUpload>;
  /** Completed uploads, so a retried CompleteMultipartUpload (response lost) answers the same result. */
  completed: Map<string, { etag: string; key: string; checksum?: StoredChecksum }>;
  /** PutBucketNotificationConfiguration with EventBridgeConfiguration turns on S3 events to EventBridge. */
  eventBridge: boolean;
}

export interface S3State {
  buckets: Map<string, Bucket>;
}

/** The buckets are shared: other services write objects (a processing job's checkpoints and outputs). */
export const S3_BUCKETS_KEY = 's3-buckets';

export function createS3State(scope?: EmulatorScope): S3State {
  return { buckets: scope ? scope.shared(S3_BUCKETS_KEY, () => new Map<string, Bucket>()) : new Map() };
}

/** An object written by another service (no S3 event); false when the bucket does not exist. */
export function writeObjectFromService(buckets: Map<string, Bucket>, bucketName: string, key: string, body: Buffer, now: Date, contentType = 'application/json'): boolean {
  const bucket = buckets.get(bucketName);
  if (!bucket) return false;
  const etag = `"${createHash('md5').update(body).digest('hex')}"`;
  bucket.objects.set(key, { key, body, etag, lastModified: now, headers: { 'content-type': contentType }, metadata: {} });
  return true;
}
