/**
 * The runtime's write journal (a test aid, like the emulator's request journal, kept in memory only): per feature
 * group, how many records were written and how often each (identifier, event time) pair was written, so a test can
 * tell lost records from duplicated ones. Pairs are counted by a 52-bit hash to keep millions of them cheap.
 */
import type { FeatureStore } from '../sagemaker/feature-store';

export interface GroupJournal {
  requests: Record<string, number>;
  recordsWritten: number;
  recordsRejected: number;
  entriesUnprocessed: number;
  throttledRequests: number;
  writesByRecord: Map<number, number>;
}

export interface JournalSummary {
  requests: Record<string, number>;
  recordsWritten: number;
  distinctRecords: number;
  /** Records written more than once, and the extra writes in all. */
  duplicatedRecords: number;
  extraWrites: number;
  maxWritesOfOneRecord: number;
  recordsRejected: number;
  entriesUnprocessed: number;
  throttledRequests: number;
}

const journals = new WeakMap<FeatureStore, Map<string, GroupJournal>>();

export function journalOf(store: FeatureStore, group: string): GroupJournal {
  let byGroup = journals.get(store);
  if (!byGroup) journals.set(store, (byGroup = new Map()));
  let j = byGroup.get(group);
  if (!j) byGroup.set(group, (j = { requests: {}, recordsWritten: 0, recordsRejected: 0, entriesUnprocessed: 0, throttledRequests: 0, writesByRecord: new Map() }));
  return j;
}

export function clearJournal(store: FeatureStore): void {
  journals.delete(store);
}

/** FNV-1a twice with different offsets, folded into 52 bits: collisions among millions of keys are negligible. */
export function recordHash(identifier: string, eventTime: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  const s = `${identifier}\u0000${eventTime}`;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff);
}

export function noteWrite(j: GroupJournal, identifier: string, eventTime: string): void {
  const h = recordHash(identifier, eventTime);
  j.writesByRecord.set(h, (j.writesByRecord.get(h) ?? 0) + 1);
  j.recordsWritten += 1;
}

export function summarize(j: GroupJournal): JournalSummary {
  let duplicatedRecords = 0;
  let extraWrites = 0;
  let maxWritesOfOneRecord = 0;
  for (const n of j.writesByRecord.values()) {
    if (n > 1) {
      duplicatedRecords += 1;
      extraWrites += n - 1;
    }
    if (n > maxWritesOfOneRecord) maxWritesOfOneRecord = n;
  }
  return {
    requests: { ...j.requests },
    recordsWritten: j.recordsWritten,
    distinctRecords: j.writesByRecord.size,
    duplicatedRecords,
    extraWrites,
    maxWritesOfOneRecord,
    recordsRejected: j.recordsRejected,
    entriesUnprocessed: j.entriesUnprocessed,
    throttledRequests: j.throttledRequests,
  };
}
