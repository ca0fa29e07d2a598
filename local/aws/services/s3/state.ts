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

export function createS3State(): S3State {
  return { buckets: new Map() };
}

/**
 * S3's buckets are shared, so services that write objects (the Feature Store's offline store) reach the same ones.
 * The shared value is the buckets map inside each service's state (a state directory stores it once, by key).
 */
export function s3StateOf(scope: EmulatorScope): S3State {
  return { buckets: scope.shared('s3-buckets', () => createS3State().buckets) };
}
