/** S3, path style, through the real S3 client: every emulated operation, its outputs and its typed errors. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketNotificationConfigurationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  GetBucketAclCommand,
  ListPartsCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { crc32 } from 'node:zlib';
import type { RunningEmulator } from '../../local/aws';
import type { DeliveryRecord } from '../../local/aws/events';
import { caught, clientConfig, control, startTestEmulator } from './harness';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startTestEmulator();
});
afterAll(async () => {
  await emu.close();
});

let bucketSeq = 0;
function s3(region = 'us-east-1'): S3Client {
  return new S3Client({ ...clientConfig(emu.endpoint), region, forcePathStyle: true });
}

async function newBucket(client = s3()): Promise<string> {
  const Bucket = `bucket-${++bucketSeq}-${Date.now()}`;
  await client.send(new CreateBucketCommand({ Bucket }));
  return Bucket;
}

function crc32b64(data: Buffer | string): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32(typeof data === 'string' ? Buffer.from(data) : data));
  return b.toString('base64');
}

/** Records the headers of every request the client sends. */
function recordHeaders(client: S3Client): Record<string, string>[] {
  const seen: Record<string, string>[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      seen.push({ ...((args.request as { headers: Record<string, string> }).headers ?? {}) });
      return next(args);
    },
    { step: 'deserialize', name: 'recordHeaders' },
  );
  return seen;
}

describe('buckets', () => {
  it('creates, lists, heads and deletes buckets', async () => {
    const client = s3();
    const Bucket = await newBucket(client);
    const { Buckets } = await client.send(new ListBucketsCommand({}));
    expect(Buckets?.map((b) => b.Name)).toContain(Bucket);
    expect(Buckets?.find((b) => b.Name === Bucket)?.CreationDate).toBeInstanceOf(Date);
    const head = await client.send(new HeadBucketCommand({ Bucket }));
    expect(head.BucketRegion).toBe('us-east-1');
    await client.send(new DeleteBucketCommand({ Bucket }));
    const err = await caught(client.send(new HeadBucketCommand({ Bucket })));
    expect(err.name).toBe('NotFound');
    expect(err.$metadata?.httpStatusCode).toBe(404);
  });

  it('answers re-creation as S3 does: 200 in us-east-1, BucketAlreadyOwnedByYou elsewhere', async () => {
    const Bucket = await newBucket();
    await s3().send(new CreateBucketCommand({ Bucket }));
    const eu = s3('eu-west-1');
    const euBucket = `eu-${Date.now()}`;
    await eu.send(new CreateBucketCommand({ Bucket: euBucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    const err = await caught(eu.send(new CreateBucketCommand({ Bucket: euBucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } })));
    expect(err.name).toBe('BucketAlreadyOwnedByYou');
    expect(err.$metadata?.httpStatusCode).toBe(409);
  });

  it('rejects invalid names, missing buckets and deleting a bucket with objects', async () => {
    const client = s3();
    expect((await caught(client.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })))).name).toBe('InvalidBucketName');
    expect((await caught(client.send(new PutObjectCommand({ Bucket: 'no-such-bucket', Key: 'k', Body: 'x' })))).name).toBe('NoSuchBucket');
    const Bucket = await newBucket(client);
    await client.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x' }));
    expect((await caught(client.send(new DeleteBucketCommand({ Bucket })))).name).toBe('BucketNotEmpty');
  });
});

