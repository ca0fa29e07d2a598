/**
 * Amazon S3, path style (`forcePathStyle: true`): buckets, objects with ranges, conditional requests, metadata
 * and flexible checksums (verified on upload, echoed, returned with `x-amz-checksum-mode: ENABLED`), listing v2,
 * batch delete, copy, multipart upload, and S3-to-EventBridge "Object Created" / "Object Deleted" events for
 * buckets whose notification configuration enables EventBridge.
 */
import { randomBytes } from 'node:crypto';
import { defineService, HttpResponse, type OperationContext, type OperationDefinition } from '../../service';
import { asArray, flat, parseXml, xmlDocument } from '../../protocols/xml';
import { checksum, checksumBytes, headerName, md5Hex, memberName, parseAlgorithm, CHECKSUM_ALGORITHMS, type ChecksumAlgorithm } from './checksums';
import { listObjectsV1, listObjectsV2 } from './listing';
import { TrackedMap } from '../../persistence/tracked-map';
import { s3StateOf } from './objects';
import { type Bucket, type MultipartUpload, type S3Object, type S3State, type StoredChecksum } from './state';

type Ctx = OperationContext<S3State>;
type Input = Record<string, unknown>;

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const MIN_PART_SIZE = 5 * 1024 * 1024;
const KEPT_HEADERS = ['content-type', 'cache-control', 'content-disposition', 'content-language', 'expires', 'content-encoding'];

function xml(root: string, value: unknown, status = 200, headers: Record<string, string> = {}): HttpResponse {
  return new HttpResponse(status, { 'content-type': 'application/xml', ...headers }, xmlDocument(root, value, { namespace: NS }));
}

function empty(status: number, headers: Record<string, string> = {}): HttpResponse {
  return new HttpResponse(status, headers, '');
}

