/**
 * Amazon SageMaker Feature Store runtime (restJson1, signing name `sagemaker`): PutRecord, BatchWriteRecord (per
 * entry `Errors` and `UnprocessedEntries`), GetRecord, BatchGetRecord, DeleteRecord, on the feature groups that
 * SageMaker creates (../sagemaker/feature-groups.ts). The online store keeps the latest record per identifier by
 * event time (an older event time reaches only the offline store); the offline store writes Parquet files to the
 * emulated S3 (./offline-store.ts). Writes are metered in write units (one per started KB): beyond a group's
 * provisioned write capacity, or the on-demand rate the emulator is set to, requests are throttled
 * (`ThrottlingException`, HTTP 400, which the SDK retries; a BatchWriteRecord that is only partly over answers the
 * rest as `UnprocessedEntries`). Control endpoints: the write journal, the on-demand rate, rejection rules, flush.
 */
import { z } from 'zod';
import { defineService, operation, newId, type OperationContext, type ServiceContext } from '../../service';
import { featureStoreOf, type FeatureGroup, type FeatureStore, type FeatureValue, type RejectionRule } from '../sagemaker/feature-store';
import type { S3State } from '../s3/state';
import { s3StateOf } from '../s3/objects';
import { checkRecord, type CheckedRecord } from './records';
import { writeUnits } from './records';
import { bufferRow, flushDue, flushOfflineStore, parquetWriterReady } from './offline-store';
import { clearJournal, journalOf, noteWrite, summarize } from './journal';

interface RuntimeState {
  store: FeatureStore;
  s3: S3State;
}
type Ctx = OperationContext<RuntimeState>;

const STORES = ['OnlineStore', 'OfflineStore'] as const;
type Store = (typeof STORES)[number];

// Records are validated at every write: plain objects (members AWS does not define are dropped) validate about
// three times faster than loose ones, which copy unknown members through a catch-all.
const featureValue = z.object({
  FeatureName: z.string().min(1).max(64),
  ValueAsString: z.string().max(358400).optional(),
  ValueAsStringList: z.array(z.string().max(358400)).optional(),
});
const record = z.array(featureValue).min(1);
const targetStores = z.array(z.enum(STORES)).min(1).max(2).optional();
const ttl = z.object({ Unit: z.enum(['Seconds', 'Minutes', 'Hours', 'Days', 'Weeks']), Value: z.number().int().min(1) }).optional();
const groupRef = z.string().min(1).max(150);

/** Token buckets per group, in write units; emulator-local (not stored), refilled from the emulated clock. */
const buckets = new WeakMap<FeatureGroup, { tokens: number; atMs: number; rate: number }>();

function writeRate(store: FeatureStore, g: FeatureGroup): number {
  return g.throughput.ThroughputMode === 'Provisioned' ? (g.throughput.ProvisionedWriteCapacityUnits ?? 1) : store.onDemandWriteUnitsPerSecond;
}

/** Takes up to `wanted` units now; one second's worth is the burst. */
function takeUnits(store: FeatureStore, g: FeatureGroup, nowMs: number, wanted: number): boolean {
  const rate = writeRate(store, g);
  let b = buckets.get(g);
  if (!b || b.rate !== rate) buckets.set(g, (b = { tokens: rate, atMs: nowMs, rate }));
  b.tokens = Math.min(rate, b.tokens + ((nowMs - b.atMs) / 1000) * rate);
  b.atMs = nowMs;
  if (b.tokens < wanted) return false;
  b.tokens -= wanted;
  return true;
}

function throttled(ctx: Ctx, g: FeatureGroup): Error {
  journalOf(ctx.state.store, g.name).throttledRequests += 1;
  return ctx.error('ThrottlingException', `Rate exceeded for FeatureGroup ${g.name}.`);
}

function nameOf(ref: string): string {
  return ref.startsWith('arn:') ? (ref.split('/').pop() ?? ref) : ref;
}

/** The group a write names, or the error AWS answers for it. */
function groupFor(ctx: Ctx, ref: string): FeatureGroup | { code: string; message: string; httpStatus: number } {
  const g = ctx.state.store.groups.get(nameOf(ref));
  if (!g) return { code: 'ResourceNotFound', message: `Resource Not Found: Amazon SageMaker can't find a FeatureGroup with name ${nameOf(ref)}`, httpStatus: 404 };
  if (g.status !== 'Created') return { code: 'ValidationError', message: `FeatureGroup ${g.name} is in ${g.status} status; records can be written only when it is Created.`, httpStatus: 400 };
  return g;
}