describe('objects', () => {
  it('puts and gets bytes with metadata, content type and a verified CRC32', async () => {
    const client = s3();
    const Bucket = await newBucket(client);
    const put = await client.send(
      new PutObjectCommand({ Bucket, Key: 'dir/a b+c.txt', Body: 'hello world', ContentType: 'text/plain', Metadata: { owner: 'ann' } }),
    );
    expect(put.ETag).toBe('"5eb63bbbe01eeed093cb22bb8f5acdc3"');
    expect(put.ChecksumCRC32).toBe(crc32b64('hello world'));
    const got = await client.send(new GetObjectCommand({ Bucket, Key: 'dir/a b+c.txt', ChecksumMode: 'ENABLED' }));
    expect(await got.Body?.transformToString()).toBe('hello world');
    expect(got).toMatchObject({ ContentType: 'text/plain', ContentLength: 11, Metadata: { owner: 'ann' }, ETag: put.ETag, ChecksumCRC32: put.ChecksumCRC32 });
    expect(got.LastModified).toBeInstanceOf(Date);
    const head = await client.send(new HeadObjectCommand({ Bucket, Key: 'dir/a b+c.txt' }));
    expect(head).toMatchObject({ ContentLength: 11, ETag: put.ETag, ContentType: 'text/plain' });
  });

  it('decodes aws-chunked streaming uploads with a trailing checksum', async () => {
    const client = s3();
    const headers = recordHeaders(client);
    const Bucket = await newBucket(client);
    const data = Buffer.alloc(200_000, 7);
    data.write('start');
    const Body = Readable.from([data.subarray(0, 70_000), data.subarray(70_000)]);
    const put = await client.send(new PutObjectCommand({ Bucket, Key: 'stream.bin', Body, ContentLength: data.length }));
    const sent = headers.at(-1) ?? {};
    expect(sent['content-encoding']).toContain('aws-chunked');
    expect(sent['x-amz-trailer']).toBe('x-amz-checksum-crc32');
    expect(put.ChecksumCRC32).toBe(crc32b64(data));
    const got = await client.send(new GetObjectCommand({ Bucket, Key: 'stream.bin' }));
    expect(Buffer.from((await got.Body?.transformToByteArray()) ?? []).equals(data)).toBe(true);
    expect(got.ContentEncoding).toBeUndefined();
  });

  it('rejects a body whose checksum does not match with BadDigest', async () => {
    const client = s3();
    const Bucket = await newBucket(client);
    const err = await caught(client.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'payload', ChecksumCRC32: crc32b64('other') })));
    expect(err.name).toBe('BadDigest');
    expect((await caught(client.send(new HeadObjectCommand({ Bucket, Key: 'k' })))).name).toBe('NotFound');
  });

  it('serves byte ranges and refuses unsatisfiable ones', async () => {
    const client = s3();
    const Bucket = await newBucket(client);
    await client.send(new PutObjectCommand({ Bucket, Key: 'r', Body: '0123456789' }));
    const range = async (Range: string) => {
      const r = await client.send(new GetObjectCommand({ Bucket, Key: 'r', Range }));
      return [await r.Body?.transformToString(), r.ContentRange, r.ContentLength, r.$metadata.httpStatusCode];
    };
    expect(await range('bytes=2-4')).toEqual(['234', 'bytes 2-4/10', 3, 206]);
    expect(await range('bytes=7-')).toEqual(['789', 'bytes 7-9/10', 3, 206]);
    expect(await range('bytes=-2')).toEqual(['89', 'bytes 8-9/10', 2, 206]);
    expect(await range('bytes=5-100')).toEqual(['56789', 'bytes 5-9/10', 5, 206]);
    const err = await caught(client.send(new GetObjectCommand({ Bucket, Key: 'r', Range: 'bytes=10-12' })));
    expect(err.name).toBe('InvalidRange');
    expect(err.$metadata?.httpStatusCode).toBe(416);
  });

  it('honours conditional reads and conditional writes', async () => {
    const client = s3();
    const Bucket = await newBucket(client);
    const { ETag } = await client.send(new PutObjectCommand({ Bucket, Key: 'c', Body: 'v1' }));
    const notModified = await caught(client.send(new GetObjectCommand({ Bucket, Key: 'c', IfNoneMatch: ETag })));
    expect(notModified.$metadata?.httpStatusCode).toBe(304);
    const failed = await caught(client.send(new GetObjectCommand({ Bucket, Key: 'c', IfMatch: '"other"' })));
    expect(failed.name).toBe('PreconditionFailed');
    const exists = await caught(client.send(new PutObjectCommand({ Bucket, Key: 'c', Body: 'v2', IfNoneMatch: '*' })));
    expect(exists.name).toBe('PreconditionFailed');
    await client.send(new PutObjectCommand({ Bucket, Key: 'c', Body: 'v2', IfMatch: ETag }));
    expect(await (await client.send(new GetObjectCommand({ Bucket, Key: 'c' }))).Body?.transformToString()).toBe('v2');
  });

  it('answers NoSuchKey for a missing object and deletes idempotently', async () => {
    const client = s3();
    const Bucket = await newBucket(client);
    await client.send(new PutObjectCommand({ Bucket, Key: 'gone', Body: 'x' }));
    await client.send(new DeleteObjectCommand({ Bucket, Key: 'gone' }));
    await client.send(new DeleteObjectCommand({ Bucket, Key: 'gone' }));
    const err = await caught(client.send(new GetObjectCommand({ Bucket, Key: 'gone' })));
    expect(err.name).toBe('NoSuchKey');
    expect(err.constructor.name).toBe('NoSuchKey');
  });

  it('deletes many objects in one call', async () => {
    const client = s3();
    const Bucket = await newBucket(client);
    for (const Key of ['a', 'b', 'c']) await client.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
    const res = await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: 'a' }, { Key: 'b' }, { Key: 'missing' }] } }));
    expect(res.Deleted?.map((d) => d.Key)).toEqual(['a', 'b', 'missing']);
    const quiet = await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: 'c' }], Quiet: true } }));
    expect(quiet.Deleted).toBeUndefined();
    expect((await client.send(new ListObjectsV2Command({ Bucket }))).KeyCount).toBe(0);
  });

  it('copies objects across buckets, keeping or replacing metadata', async () => {
    const client = s3();
    const src = await newBucket(client);
    const dst = await newBucket(client);
    await client.send(new PutObjectCommand({ Bucket: src, Key: 'dir/x y', Body: 'copied', ContentType: 'text/csv', Metadata: { a: '1' } }));
    const copy = await client.send(new CopyObjectCommand({ Bucket: dst, Key: 'kept', CopySource: `${src}/${encodeURIComponent('dir/x y')}` }));
    expect(copy.CopyObjectResult?.ETag).toBe((await client.send(new HeadObjectCommand({ Bucket: src, Key: 'dir/x y' }))).ETag);
    const kept = await client.send(new GetObjectCommand({ Bucket: dst, Key: 'kept' }));
    expect([await kept.Body?.transformToString(), kept.ContentType, kept.Metadata]).toEqual(['copied', 'text/csv', { a: '1' }]);
    await client.send(new CopyObjectCommand({ Bucket: dst, Key: 'replaced', CopySource: `${src}/dir/x%20y`, MetadataDirective: 'REPLACE', Metadata: { b: '2' } }));
    expect((await client.send(new HeadObjectCommand({ Bucket: dst, Key: 'replaced' }))).Metadata).toEqual({ b: '2' });
    const missing = await caught(client.send(new CopyObjectCommand({ Bucket: dst, Key: 'z', CopySource: `${src}/nope` })));
    expect(missing.name).toBe('NoSuchKey');
    const self = await caught(client.send(new CopyObjectCommand({ Bucket: src, Key: 'dir/x y', CopySource: `${src}/dir/x%20y` })));
    expect(self.name).toBe('InvalidRequest');
  });
});