function header(ctx: Ctx, name: string): string | undefined {
  const v = ctx.http.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function bucketOf(ctx: Ctx, name: string): Bucket {
  const bucket = ctx.state.buckets.get(name);
  if (!bucket) throw ctx.error('NoSuchBucket', 'The specified bucket does not exist', { httpStatus: 404, fields: { BucketName: name } });
  return bucket;
}

function objectOf(ctx: Ctx, bucket: Bucket, key: string): S3Object {
  const object = bucket.objects.get(key);
  if (!object) throw ctx.error('NoSuchKey', 'The specified key does not exist.', { httpStatus: 404, fields: { Key: key } });
  return object;
}

function uploadOf(ctx: Ctx, bucket: Bucket, uploadId: string, key: string): MultipartUpload {
  const upload = bucket.uploads.get(uploadId);
  if (!upload || upload.key !== key) {
    throw ctx.error('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', {
      httpStatus: 404,
      fields: { UploadId: uploadId },
    });
  }
  return upload;
}

/** Checks Content-MD5, x-amz-decoded-content-length and any x-amz-checksum-* header or trailer against the bytes. */
function verifyBody(ctx: Ctx): { algorithm: ChecksumAlgorithm; value: string } | undefined {
  const body = ctx.http.body;
  const decodedLength = header(ctx, 'x-amz-decoded-content-length');
  if (decodedLength !== undefined && Number(decodedLength) !== body.length) {
    throw ctx.error('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');
  }
  const md5 = header(ctx, 'content-md5');
  if (md5 !== undefined && Buffer.from(md5Hex(body), 'hex').toString('base64') !== md5) {
    throw ctx.error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  let found: { algorithm: ChecksumAlgorithm; value: string } | undefined;
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const claimed = header(ctx, headerName(algorithm));
    if (claimed === undefined) continue;
    if (checksum(algorithm, body) !== claimed) {
      throw ctx.error('BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`);
    }
    found = { algorithm, value: claimed };
  }
  const announced = parseAlgorithm(header(ctx, 'x-amz-sdk-checksum-algorithm'));
  if (announced && !found) {
    throw ctx.error('InvalidRequest', `x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.`);
  }
  return found;
}

function keptHeaders(ctx: Ctx): { headers: Record<string, string>; metadata: Record<string, string> } {
  const headers: Record<string, string> = {};
  const metadata: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    let v = header(ctx, name);
    if (name === 'content-encoding' && v !== undefined) {
      v = v
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e && e !== 'aws-chunked')
        .join(',');
      if (v === '') v = undefined;
    }
    if (v !== undefined) headers[name] = v;
  }
  for (const [name, value] of Object.entries(ctx.http.headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) metadata[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(',') : value;
  }
  if (!headers['content-type']) headers['content-type'] = 'application/octet-stream';
  return { headers, metadata };
}

function checksumHeaders(c: StoredChecksum | undefined): Record<string, string> {
  return c ? { [headerName(c.algorithm)]: c.value, 'x-amz-checksum-type': c.type } : {};
}

function checksumMembers(c: StoredChecksum | undefined): Record<string, string> {
  return c ? { [memberName(c.algorithm)]: c.value, ChecksumType: c.type } : {};
}

function objectHeaders(o: S3Object): Record<string, string> {
  const h: Record<string, string> = {
    ...o.headers,
    etag: o.etag,
    'last-modified': o.lastModified.toUTCString(),
    'accept-ranges': 'bytes',
  };
  for (const [k, v] of Object.entries(o.metadata)) h[`x-amz-meta-${k}`] = v;
  if (o.partsCount !== undefined) h['x-amz-mp-parts-count'] = String(o.partsCount);
  return h;
}

/** If-Match / If-None-Match / If-(Un)Modified-Since, as GetObject and HeadObject apply them. */
function checkConditions(ctx: Ctx, o: S3Object): HttpResponse | undefined {
  const ifMatch = header(ctx, 'if-match');
  const ifNoneMatch = header(ctx, 'if-none-match');
  const ifModifiedSince = header(ctx, 'if-modified-since');
  const ifUnmodifiedSince = header(ctx, 'if-unmodified-since');
  const seconds = Math.floor(o.lastModified.getTime() / 1000) * 1000;
  if (ifMatch !== undefined && ifMatch !== '*' && !ifMatch.split(',').map((s) => s.trim()).includes(o.etag)) {
    throw ctx.error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { httpStatus: 412, fields: { Condition: 'If-Match' } });
  }
  if (ifMatch === undefined && ifUnmodifiedSince !== undefined && seconds > Date.parse(ifUnmodifiedSince)) {
    throw ctx.error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
      httpStatus: 412,
      fields: { Condition: 'If-Unmodified-Since' },
    });
  }
  if (ifNoneMatch !== undefined && (ifNoneMatch === '*' || ifNoneMatch.split(',').map((s) => s.trim()).includes(o.etag))) {
    return empty(304, { etag: o.etag, 'last-modified': o.lastModified.toUTCString() });
  }
  if (ifNoneMatch === undefined && ifModifiedSince !== undefined && seconds <= Date.parse(ifModifiedSince)) {
    return empty(304, { etag: o.etag, 'last-modified': o.lastModified.toUTCString() });
  }
  return undefined;
}

function parseRange(ctx: Ctx, range: string, size: number): { start: number; end: number } | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // S3 ignores a range it cannot parse
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw invalidRange(ctx, size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || end < start) throw invalidRange(ctx, size);
  return { start, end };
}

function invalidRange(ctx: Ctx, size: number) {
  return ctx.error('InvalidRange', 'The requested range is not satisfiable', { httpStatus: 416, fields: { ActualObjectSize: size }, headers: { 'content-range': `bytes */${size}` } });
}