function requireGroup(ctx: Ctx, ref: string): FeatureGroup {
  const g = groupFor(ctx, ref);
  if ('code' in g) throw ctx.error(g.code, g.message, { httpStatus: g.httpStatus });
  return g;
}

function storesOf(ctx: Ctx, g: FeatureGroup, wanted: readonly Store[] | undefined): { online: boolean; offline: boolean } | string {
  const hasOnline = g.onlineStoreConfig?.EnableOnlineStore === true;
  const hasOffline = g.offlineStoreConfig !== undefined;
  if (!wanted) return { online: hasOnline, offline: hasOffline };
  if (wanted.includes('OnlineStore') && !hasOnline) return `FeatureGroup ${g.name} has no OnlineStore.`;
  if (wanted.includes('OfflineStore') && !hasOffline) return `FeatureGroup ${g.name} has no OfflineStore.`;
  void ctx;
  return { online: wanted.includes('OnlineStore'), offline: wanted.includes('OfflineStore') };
}

function rejectionOf(store: FeatureStore, g: FeatureGroup, values: readonly FeatureValue[]): RejectionRule | undefined {
  for (const rule of store.rejections) {
    if (rule.featureGroupName !== g.name) continue;
    const v = values.find((fv) => fv.FeatureName === rule.featureName)?.ValueAsString;
    if (v !== undefined && rule.values.includes(v)) return rule;
  }
  return undefined;
}

/** Writes one checked record: online if its event time is not older than the stored one, offline always. */
function writeChecked(ctx: Ctx, g: FeatureGroup, checked: CheckedRecord, raw: readonly FeatureValue[], stores: { online: boolean; offline: boolean }): void {
  const now = ctx.nowMs();
  if (stores.online) {
    const existing = g.online.get(checked.identifier);
    if (!existing || checked.eventTimeMs >= existing.eventTimeMs) {
      g.online.set(checked.identifier, {
        eventTimeMs: checked.eventTimeMs,
        record: raw.map((fv) => (fv.ValueAsStringList ? { FeatureName: fv.FeatureName, ValueAsStringList: [...fv.ValueAsStringList] } : { FeatureName: fv.FeatureName, ValueAsString: fv.ValueAsString })),
        deleted: false,
      });
    }
  }
  if (stores.offline) bufferRow(g, { values: checked.values, eventTimeMs: checked.eventTimeMs, writeTimeMs: now, apiInvocationTimeMs: now, isDeleted: false });
  noteWrite(journalOf(ctx.state.store, g.name), checked.identifier, checked.eventTime);
}

function afterWrites(ctx: Ctx, groups: Iterable<FeatureGroup>): void {
  const now = ctx.nowMs();
  for (const g of groups) if (flushDue(g, now)) flushOfflineStore(g, ctx.state.s3, now);
}

function count(ctx: Ctx, g: string, op: string): void {
  const j = journalOf(ctx.state.store, g);
  j.requests[op] = (j.requests[op] ?? 0) + 1;
}

function visibleRecord(g: FeatureGroup, identifier: string, featureNames: readonly string[] | undefined): FeatureValue[] | undefined {
  const r = g.online.get(identifier);
  if (!r || r.deleted) return undefined;
  return featureNames && featureNames.length > 0 ? r.record.filter((fv) => featureNames.includes(fv.FeatureName)) : r.record;
}

function requireOnline(ctx: Ctx, g: FeatureGroup): void {
  if (g.onlineStoreConfig?.EnableOnlineStore !== true) throw ctx.error('ValidationError', `FeatureGroup ${g.name} does not have an OnlineStore; records can be read only from an online store.`);
}