describe('ListObjectsV2', () => {
  it('filters by prefix, groups by delimiter and pages with continuation tokens', async () => {
    const client = s3();
    const Bucket = await newBucket(client);
    const keys = ['a/1', 'a/2', 'a/sub/3', 'a/sub/4', 'b/5', 'c', 'd'];
    for (const Key of keys) await client.send(new PutObjectCommand({ Bucket, Key, Body: Key }));

    const all = await client.send(new ListObjectsV2Command({ Bucket }));
    expect(all.Contents?.map((c) => c.Key)).toEqual(keys);
    expect(all.Contents?.[0]).toMatchObject({ Size: 3, StorageClass: 'STANDARD' });
    expect(all.IsTruncated).toBe(false);

    const top = await client.send(new ListObjectsV2Command({ Bucket, Delimiter: '/' }));
    expect(top.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/', 'b/']);
    expect(top.Contents?.map((c) => c.Key)).toEqual(['c', 'd']);
    expect(top.KeyCount).toBe(4);

    const underA = await client.send(new ListObjectsV2Command({ Bucket, Prefix: 'a/', Delimiter: '/' }));
    expect(underA.Contents?.map((c) => c.Key)).toEqual(['a/1', 'a/2']);
    expect(underA.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/sub/']);

    // Pages of two, a common prefix counting once, as a paginator walks them.
    const pages: string[][] = [];
    for await (const page of paginateListObjectsV2({ client, pageSize: 2 }, { Bucket, Delimiter: '/' })) {
      pages.push([...(page.CommonPrefixes ?? []).map((p) => p.Prefix as string), ...(page.Contents ?? []).map((c) => c.Key as string)]);
    }
    expect(pages).toEqual([['a/', 'b/'], ['c', 'd']]);

    const afterStart = await client.send(new ListObjectsV2Command({ Bucket, StartAfter: 'a/sub/4', MaxKeys: 2 }));
    expect(afterStart.Contents?.map((c) => c.Key)).toEqual(['b/5', 'c']);
    expect(afterStart.IsTruncated).toBe(true);
    const rest = await client.send(new ListObjectsV2Command({ Bucket, ContinuationToken: afterStart.NextContinuationToken }));
    expect(rest.Contents?.map((c) => c.Key)).toEqual(['d']);

    const bad = await caught(client.send(new ListObjectsV2Command({ Bucket, ContinuationToken: 'not-a-token' })));
    expect(bad.name).toBe('InvalidArgument');
  });
});

describe('ListObjects (version 1)', () => {
  it('filters by prefix, groups by delimiter, pages by marker, and leaves other sub-resources unemulated', async () => {
    const client = s3();
    const Bucket = await newBucket(client);
    const keys = ['a/1', 'a/2', 'a/sub/3', 'b/5', 'c', 'd'];
    for (const Key of keys) await client.send(new PutObjectCommand({ Bucket, Key, Body: Key }));

    const all = await client.send(new ListObjectsCommand({ Bucket }));
    expect(all.Contents?.map((c) => c.Key)).toEqual(keys);
    expect(all.Contents?.[0]).toMatchObject({ Size: 3, StorageClass: 'STANDARD', Owner: { ID: expect.any(String) } });
    expect(all.IsTruncated).toBe(false);

    // Without a delimiter, the last key is the next marker (S3 gives no NextMarker then).
    const first = await client.send(new ListObjectsCommand({ Bucket, MaxKeys: 4 }));
    expect(first.Contents?.map((c) => c.Key)).toEqual(['a/1', 'a/2', 'a/sub/3', 'b/5']);
    expect(first).toMatchObject({ IsTruncated: true });
    expect(first.NextMarker).toBeUndefined();
    const second = await client.send(new ListObjectsCommand({ Bucket, Marker: 'b/5' }));
    expect(second.Contents?.map((c) => c.Key)).toEqual(['c', 'd']);

    // With one, NextMarker may be a common prefix, and listing from it skips that prefix's keys.
    const pageA = await client.send(new ListObjectsCommand({ Bucket, Delimiter: '/', MaxKeys: 1 }));
    expect(pageA.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/']);
    expect(pageA.NextMarker).toBe('a/');
    const pageB = await client.send(new ListObjectsCommand({ Bucket, Delimiter: '/', Marker: pageA.NextMarker }));
    expect(pageB.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['b/']);
    expect(pageB.Contents?.map((c) => c.Key)).toEqual(['c', 'd']);

    const unknown = await caught(client.send(new GetBucketAclCommand({ Bucket })));
    expect(unknown.$metadata.httpStatusCode).toBe(501);
    expect(unknown.message).toMatch(/does not emulate GET \/\{Bucket\}\?acl/);
  });
});

describe('multipart upload', () => {
  const MiB = 1024 * 1024;

  it('uploads parts, lists them, completes with a composite checksum and serves the whole object', async () => {
    const client = s3();
    const Bucket = await newBucket(client);
    const Key = 'big/object.bin';
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key, ChecksumAlgorithm: 'CRC32', ContentType: 'application/x-test' }));
    expect(UploadId).toBeTruthy();
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket }));
    expect(uploads.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([[Key, UploadId]]);

    const part1 = Buffer.alloc(5 * MiB, 1);
    const part2 = Buffer.from('tail');
    const p1 = await client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: part1, ChecksumAlgorithm: 'CRC32' }));
    const p2 = await client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 2, Body: part2, ChecksumAlgorithm: 'CRC32' }));
    expect(p1.ChecksumCRC32).toBe(crc32b64(part1));
    const parts = await client.send(new ListPartsCommand({ Bucket, Key, UploadId }));
    expect(parts.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual([
      [1, part1.length, p1.ETag],
      [2, 4, p2.ETag],
    ]);

    const done = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag, ChecksumCRC32: p1.ChecksumCRC32 },
            { PartNumber: 2, ETag: p2.ETag, ChecksumCRC32: p2.ChecksumCRC32 },
          ],
        },
      }),
    );
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-2"$/);
    const composite = Buffer.concat([Buffer.from(p1.ChecksumCRC32 as string, 'base64'), Buffer.from(p2.ChecksumCRC32 as string, 'base64')]);
    expect(done.ChecksumCRC32).toBe(`${crc32b64(composite)}-2`);
    const got = await client.send(new GetObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
    const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? []);
    expect(bytes.equals(Buffer.concat([part1, part2]))).toBe(true);
    expect(got).toMatchObject({ ContentType: 'application/x-test', ETag: done.ETag, PartsCount: 2 });
    expect((await client.send(new ListMultipartUploadsCommand({ Bucket }))).Uploads ?? []).toEqual([]);
  });

  it('copies a part from an existing object with a range', async () => {
    const client = s3();
    const Bucket = await newBucket(client);
    await client.send(new PutObjectCommand({ Bucket, Key: 'src', Body: 'abcdefghij' }));
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key: 'dst' }));
    const part = await client.send(new UploadPartCopyCommand({ Bucket, Key: 'dst', UploadId, PartNumber: 1, CopySource: `${Bucket}/src`, CopySourceRange: 'bytes=2-5' }));
    await client.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'dst', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.CopyPartResult?.ETag }] } }));
    expect(await (await client.send(new GetObjectCommand({ Bucket, Key: 'dst' }))).Body?.transformToString()).toBe('cdef');
  });

  it('refuses small parts, unknown parts and unknown uploads, and aborts', async () => {
    const client = s3();
    const Bucket = await newBucket(client);
    const Key = 'k';
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const p1 = await client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: 'small' }));
    const p2 = await client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 2, Body: 'small' }));
    const tooSmall = await caught(
      client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }] } })),
    );
    expect(tooSmall.name).toBe('EntityTooSmall');
    const wrongTag = await caught(client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"0"' }] } })));
    expect(wrongTag.name).toBe('InvalidPart');
    const order = await caught(
      client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 2, ETag: p2.ETag }, { PartNumber: 1, ETag: p1.ETag }] } })),
    );
    expect(order.name).toBe('InvalidPartOrder');
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }));
    const aborted = await caught(client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 3, Body: 'x' })));
    expect(aborted.name).toBe('NoSuchUpload');
    expect(aborted.$metadata?.httpStatusCode).toBe(404);
  });
});

