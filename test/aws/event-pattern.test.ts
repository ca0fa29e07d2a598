import { describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { matchesEventPattern, parseEventPattern, EventPatternError } from '../../local/aws/event-pattern';
import { clientConfig, startTestEmulator } from './harness';

const cloudTrail = {
  source: 'aws.sagemaker',
  'detail-type': 'AWS API Call via CloudTrail',
  resources: ['arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-1/alice'],
  detail: { eventSource: 'sagemaker.amazonaws.com', eventName: 'CreateUserProfile', requestParameters: { domainId: 'd-1' }, errorCode: undefined, count: 3 },
};

describe('EventBridge event patterns', () => {
  it('matches value lists, nested fields, prefix, suffix, anything-but, exists, numeric and $or', () => {
    const rule = parseEventPattern(
      JSON.stringify({ source: ['aws.sagemaker'], 'detail-type': ['AWS API Call via CloudTrail'], detail: { eventName: ['CreateUserProfile', 'CreateSpace'] } }),
    );
    expect(matchesEventPattern(rule, cloudTrail)).toBe(true);
    expect(matchesEventPattern(rule, { ...cloudTrail, detail: { ...cloudTrail.detail, eventName: 'DeleteUserProfile' } })).toBe(false);
    expect(matchesEventPattern({ source: [{ prefix: 'aws.' }] }, cloudTrail)).toBe(true);
    expect(matchesEventPattern({ resources: [{ suffix: '/alice' }] }, cloudTrail)).toBe(true);
    expect(matchesEventPattern({ detail: { eventName: [{ 'anything-but': ['CreateSpace'] }] } }, cloudTrail)).toBe(true);
    expect(matchesEventPattern({ detail: { eventName: [{ 'anything-but': { prefix: 'Create' } }] } }, cloudTrail)).toBe(false);
    expect(matchesEventPattern({ detail: { errorCode: [{ exists: false }] } }, cloudTrail)).toBe(true);
    expect(matchesEventPattern({ detail: { errorCode: [{ exists: true }] } }, cloudTrail)).toBe(false);
    expect(matchesEventPattern({ detail: { count: [{ numeric: ['>', 2, '<=', 3] }] } }, cloudTrail)).toBe(true);
    expect(matchesEventPattern({ detail: { count: [{ numeric: ['>', 3] }] } }, cloudTrail)).toBe(false);
    expect(matchesEventPattern({ $or: [{ source: ['aws.s3'] }, { detail: { eventName: [{ 'equals-ignore-case': 'createuserprofile' }] } }] }, cloudTrail)).toBe(true);
  });

  it('refuses a malformed pattern with a message that says where', () => {
    expect(() => parseEventPattern('{"source": "aws.sagemaker"')).toThrow(EventPatternError);
    expect(() => parseEventPattern('{"detail": {"eventName": []}}')).toThrow(/detail.eventName must list at least one value/);
    expect(() => parseEventPattern('["aws.sagemaker"]')).toThrow(/must be an object/);
  });

  it('the emulator delivers only matching events and lists the others as filtered', async () => {
    const received: unknown[] = [];
    const receiver = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const emulator = await startTestEmulator({
      eventsTo: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`,
      eventsApiKey: 'k',
      eventsPattern: { source: ['aws.s3'], detail: { eventName: ['CreateBucket'], requestParameters: { bucket: [{ prefix: 'wanted' }] } } },
    });
    try {
      const s3 = new S3Client({ ...clientConfig(emulator.endpoint), forcePathStyle: true });
      await s3.send(new CreateBucketCommand({ Bucket: 'unwanted-bucket' }));
      await s3.send(new CreateBucketCommand({ Bucket: 'wanted-bucket' }));
      const events = (await (await fetch(`${emulator.endpoint}/_emulator/events`)).json()) as { events: { state: string; event: { detail: { eventName?: string } } }[] };
      const states = events.events.map((e) => [(e.event.detail as { requestParameters: { bucket: string } }).requestParameters.bucket, e.state]);
      expect(states[0]).toEqual(['unwanted-bucket', 'filtered']);
      await expect.poll(() => received.length).toBe(1);
      expect((received[0] as { detail: { requestParameters: { bucket: string } } }).detail.requestParameters.bucket).toBe('wanted-bucket');
    } finally {
      await emulator.close();
      receiver.close();
    }
  });
});