export const featureStoreRuntime = defineService<RuntimeState>({
  name: 'sagemaker-featurestore-runtime',
  protocol: 'restJson1',
  signingName: 'sagemaker',
  arnService: 'sagemaker',
  validationError: { code: 'ValidationError' },
  createState: (scope) => ({ store: featureStoreOf(scope), s3: s3StateOf(scope) }),
  operations: {
    PutRecord: operation({
      http: { method: 'PUT', path: '/FeatureGroup/{FeatureGroupName}' },
      // Runtime calls are CloudTrail data events (AWS::SageMaker::FeatureGroup), not logged unless a trail asks.
      cloudTrail: false,
      input: z.looseObject({ FeatureGroupName: groupRef, Record: record, TargetStores: targetStores, TtlDuration: ttl }),
      handler(input, ctx: Ctx) {
        const g = groupFor(ctx, input.FeatureGroupName);
        // AWS answers an unknown group on PutRecord as a ValidationError naming the missing resource.
        if ('code' in g) throw ctx.error('ValidationError', g.message);
        count(ctx, g.name, 'PutRecord');
        const stores = storesOf(ctx, g, input.TargetStores);
        if (typeof stores === 'string') throw ctx.error('ValidationError', stores);
        const checked = checkRecord(g, input.Record);
        if (!checked.ok) throw ctx.error(checked.code, checked.message);
        const rule = rejectionOf(ctx.state.store, g, input.Record);
        if (rule) {
          journalOf(ctx.state.store, g.name).recordsRejected += 1;
          throw ctx.error(rule.errorCode, rule.errorMessage);
        }
        if (!takeUnits(ctx.state.store, g, ctx.nowMs(), writeUnits(checked.record.sizeBytes))) throw throttled(ctx, g);
        writeChecked(ctx, g, checked.record, input.Record, stores);
        afterWrites(ctx, [g]);
        return {};
      },
    }),
    BatchWriteRecord: operation({
      http: { method: 'POST', path: '/BatchWriteRecord' },
      input: z.looseObject({
        Entries: z.array(z.object({ FeatureGroupName: groupRef, Record: record, TargetStores: targetStores, TtlDuration: ttl })).min(1).max(25),
        TtlDuration: ttl,
      }),
      handler(input, ctx: Ctx) {
        type Entry = (typeof input.Entries)[number];
        const Errors: { Entry: Entry; ErrorCode: string; ErrorMessage: string }[] = [];
        const UnprocessedEntries: Entry[] = [];
        const touched = new Set<FeatureGroup>();
        let written = 0;
        let overCapacity = false;
        const now = ctx.nowMs();
        for (const entry of input.Entries) {
          const g = groupFor(ctx, entry.FeatureGroupName);
          if ('code' in g) {
            Errors.push({ Entry: entry, ErrorCode: g.code, ErrorMessage: g.message });
            continue;
          }
          count(ctx, g.name, 'BatchWriteRecord.Entry');
          const stores = storesOf(ctx, g, entry.TargetStores);
          if (typeof stores === 'string') {
            Errors.push({ Entry: entry, ErrorCode: 'ValidationError', ErrorMessage: stores });
            continue;
          }
          const checked = checkRecord(g, entry.Record);
          if (!checked.ok) {
            journalOf(ctx.state.store, g.name).recordsRejected += 1;
            Errors.push({ Entry: entry, ErrorCode: checked.code, ErrorMessage: checked.message });
            continue;
          }
          const rule = rejectionOf(ctx.state.store, g, entry.Record);
          if (rule) {
            journalOf(ctx.state.store, g.name).recordsRejected += 1;
            Errors.push({ Entry: entry, ErrorCode: rule.errorCode, ErrorMessage: rule.errorMessage });
            continue;
          }
          // Once one entry is over capacity the rest of the batch waits too, so records keep their order.
          if (overCapacity || !takeUnits(ctx.state.store, g, now, writeUnits(checked.record.sizeBytes))) {
            overCapacity = true;
            journalOf(ctx.state.store, g.name).entriesUnprocessed += 1;
            UnprocessedEntries.push(entry);
            continue;
          }
          writeChecked(ctx, g, checked.record, entry.Record, stores);
          touched.add(g);
          written += 1;
        }
        if (written === 0 && UnprocessedEntries.length > 0 && Errors.length === 0) {
          const g = ctx.state.store.groups.get(nameOf(UnprocessedEntries[0]!.FeatureGroupName))!;
          const j = journalOf(ctx.state.store, g.name);
          j.entriesUnprocessed -= UnprocessedEntries.length;
          throw throttled(ctx, g);
        }
        afterWrites(ctx, touched);
        return { Errors, UnprocessedEntries };
      },
    }),
    GetRecord: operation({
      http: { method: 'GET', path: '/FeatureGroup/{FeatureGroupName}', query: { RecordIdentifierValueAsString: 'RecordIdentifierValueAsString', FeatureName: 'FeatureNames[]', ExpirationTimeResponse: 'ExpirationTimeResponse' } },
      input: z.looseObject({
        FeatureGroupName: groupRef,
        RecordIdentifierValueAsString: z.string().max(358400),
        FeatureNames: z.array(z.string()).min(1).max(100).optional(),
        ExpirationTimeResponse: z.enum(['Enabled', 'Disabled']).optional(),
      }),
      handler(input, ctx: Ctx) {
        const g = requireGroup(ctx, input.FeatureGroupName);
        requireOnline(ctx, g);
        const r = visibleRecord(g, input.RecordIdentifierValueAsString, input.FeatureNames);
        return r ? { Record: r } : {};
      },
    }),
    BatchGetRecord: operation({
      http: { method: 'POST', path: '/BatchGetRecord' },
      input: z.looseObject({
        Identifiers: z
          .array(z.looseObject({ FeatureGroupName: groupRef, RecordIdentifiersValueAsString: z.array(z.string()).min(1).max(100), FeatureNames: z.array(z.string()).min(1).max(100).optional() }))
          .min(1)
          .max(10),
        ExpirationTimeResponse: z.enum(['Enabled', 'Disabled']).optional(),
      }),
      handler(input, ctx: Ctx) {
        const total = input.Identifiers.reduce((n, i) => n + i.RecordIdentifiersValueAsString.length, 0);
        if (total > 100) throw ctx.error('ValidationError', `A BatchGetRecord request can name at most 100 record identifiers; it named ${total}.`);
        const Records: { FeatureGroupName: string; RecordIdentifierValueAsString: string; Record: FeatureValue[] }[] = [];
        const Errors: { FeatureGroupName: string; RecordIdentifierValueAsString: string; ErrorCode: string; ErrorMessage: string }[] = [];
        for (const ident of input.Identifiers) {
          const g = groupFor(ctx, ident.FeatureGroupName);
          for (const id of ident.RecordIdentifiersValueAsString) {
            if ('code' in g) {
              Errors.push({ FeatureGroupName: ident.FeatureGroupName, RecordIdentifierValueAsString: id, ErrorCode: g.code, ErrorMessage: g.message });
              continue;
            }
            if (g.onlineStoreConfig?.EnableOnlineStore !== true) {
              Errors.push({ FeatureGroupName: g.name, RecordIdentifierValueAsString: id, ErrorCode: 'ValidationError', ErrorMessage: `FeatureGroup ${g.name} does not have an OnlineStore.` });
              continue;
            }
            const r = visibleRecord(g, id, ident.FeatureNames);
            if (r) Records.push({ FeatureGroupName: g.name, RecordIdentifierValueAsString: id, Record: r });
          }
        }
        return { Records, Errors, UnprocessedIdentifiers: [] };
      },
    }),
    DeleteRecord: operation({
      http: {
        method: 'DELETE',
        path: '/FeatureGroup/{FeatureGroupName}',
        query: { RecordIdentifierValueAsString: 'RecordIdentifierValueAsString', EventTime: 'EventTime', TargetStores: 'TargetStores[]', DeletionMode: 'DeletionMode' },
      },
      cloudTrail: false,
      input: z.looseObject({
        FeatureGroupName: groupRef,
        RecordIdentifierValueAsString: z.string().max(358400),
        EventTime: z.string().max(358400),
        TargetStores: targetStores,
        DeletionMode: z.enum(['SoftDelete', 'HardDelete']).optional(),
      }),
      handler(input, ctx: Ctx) {
        const g = requireGroup(ctx, input.FeatureGroupName);
        const stores = storesOf(ctx, g, input.TargetStores);
        if (typeof stores === 'string') throw ctx.error('ValidationError', stores);
        const etIndex = g.featureDefinitions.findIndex((d) => d.FeatureName === g.eventTimeFeatureName);
        const idIndex = g.featureDefinitions.findIndex((d) => d.FeatureName === g.recordIdentifierFeatureName);
        const deletion = checkRecord(g, [
          { FeatureName: g.recordIdentifierFeatureName, ValueAsString: input.RecordIdentifierValueAsString },
          { FeatureName: g.eventTimeFeatureName, ValueAsString: input.EventTime },
        ]);
        if (!deletion.ok) throw ctx.error('ValidationError', deletion.message);
        const now = ctx.nowMs();
        if (stores.online) {
          const existing = g.online.get(input.RecordIdentifierValueAsString);
          if (existing && deletion.record.eventTimeMs < existing.eventTimeMs) {
            throw ctx.error('ValidationError', `The EventTime ${input.EventTime} of the deletion is older than the stored record's event time.`);
          }
          if (input.DeletionMode === 'HardDelete') g.online.delete(input.RecordIdentifierValueAsString);
          else if (existing) g.online.set(input.RecordIdentifierValueAsString, { ...existing, eventTimeMs: deletion.record.eventTimeMs, deleted: true });
        }
        if (stores.offline) {
          const values = new Array<string | undefined>(g.featureDefinitions.length);
          values[idIndex] = input.RecordIdentifierValueAsString;
          values[etIndex] = input.EventTime;
          bufferRow(g, { values, eventTimeMs: deletion.record.eventTimeMs, writeTimeMs: now, apiInvocationTimeMs: now, isDeleted: true });
          afterWrites(ctx, [g]);
        }
        return {};
      },
    }),
  },
  control: [
    {
      method: 'GET',
      path: '/journal',
      description: 'writes per feature group (?group=G): records written, distinct and duplicated (identifier, event time) pairs, rejections, throttling',
      handler: (req, ctx: ServiceContext<RuntimeState>) => {
        const group = req.query.group;
        if (group) return summarize(journalOf(ctx.state.store, group));
        return Object.fromEntries([...ctx.state.store.groups.keys()].map((name) => [name, summarize(journalOf(ctx.state.store, name))]));
      },
    },
    {
      method: 'DELETE',
      path: '/journal',
      description: 'forgets the write journal',
      handler: (_req, ctx: ServiceContext<RuntimeState>) => {
        clearJournal(ctx.state.store);
        return {};
      },
    },
    {
      method: 'PUT',
      path: '/throughput',
      description: 'the on-demand write rate per feature group: { onDemandWriteUnitsPerSecond }',
      handler: (req, ctx: ServiceContext<RuntimeState>) => {
        const parsed = z.object({ onDemandWriteUnitsPerSecond: z.number().positive() }).strict().safeParse(req.body ?? {});
        if (!parsed.success) throw ctx.error('BadRequest', parsed.error.issues[0]?.message ?? 'invalid body');
        ctx.state.store.onDemandWriteUnitsPerSecond = parsed.data.onDemandWriteUnitsPerSecond;
        return { onDemandWriteUnitsPerSecond: ctx.state.store.onDemandWriteUnitsPerSecond };
      },
    },
    {
      method: 'POST',
      path: '/rejections',
      description: 'rejects records whose feature has one of the values: { featureGroupName, featureName, values, errorCode?, errorMessage? }',
      handler: (req, ctx: ServiceContext<RuntimeState>) => {
        const parsed = z
          .object({
            featureGroupName: z.string(),
            featureName: z.string(),
            values: z.array(z.string()).min(1),
            errorCode: z.string().default('ValidationError'),
            errorMessage: z.string().default('The record was rejected by the service.'),
          })
          .strict()
          .safeParse(req.body ?? {});
        if (!parsed.success) throw ctx.error('BadRequest', parsed.error.issues[0]?.message ?? 'invalid body');
        const rule: RejectionRule = { id: newId('rej-', 8), ...parsed.data };
        ctx.state.store.rejections.push(rule);
        return rule;
      },
    },
    {
      method: 'DELETE',
      path: '/rejections',
      description: 'removes every rejection rule',
      handler: (_req, ctx: ServiceContext<RuntimeState>) => {
        ctx.state.store.rejections.length = 0;
        return {};
      },
    },
    {
      method: 'POST',
      path: '/offline-store/flush',
      description: 'writes every buffered offline-store row to Parquet files now (AWS: within 15 minutes)',
      handler: async (_req, ctx: ServiceContext<RuntimeState>) => {
        await parquetWriterReady();
        const files: string[] = [];
        for (const g of ctx.state.store.groups.values()) files.push(...flushOfflineStore(g, ctx.state.s3, ctx.nowMs()));
        return { files };
      },
    },
  ],
});