describe('S3 events to EventBridge', () => {
  it('publishes Object Created / Object Deleted once the bucket enables EventBridge', async () => {
    const client = s3();
    const Bucket = await newBucket(client);
    await client.send(new PutObjectCommand({ Bucket, Key: 'before', Body: 'x' }));
    await client.send(new PutBucketNotificationConfigurationCommand({ Bucket, NotificationConfiguration: { EventBridgeConfiguration: {} } }));
    expect((await client.send(new GetBucketNotificationConfigurationCommand({ Bucket }))).EventBridgeConfiguration).toEqual({});
    await client.send(new PutObjectCommand({ Bucket, Key: 'in/data.csv', Body: 'a,b' }));
    await client.send(new DeleteObjectCommand({ Bucket, Key: 'in/data.csv' }));
    const { body } = await control<{ events: DeliveryRecord[] }>(emu.endpoint, 'GET', '/events?source=aws.s3');
    const mine = body.events.filter((e) => (e.event.detail as { bucket?: { name: string } }).bucket?.name === Bucket);
    expect(mine.map((e) => [e.event['detail-type'], (e.event.detail as { object: { key: string } }).object.key])).toEqual([
      ['Object Created', 'in/data.csv'],
      ['Object Deleted', 'in/data.csv'],
    ]);
    expect(mine[0]?.event.detail).toMatchObject({ object: { size: 3 }, reason: 'PutObject' });
    // Bucket management calls are CloudTrail management events; object calls are data events, not sent by default.
    const trail = body.events.filter((e) => e.event['detail-type'] === 'AWS API Call via CloudTrail').map((e) => (e.event.detail as { eventName: string; requestParameters: { bucket?: string } }));
    expect(trail.filter((d) => d.requestParameters.bucket === Bucket).map((d) => d.eventName)).toEqual(['CreateBucket', 'PutBucketNotificationConfiguration']);
  });
});