function publishObjectEvent(ctx: Ctx, bucket: Bucket, kind: 'Object Created' | 'Object Deleted', key: string, reason: string, o?: S3Object): void {
  if (!bucket.eventBridge) return;
  ctx.publish({
    source: 'aws.s3',
    detailType: kind,
    resources: [`arn:aws:s3:::${bucket.name}`],
    detail: {
      version: '0',
      bucket: { name: bucket.name },
      object: o ? { key, size: o.body.length, etag: o.etag.replace(/"/g, ''), sequencer: sequencer() } : { key, sequencer: sequencer() },
      'request-id': ctx.requestId,
      requester: ctx.accountId,
      'source-ip-address': '127.0.0.1',
      reason,
      ...(kind === 'Object Deleted' ? { 'deletion-type': 'Permanently Deleted' } : {}),
    },
  });
}

function sequencer(): string {
  return randomBytes(9).toString('hex').toUpperCase();
}

function putObject(ctx: Ctx, bucket: Bucket, key: string, o: S3Object, reason: string): void {
  bucket.objects.set(key, o);
  publishObjectEvent(ctx, bucket, 'Object Created', key, reason, o);
}

function validBucketName(name: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) && !/\.\./.test(name) && !/^\d+\.\d+\.\d+\.\d+$/.test(name);
}

function copySource(ctx: Ctx): { bucket: string; key: string } {
  const raw = header(ctx, 'x-amz-copy-source') ?? '';
  const withoutVersion = raw.split('?')[0] ?? '';
  const decoded = decodeURIComponent(withoutVersion).replace(/^\//, '');
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) throw ctx.error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey');
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
}

function partNumberOf(ctx: Ctx, value: unknown): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw ctx.error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
  return n;
}

const str = (v: unknown): string => String(v ?? '');

// Each S3 operation: its route and handler; input carries the path (Bucket, Key) and query members.
type S3Op = OperationDefinition<S3State, Input>;
const bucketPath = '/{Bucket}';
/** The query parameters of ListObjects (version 1); `x-id` is the SDK's operation hint. */
const LIST_OBJECTS_V1_QUERY = new Set(['prefix', 'delimiter', 'marker', 'max-keys', 'encoding-type', 'x-id']);
const objectPath = '/{Bucket}/{Key+}';

