/**
 * The real server's size limits on what a workflow task completion writes (dynamic config `limit.blobSize.*`,
 * `limit.memoSize.*`): a payload over the error limit fails the task and terminates the workflow. The namespace
 * reports the error limits (DescribeNamespace `limits`), so the SDK's core can refuse an oversized completion itself.
 */
import { encodeMessage } from './proto';

export interface BlobLimits {
  blobSizeErrorBytes: number;
  blobSizeWarnBytes: number;
  memoSizeErrorBytes: number;
  memoSizeWarnBytes: number;
}

/** The real server's defaults. */
export const DEFAULT_BLOB_LIMITS: BlobLimits = {
  blobSizeErrorBytes: 2 * 1024 * 1024,
  blobSizeWarnBytes: 512 * 1024,
  memoSizeErrorBytes: 2 * 1024 * 1024,
  memoSizeWarnBytes: 128 * 1024,
};

const DYNAMIC_CONFIG_KEYS: Record<string, keyof BlobLimits> = {
  'limit.blobSize.error': 'blobSizeErrorBytes',
  'limit.blobSize.warn': 'blobSizeWarnBytes',
  'limit.memoSize.error': 'memoSizeErrorBytes',
  'limit.memoSize.warn': 'memoSizeWarnBytes',
};

/** The limits among `--dynamic-config-value K=V` values (as the temporal CLI takes them); other keys are ignored. */
export function blobLimitsFromDynamicConfig(values: readonly string[]): Partial<BlobLimits> {
  const limits: Partial<BlobLimits> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const key = DYNAMIC_CONFIG_KEYS[value.slice(0, eq).trim()];
    const n = Number(value.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
    if (key && eq > 0 && Number.isInteger(n) && n > 0) limits[key] = n;
  }
  return limits;
}

/** Encoded size of a message, as the real server measures it (0 when absent). */
export function encodedSize(typeName: string, value: object | undefined): number {
  return value ? encodeMessage(typeName, value).length : 0;
}

/** As the real server: only a size over the warn limit is checked against the error limit. */
export function exceedsLimit(size: number, warnBytes: number, errorBytes: number): boolean {
  return size > warnBytes && size > errorBytes;
}
