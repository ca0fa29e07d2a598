/**
 * The offline store: rows are buffered per hour partition and written as real Parquet files (hyparquet-writer) to
 * the emulated S3 under the documented layout,
 * `<ResolvedOutputS3Uri>/year=YYYY/month=MM/day=DD/hour=HH/<yyyyMMddTHHmmssZ>_<16 random>.parquet`, with the
 * group's features plus `write_time`, `api_invocation_time` and `is_deleted`. AWS lands rows "within 15 minutes";
 * the emulator writes a group's buffer when it holds FLUSH_ROWS rows, when its oldest row is FLUSH_AFTER_MS old
 * (checked on each write), or on `POST /_emulator/services/sagemaker-featurestore-runtime/offline-store/flush`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { loadedParquetWriter, parquetWriterReady } from '../../../../common/parquet';
import type { S3State } from '../s3/state';
import type { FeatureGroup, OfflineRow } from '../sagemaker/feature-store';

export const FLUSH_ROWS = 100_000;
export const FLUSH_AFTER_MS = 5 * 60_000;

// Loaded when the emulator loads; an unhandled rejection would end the process, so a failed load shows in the first flush instead.
parquetWriterReady().catch(() => undefined);
export { parquetWriterReady };

const pad = (n: number) => String(n).padStart(2, '0');

export function partitionOf(eventTimeMs: number): string {
  const d = new Date(eventTimeMs);
  return `year=${d.getUTCFullYear()}/month=${pad(d.getUTCMonth() + 1)}/day=${pad(d.getUTCDate())}/hour=${pad(d.getUTCHours())}`;
}

export function bufferRow(g: FeatureGroup, row: OfflineRow): void {
  g.offlineBuffer.set(g.offlineNextRow, row);
  g.offlineNextRow += 1;
  g.offlineBufferedRows += 1;
  g.offlineOldestBufferedMs ??= row.writeTimeMs;
}

export function flushDue(g: FeatureGroup, nowMs: number): boolean {
  return g.offlineBufferedRows >= FLUSH_ROWS || (g.offlineOldestBufferedMs !== undefined && nowMs - g.offlineOldestBufferedMs >= FLUSH_AFTER_MS);
}

function column(g: FeatureGroup, index: number, rows: OfflineRow[]) {
  const def = g.featureDefinitions[index]!;
  const raw = rows.map((r) => r.values[index]);
  if (def.CollectionType) return { name: def.FeatureName, data: raw.map((v) => v ?? null), type: 'STRING' as const };
  if (def.FeatureType === 'Integral') return { name: def.FeatureName, data: raw.map((v) => (v === undefined ? null : BigInt(v))), type: 'INT64' as const };
  if (def.FeatureType === 'Fractional') return { name: def.FeatureName, data: raw.map((v) => (v === undefined ? null : Number(v))), type: 'DOUBLE' as const };
  return { name: def.FeatureName, data: raw.map((v) => v ?? null), type: 'STRING' as const };
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/**
 * Writes every buffered row of the group as Parquet files, one per partition, synchronously (state stays
 * consistent between requests). Returns the keys written; nothing when the writer is not loaded yet or the bucket
 * does not exist (then the offline store is Blocked, as AWS blocks it, and the rows stay buffered).
 */
export function flushOfflineStore(g: FeatureGroup, s3: S3State, nowMs: number): string[] {
  const writer = loadedParquetWriter();
  if (!writer || g.offlineBufferedRows === 0 || !g.offlineStoreConfig) return [];
  const resolved = g.offlineStoreConfig.S3StorageConfig.ResolvedOutputS3Uri ?? '';
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(resolved);
  const bucket = m ? s3.buckets.get(m[1]!) : undefined;
  if (!m || !bucket) {
    g.offlineStatus = { Status: 'Blocked', BlockedReason: `The S3 bucket of ${resolved} does not exist or cannot be written.` };
    return [];
  }
  const prefix = m[2] ? `${m[2].replace(/\/+$/, '')}/` : '';
  const written: string[] = [];
  const byPartition = new Map<string, OfflineRow[]>();
  for (const row of g.offlineBuffer.values()) {
    const p = partitionOf(row.eventTimeMs);
    const rows = byPartition.get(p);
    if (rows) rows.push(row);
    else byPartition.set(p, [row]);
  }
  for (const [partition, rows] of byPartition) {
    const columnData = [
      ...g.featureDefinitions.map((_, i) => column(g, i, rows)),
      { name: 'write_time', data: rows.map((r) => new Date(r.writeTimeMs)), type: 'TIMESTAMP' as const },
      { name: 'api_invocation_time', data: rows.map((r) => new Date(r.apiInvocationTimeMs)), type: 'TIMESTAMP' as const },
      { name: 'is_deleted', data: rows.map((r) => r.isDeleted), type: 'BOOLEAN' as const },
    ];
    const body = Buffer.from(writer.parquetWriteBuffer({ columnData, rowGroupSize: 100_000 }));
    const key = `${prefix}${partition}/${stamp(nowMs)}_${randomBytes(8).toString('hex')}.parquet`;
    bucket.objects.set(key, {
      key,
      body,
      etag: `"${createHash('md5').update(body).digest('hex')}"`,
      lastModified: new Date(nowMs),
      headers: { 'content-type': 'application/octet-stream' },
      metadata: {},
    });
    written.push(key);
  }
  g.offlineBuffer.clear();
  g.offlineBufferedRows = 0;
  delete g.offlineOldestBufferedMs;
  g.offlineFiles.push(...written);
  g.offlineStatus = { Status: 'Active' };
  return written;
}