const operations: Record<string, S3Op> = {
  ListBuckets: {
    http: { method: 'GET', path: '/' },
    handler: (_input, ctx) =>
      xml('ListAllMyBucketsResult', {
        Buckets: {
          Bucket: flat(
            [...ctx.state.buckets.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((b) => ({ Name: b.name, CreationDate: b.created, BucketRegion: b.region })),
          ),
        },
        Owner: { ID: ctx.accountId, DisplayName: 'emulator' },
      }),
  },
  CreateBucket: {
    http: { method: 'PUT', path: bucketPath },
    cloudTrail: true,
    handler(input, ctx) {
      const name = str(input.Bucket);
      if (!validBucketName(name)) throw ctx.error('InvalidBucketName', 'The specified bucket is not valid.', { fields: { BucketName: name } });
      const config = parseXml(ctx.http.body).CreateBucketConfiguration as Record<string, unknown> | undefined;
      const region = str(config?.LocationConstraint) || 'us-east-1';
      const existing = ctx.state.buckets.get(name);
      if (existing) {
        // us-east-1 answers 200 to re-creating your own bucket; other regions answer BucketAlreadyOwnedByYou.
        if (existing.region === 'us-east-1' && region === 'us-east-1') return empty(200, { location: `/${name}` });
        throw ctx.error('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', {
          httpStatus: 409,
          fields: { BucketName: name },
        });
      }
      ctx.state.buckets.set(name, {
        name,
        region,
        created: ctx.now(),
        // Tracked: a durable emulator writes the objects that changed, not the whole bucket.
        objects: new TrackedMap(),
        uploads: new Map(),
        completed: new Map(),
        eventBridge: false,
      });
      return empty(200, { location: `/${name}` });
    },
  },
  HeadBucket: {
    http: { method: 'HEAD', path: bucketPath },
    handler(input, ctx) {
      const bucket = bucketOf(ctx, str(input.Bucket));
      return empty(200, { 'x-amz-bucket-region': bucket.region });
    },
  },
  DeleteBucket: {
    http: { method: 'DELETE', path: bucketPath },
    cloudTrail: true,
    handler(input, ctx) {
      const bucket = bucketOf(ctx, str(input.Bucket));
      if (bucket.objects.size > 0 || bucket.uploads.size > 0) {
        throw ctx.error('BucketNotEmpty', 'The bucket you tried to delete is not empty', { httpStatus: 409, fields: { BucketName: bucket.name } });
      }
      ctx.state.buckets.delete(bucket.name);
      return empty(204);
    },
  },
  PutBucketNotificationConfiguration: {
    http: { method: 'PUT', path: bucketPath, queryRequired: ['notification'] },
    cloudTrail: true,
    handler(input, ctx) {
      const bucket = bucketOf(ctx, str(input.Bucket));
      const config = parseXml(ctx.http.body).NotificationConfiguration as Record<string, unknown> | undefined;
      bucket.eventBridge = config !== undefined && typeof config === 'object' && 'EventBridgeConfiguration' in config;
      return empty(200);
    },
  },
  GetBucketNotificationConfiguration: {
    http: { method: 'GET', path: bucketPath, queryRequired: ['notification'] },
    handler(input, ctx) {
      const bucket = bucketOf(ctx, str(input.Bucket));
      return xml('NotificationConfiguration', bucket.eventBridge ? { EventBridgeConfiguration: {} } : {});
    },
  },
  ListObjectsV2: {
    http: { method: 'GET', path: bucketPath, queryRequired: ['list-type'] },
    handler(input, ctx) {
      const bucket = bucketOf(ctx, str(input.Bucket));
      if (str(input['list-type']) !== '2') throw ctx.error('InvalidArgument', 'Invalid List Type specified');
      return xml('ListBucketResult', listObjectsV2(bucket, ctx.http.query, (m) => ctx.error('InvalidArgument', m)));
    },
  },
  ListObjects: {
    // The bucket's path with no sub-resource: every other GET /{Bucket}?<sub-resource> is its own operation.
    http: { method: 'GET', path: bucketPath },
    handler(input, ctx) {
      const unknown = Object.keys(ctx.http.query).find((k) => !LIST_OBJECTS_V1_QUERY.has(k));
      if (unknown) throw ctx.error('UnknownOperationException', `the emulator does not emulate GET /{Bucket}?${unknown} of service s3`, { httpStatus: 501 });
      const bucket = bucketOf(ctx, str(input.Bucket));
      return xml('ListBucketResult', listObjectsV1(bucket, ctx.http.query, (m) => ctx.error('InvalidArgument', m)));
    },
  },
  ListMultipartUploads: {
    http: { method: 'GET', path: bucketPath, queryRequired: ['uploads'] },
    handler(input, ctx) {
      const bucket = bucketOf(ctx, str(input.Bucket));
      const prefix = str(input.prefix);
      const uploads = [...bucket.uploads.values()]
        .filter((u) => u.key.startsWith(prefix))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.initiated.getTime() - b.initiated.getTime()));
      return xml('ListMultipartUploadsResult', {
        Bucket: bucket.name,
        Prefix: prefix,
        MaxUploads: 1000,
        IsTruncated: false,
        Upload: flat(uploads.map((u) => ({ Key: u.key, UploadId: u.uploadId, Initiated: u.initiated, StorageClass: 'STANDARD', ...(u.checksumAlgorithm ? { ChecksumAlgorithm: u.checksumAlgorithm } : {}) }))),
      });
    },
  },
  DeleteObjects: {
    http: { method: 'POST', path: bucketPath, queryRequired: ['delete'] },
    cloudTrail: false,
    handler(input, ctx) {
      const bucket = bucketOf(ctx, str(input.Bucket));
      const hasIntegrity = ctx.http.headers['content-md5'] !== undefined || CHECKSUM_ALGORITHMS.some((a) => ctx.http.headers[headerName(a)] !== undefined);
      if (!hasIntegrity) throw ctx.error('InvalidRequest', 'Missing required header for this request: Content-MD5 or x-amz-checksum-*');
      verifyBody(ctx);
      const request = parseXml(ctx.http.body).Delete as Record<string, unknown> | undefined;
      if (!request) throw ctx.error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
      const objects = asArray(request.Object as Record<string, unknown> | Record<string, unknown>[] | undefined);
      if (objects.length === 0 || objects.length > 1000) throw ctx.error('MalformedXML', 'The request must name between 1 and 1000 objects');
      const quiet = str(request.Quiet) === 'true';
      const deleted: { Key: string }[] = [];
      for (const o of objects) {
        const key = str(o.Key);
        const existed = bucket.objects.delete(key);
        if (existed) publishObjectEvent(ctx, bucket, 'Object Deleted', key, 'DeleteObject');
        deleted.push({ Key: key });
      }
      return xml('DeleteResult', quiet ? {} : { Deleted: flat(deleted) });
    },
  },
  PutObject: {
    http: { method: 'PUT', path: objectPath },
    cloudTrail: false,
    handler(input, ctx) {
      const bucket = bucketOf(ctx, str(input.Bucket));
      const key = str(input.Key);
      const found = verifyBody(ctx);
      const existing = bucket.objects.get(key);
      const ifNoneMatch = header(ctx, 'if-none-match');
      const ifMatch = header(ctx, 'if-match');
      if (ifNoneMatch === '*' && existing) {
        throw ctx.error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { httpStatus: 412, fields: { Condition: 'If-None-Match' } });
      }
      if (ifMatch !== undefined && (!existing || (ifMatch !== '*' && ifMatch !== existing.etag))) {
        if (!existing) throw ctx.error('NoSuchKey', 'The specified key does not exist.', { httpStatus: 404, fields: { Key: key } });
        throw ctx.error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { httpStatus: 412, fields: { Condition: 'If-Match' } });
      }
      const body = Buffer.from(ctx.http.body);
      const stored: StoredChecksum | undefined = found ? { ...found, type: 'FULL_OBJECT' } : undefined;
      const o: S3Object = { key, body, etag: `"${md5Hex(body)}"`, lastModified: ctx.now(), ...keptHeaders(ctx), ...(stored ? { checksum: stored } : {}) };
      putObject(ctx, bucket, key, o, 'PutObject');
      return empty(200, { etag: o.etag, ...checksumHeaders(stored) });
    },
  },
  CopyObject: {
    http: { method: 'PUT', path: objectPath, headersRequired: ['x-amz-copy-source'] },
    cloudTrail: false,
    handler(input, ctx) {
      const bucket = bucketOf(ctx, str(input.Bucket));
      const key = str(input.Key);
      const src = copySource(ctx);
      const source = objectOf(ctx, bucketOf(ctx, src.bucket), src.key);
      const ifMatch = header(ctx, 'x-amz-copy-source-if-match');
      if (ifMatch !== undefined && ifMatch !== source.etag) {
        throw ctx.error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { httpStatus: 412, fields: { Condition: 'x-amz-copy-source-If-Match' } });
      }
      const replace = header(ctx, 'x-amz-metadata-directive') === 'REPLACE';
      if (!replace && src.bucket === bucket.name && src.key === key) {
        throw ctx.error(
          'InvalidRequest',
          'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata, storage class, website redirect location or encryption attributes.',
        );
      }
      const kept = replace ? keptHeaders(ctx) : { headers: { ...source.headers }, metadata: { ...source.metadata } };
      const requested = parseAlgorithm(header(ctx, 'x-amz-checksum-algorithm'));
      const algorithm = requested ?? source.checksum?.algorithm;
      const body = source.body;
      const stored: StoredChecksum | undefined = algorithm ? { algorithm, value: checksum(algorithm, body), type: 'FULL_OBJECT' } : undefined;
      const o: S3Object = { key, body, etag: `"${md5Hex(body)}"`, lastModified: ctx.now(), ...kept, ...(stored ? { checksum: stored } : {}) };
      putObject(ctx, bucket, key, o, 'CopyObject');
      return xml('CopyObjectResult', { ETag: o.etag, LastModified: o.lastModified, ...(stored ? { [memberName(stored.algorithm)]: stored.value, ChecksumType: stored.type } : {}) }, 200, {
        'x-amz-copy-source-version-id': 'null',
      });
    },
  },
  GetObject: {
    http: { method: 'GET', path: objectPath },
    handler(input, ctx) {
      const bucket = bucketOf(ctx, str(input.Bucket));
      const o = objectOf(ctx, bucket, str(input.Key));
      const notModified = checkConditions(ctx, o);
      if (notModified) return notModified;
      const rangeHeader = header(ctx, 'range');
      const range = rangeHeader !== undefined ? parseRange(ctx, rangeHeader, o.body.length) : undefined;
      const headers = objectHeaders(o);
      if (range) {
        const slice = o.body.subarray(range.start, range.end + 1);
        return new HttpResponse(206, { ...headers, 'content-range': `bytes ${range.start}-${range.end}/${o.body.length}`, 'content-length': String(slice.length) }, slice);
      }
      const withChecksum = header(ctx, 'x-amz-checksum-mode') === 'ENABLED' ? checksumHeaders(o.checksum) : {};
      return new HttpResponse(200, { ...headers, ...withChecksum, 'content-length': String(o.body.length) }, o.body);
    },
  },
  HeadObject: {
    http: { method: 'HEAD', path: objectPath },
    handler(input, ctx) {
      const bucket = bucketOf(ctx, str(input.Bucket));
      const o = objectOf(ctx, bucket, str(input.Key));
      const notModified = checkConditions(ctx, o);
      if (notModified) return notModified;
      const withChecksum = header(ctx, 'x-amz-checksum-mode') === 'ENABLED' ? checksumHeaders(o.checksum) : {};
      return new HttpResponse(200, { ...objectHeaders(o), ...withChecksum, 'content-length': String(o.body.length) }, '');
    },
  },
  DeleteObject: {
    http: { method: 'DELETE', path: objectPath },
    cloudTrail: false,
    handler(input, ctx) {
      const bucket = bucketOf(ctx, str(input.Bucket));
      const key = str(input.Key);
      // Deleting a missing key succeeds, as in S3.
      if (bucket.objects.delete(key)) publishObjectEvent(ctx, bucket, 'Object Deleted', key, 'DeleteObject');
      return empty(204);
    },
  },
  CreateMultipartUpload: {
    http: { method: 'POST', path: objectPath, queryRequired: ['uploads'] },
    cloudTrail: false,
    handler(input, ctx) {
      const bucket = bucketOf(ctx, str(input.Bucket));
      const key = str(input.Key);
      const algorithm = parseAlgorithm(header(ctx, 'x-amz-checksum-algorithm'));
      const requestedType = header(ctx, 'x-amz-checksum-type');
      const checksumType = requestedType === 'FULL_OBJECT' || algorithm === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE';
      if (checksumType === 'FULL_OBJECT' && (algorithm === 'SHA1' || algorithm === 'SHA256')) {
        throw ctx.error('InvalidRequest', `The FULL_OBJECT checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`);
      }
      const uploadId = randomBytes(24).toString('base64url');
      bucket.uploads.set(uploadId, {
        uploadId,
        key,
        initiated: ctx.now(),
        ...keptHeaders(ctx),
        ...(algorithm ? { checksumAlgorithm: algorithm } : {}),
        checksumType,
        parts: new Map(),
      });
      const headers: Record<string, string> = algorithm ? { 'x-amz-checksum-algorithm': algorithm, 'x-amz-checksum-type': checksumType } : {};
      return xml('InitiateMultipartUploadResult', { Bucket: bucket.name, Key: key, UploadId: uploadId }, 200, headers);
    },
  },
  UploadPart: {
    http: { method: 'PUT', path: objectPath, queryRequired: ['partNumber', 'uploadId'] },
    cloudTrail: false,
    handler(input, ctx) {
      const bucket = bucketOf(ctx, str(input.Bucket));
      const upload = uploadOf(ctx, bucket, str(input.uploadId), str(input.Key));
      const partNumber = partNumberOf(ctx, input.partNumber);
      const found = verifyBody(ctx);
      if (upload.checksumAlgorithm && found && found.algorithm !== upload.checksumAlgorithm) {
        throw ctx.error('InvalidRequest', `Checksum Type mismatch occurred, expected checksum Type: ${upload.checksumAlgorithm.toLowerCase()}, actual checksum Type: ${found.algorithm.toLowerCase()}`);
      }
      const body = Buffer.from(ctx.http.body);
      const partChecksum = upload.checksumAlgorithm ? (found?.value ?? checksum(upload.checksumAlgorithm, body)) : undefined;
      const part = { partNumber, body, etag: `"${md5Hex(body)}"`, lastModified: ctx.now(), ...(partChecksum ? { checksum: partChecksum } : {}) };
      upload.parts.set(partNumber, part);
      const headers: Record<string, string> = { etag: part.etag };
      if (upload.checksumAlgorithm && partChecksum) headers[headerName(upload.checksumAlgorithm)] = partChecksum;
      return empty(200, headers);
    },
  },
  UploadPartCopy: {
    http: { method: 'PUT', path: objectPath, queryRequired: ['partNumber', 'uploadId'], headersRequired: ['x-amz-copy-source'] },
    cloudTrail: false,
    handler(input, ctx) {
      const bucket = bucketOf(ctx, str(input.Bucket));
      const upload = uploadOf(ctx, bucket, str(input.uploadId), str(input.Key));
      const partNumber = partNumberOf(ctx, input.partNumber);
      const src = copySource(ctx);
      const source = objectOf(ctx, bucketOf(ctx, src.bucket), src.key);
      const rangeHeader = header(ctx, 'x-amz-copy-source-range');
      const range = rangeHeader !== undefined ? parseRange(ctx, rangeHeader, source.body.length) : undefined;
      const body = Buffer.from(range ? source.body.subarray(range.start, range.end + 1) : source.body);
      const partChecksum = upload.checksumAlgorithm ? checksum(upload.checksumAlgorithm, body) : undefined;
      const part = { partNumber, body, etag: `"${md5Hex(body)}"`, lastModified: ctx.now(), ...(partChecksum ? { checksum: partChecksum } : {}) };
      upload.parts.set(partNumber, part);
      return xml('CopyPartResult', { ETag: part.etag, LastModified: part.lastModified, ...(upload.checksumAlgorithm && partChecksum ? { [memberName(upload.checksumAlgorithm)]: partChecksum } : {}) });
    },
  },
  ListParts: {
    http: { method: 'GET', path: objectPath, queryRequired: ['uploadId'] },
    handler(input, ctx) {
      const bucket = bucketOf(ctx, str(input.Bucket));
      const upload = uploadOf(ctx, bucket, str(input.uploadId), str(input.Key));
      const marker = Number(ctx.http.query['part-number-marker'] ?? 0);
      const max = Math.min(Number(ctx.http.query['max-parts'] ?? 1000) || 1000, 1000);
      const all = [...upload.parts.values()].filter((p) => p.partNumber > marker).sort((a, b) => a.partNumber - b.partNumber);
      const parts = all.slice(0, max);
      const truncated = all.length > parts.length;
      return xml('ListPartsResult', {
        Bucket: bucket.name,
        Key: upload.key,
        UploadId: upload.uploadId,
        PartNumberMarker: marker,
        ...(truncated ? { NextPartNumberMarker: parts[parts.length - 1]?.partNumber } : {}),
        MaxParts: max,
        IsTruncated: truncated,
        ...(upload.checksumAlgorithm ? { ChecksumAlgorithm: upload.checksumAlgorithm, ChecksumType: upload.checksumType } : {}),
        Part: flat(
          parts.map((p) => ({
            PartNumber: p.partNumber,
            LastModified: p.lastModified,
            ETag: p.etag,
            Size: p.body.length,
            ...(upload.checksumAlgorithm && p.checksum ? { [memberName(upload.checksumAlgorithm)]: p.checksum } : {}),
          })),
        ),
      });
    },
  },
  CompleteMultipartUpload: {
    http: { method: 'POST', path: objectPath, queryRequired: ['uploadId'] },
    cloudTrail: false,
    handler(input, ctx) {
      const bucket = bucketOf(ctx, str(input.Bucket));
      const key = str(input.Key);
      const uploadId = str(input.uploadId);
      const done = bucket.completed.get(uploadId);
      if (done && done.key === key && !bucket.uploads.has(uploadId)) {
        // A retry of a completion whose answer was lost: S3 answers the same result.
        return completeResult(bucket, key, done.etag, done.checksum);
      }
      const upload = uploadOf(ctx, bucket, uploadId, key);
      const request = parseXml(ctx.http.body).CompleteMultipartUpload as Record<string, unknown> | undefined;
      const listed = asArray(request?.Part as Record<string, unknown> | Record<string, unknown>[] | undefined);
      if (listed.length === 0) throw ctx.error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
      const parts = listed.map((p, i) => {
        const partNumber = Number(p.PartNumber);
        if (i > 0 && partNumber <= Number(listed[i - 1]?.PartNumber)) {
          throw ctx.error('InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.');
        }
        const part = upload.parts.get(partNumber);
        const etag = str(p.ETag);
        if (!part || (etag !== part.etag && `"${etag}"` !== part.etag)) {
          throw ctx.error('InvalidPart', 'One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part\'s entity tag.', {
            fields: { PartNumber: partNumber, UploadId: uploadId },
          });
        }
        if (upload.checksumAlgorithm && upload.checksumType === 'COMPOSITE') {
          const claimed = p[memberName(upload.checksumAlgorithm)];
          if (claimed !== undefined && str(claimed) !== part.checksum) {
            throw ctx.error('InvalidPart', `The ${upload.checksumAlgorithm} of part ${partNumber} does not match the uploaded part.`);
          }
        }
        return part;
      });
      parts.slice(0, -1).forEach((p) => {
        if (p.body.length < MIN_PART_SIZE) {
          throw ctx.error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', {
            fields: { PartNumber: p.partNumber, ProposedSize: p.body.length, MinSizeAllowed: MIN_PART_SIZE },
          });
        }
      });
      const body = Buffer.concat(parts.map((p) => p.body));
      const etag = `"${md5Hex(Buffer.concat(parts.map((p) => Buffer.from(p.etag.replace(/"/g, ''), 'hex'))))}-${parts.length}"`;
      let stored: StoredChecksum | undefined;
      if (upload.checksumAlgorithm) {
        const algorithm = upload.checksumAlgorithm;
        stored =
          upload.checksumType === 'FULL_OBJECT'
            ? { algorithm, value: checksum(algorithm, body), type: 'FULL_OBJECT' }
            : {
                algorithm,
                value: `${checksumBytes(algorithm, Buffer.concat(parts.map((p) => Buffer.from(p.checksum ?? '', 'base64')))).toString('base64')}-${parts.length}`,
                type: 'COMPOSITE',
              };
      }
      const o: S3Object = {
        key,
        body,
        etag,
        lastModified: ctx.now(),
        headers: upload.headers,
        metadata: upload.metadata,
        partsCount: parts.length,
        ...(stored ? { checksum: stored } : {}),
      };
      bucket.uploads.delete(uploadId);
      bucket.completed.set(uploadId, { etag, key, ...(stored ? { checksum: stored } : {}) });
      putObject(ctx, bucket, key, o, 'CompleteMultipartUpload');
      return completeResult(bucket, key, etag, stored);
    },
  },
  AbortMultipartUpload: {
    http: { method: 'DELETE', path: objectPath, queryRequired: ['uploadId'] },
    cloudTrail: false,
    handler(input, ctx) {
      const bucket = bucketOf(ctx, str(input.Bucket));
      const upload = uploadOf(ctx, bucket, str(input.uploadId), str(input.Key));
      bucket.uploads.delete(upload.uploadId);
      return empty(204);
    },
  },
};

function completeResult(bucket: Bucket, key: string, etag: string, stored: StoredChecksum | undefined): HttpResponse {
  return xml('CompleteMultipartUploadResult', {
    Location: `/${bucket.name}/${key.split('/').map(encodeURIComponent).join('/')}`,
    Bucket: bucket.name,
    Key: key,
    ETag: etag,
    ...checksumMembers(stored),
  });
}

export const s3 = defineService<S3State>({
  name: 's3',
  protocol: 'restXml',
  signingName: 's3',
  validationError: { code: 'InvalidArgument' },
  // One value per emulator: Glue, Forecast and SageMaker read and write the same objects (./objects.ts).
  createState: (scope) => s3StateOf(scope),
  operations,
  control: [
    {
      method: 'GET',
      path: '/buckets',
      description: 'every bucket with its object count and bytes',
      handler: (_req, ctx) => ({
        buckets: [...ctx.state.buckets.values()].map((b) => ({
          name: b.name,
          region: b.region,
          objects: b.objects.size,
          bytes: [...b.objects.values()].reduce((n, o) => n + o.body.length, 0),
          uploadsInProgress: b.uploads.size,
          eventBridge: b.eventBridge,
        })),
      }),
    },
  ],
});
