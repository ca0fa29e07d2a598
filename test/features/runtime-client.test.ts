/**
 * The runtime client ingestion writes with sends what the stock SDK client sends: the same BatchWriteRecord
 * request (method, path, content type, body as JSON, with TargetStores and TtlDuration), and every other operation
 * through the SDK's own serializer.
 */
import { expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { BatchWriteRecordCommand, GetRecordCommand, SageMakerFeatureStoreRuntimeClient, type BatchWriteRecordCommandInput } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { featureStoreRuntimeClient } from '../../activities/features/runtime-client';

/** A request handler that keeps the request and answers an empty 200. */
interface HttpRequest {
  method: string;
  path: string;
  query: unknown;
  headers: Record<string, string>;
  body?: unknown;
}

function capturing() {
  const seen: HttpRequest[] = [];
  return {
    seen,
    handler: {
      async handle(request: HttpRequest) {
        seen.push(request);
        return { response: { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Readable.from([Buffer.from('{}')]) } };
      },
    },
  };
}

const config = { region: 'us-east-1', endpoint: 'http://127.0.0.1:4566', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } };

const input: BatchWriteRecordCommandInput = {
  Entries: [
    { FeatureGroupName: 'cc-transactions', Record: [{ FeatureName: 'cc_num', ValueAsString: '4000000000001' }, { FeatureName: 'tags', ValueAsStringList: ['a', 'b "quoted"'] }] },
    { FeatureGroupName: 'cc-transactions', Record: [{ FeatureName: 'cc_num', ValueAsString: 'ü\n2' }], TargetStores: ['OnlineStore'], TtlDuration: { Unit: 'Days', Value: 3 } },
  ],
  TtlDuration: { Unit: 'Hours', Value: 5 },
};

async function sent(client: SageMakerFeatureStoreRuntimeClient, command: BatchWriteRecordCommand | GetRecordCommand, seen: HttpRequest[]) {
  await client.send(command as BatchWriteRecordCommand);
  const r = seen.at(-1)!;
  // The SDK's serializer hands the HTTP handler bytes, JSON.stringify a string: the same text either way.
  const text = r.body instanceof Uint8Array ? Buffer.from(r.body).toString('utf8') : (r.body as string | undefined);
  return { method: r.method, path: r.path, query: r.query, contentType: r.headers['content-type'], body: text ? (JSON.parse(text) as unknown) : text };
}

it('sends BatchWriteRecord and GetRecord as the stock SDK client does', async () => {
  const stock = capturing();
  const fast = capturing();
  const stockClient = new SageMakerFeatureStoreRuntimeClient({ ...config, requestHandler: stock.handler });
  const fastClient = featureStoreRuntimeClient({ ...config, requestHandler: fast.handler });

  const stockBatch = await sent(stockClient, new BatchWriteRecordCommand(input), stock.seen);
  const fastBatch = await sent(fastClient, new BatchWriteRecordCommand(input), fast.seen);
  expect(fastBatch).toEqual(stockBatch);
  expect(fastBatch).toMatchObject({ method: 'POST', path: '/BatchWriteRecord', contentType: 'application/json', body: input });

  const get = new GetRecordCommand({ FeatureGroupName: 'cc-transactions', RecordIdentifierValueAsString: '4000000000001', FeatureNames: ['cc_num'] });
  expect(await sent(fastClient, get, fast.seen)).toEqual(await sent(stockClient, get, stock.seen));
});