describe('concurrency', () => {
  it('keeps every object of 64 parallel writers and every part of a parallel multipart upload', async () => {
    const Bucket = await newBucket();
    const clients = Array.from({ length: 8 }, () => s3());
    await Promise.all(
      Array.from({ length: 64 }, (_, i) => (clients[i % 8] as S3Client).send(new PutObjectCommand({ Bucket, Key: `k/${String(i).padStart(2, '0')}`, Body: `v${i}` }))),
    );
    await Promise.all(Array.from({ length: 32 }, (_, i) => (clients[i % 8] as S3Client).send(new PutObjectCommand({ Bucket, Key: 'same', Body: `w${i}` }))));
    const listed = await s3().send(new ListObjectsV2Command({ Bucket, Prefix: 'k/' }));
    expect(listed.KeyCount).toBe(64);
    const same = await (await s3().send(new GetObjectCommand({ Bucket, Key: 'same' }))).Body?.transformToString();
    expect(same).toMatch(/^w\d+$/);

    const { UploadId } = await s3().send(new CreateMultipartUploadCommand({ Bucket, Key: 'mp' }));
    const bodies = Array.from({ length: 3 }, (_, i) => Buffer.alloc(i < 2 ? 5 * 1024 * 1024 : 10, i + 1));
    const parts = await Promise.all(bodies.map((Body, i) => (clients[i] as S3Client).send(new UploadPartCommand({ Bucket, Key: 'mp', UploadId, PartNumber: i + 1, Body }))));
    await s3().send(
      new CompleteMultipartUploadCommand({ Bucket, Key: 'mp', UploadId, MultipartUpload: { Parts: parts.map((p, i) => ({ PartNumber: i + 1, ETag: p.ETag })) } }),
    );
    const whole = Buffer.from((await (await s3().send(new GetObjectCommand({ Bucket, Key: 'mp' }))).Body?.transformToByteArray()) ?? []);
    expect(whole.equals(Buffer.concat(bodies))).toBe(true);
  });
});
