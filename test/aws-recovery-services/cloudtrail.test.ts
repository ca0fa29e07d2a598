/**
 * The CloudTrail events the recovery pipeline reacts to: CreateUserProfile and CreateSpace, delivered as EventBridge
 * "AWS API Call via CloudTrail" events to an HTTP target with the API key, carrying what real CloudTrail records.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CreateSpaceCommand, CreateUserProfileCommand, DescribeUserProfileCommand } from '@aws-sdk/client-sagemaker';
import { caught, createDomain, startStack, type TestStack } from './support';

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: {
    source: string;
    'detail-type': string;
    account: string;
    region: string;
    detail: {
      eventSource: string;
      eventName: string;
      awsRegion: string;
      requestParameters: Record<string, unknown>;
      responseElements: Record<string, unknown> | null;
      eventType: string;
      readOnly: boolean;
      eventTime: string;
    };
  };
}

let receiver: Server;
let received: Received[];
let s: TestStack;

beforeEach(async () => {
  received = [];
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received['body'] });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const { port } = receiver.address() as AddressInfo;
  s = await startStack({ eventsTo: `http://127.0.0.1:${port}/events/eventbridge`, eventsApiKey: 'k-123' });
});

afterEach(async () => {
  await s.close();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

async function eventsNamed(name: string, count: number): Promise<Received[]> {
  for (let i = 0; i < 200; i++) {
    const found = received.filter((r) => r.body['detail-type'] === 'AWS API Call via CloudTrail' && r.body.detail.eventName === name);
    if (found.length >= count) return found;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no ${count} ${name} event(s) arrived; got ${received.map((r) => r.body.detail.eventName).join(', ')}`);
}

describe('CloudTrail events of Studio creations', () => {
  it('CreateUserProfile arrives with domainId, userProfileName and the profile ARN, from aws.sagemaker, with the API key', async () => {
    const { domainId } = await createDomain(s, 'trail');
    const { UserProfileArn } = await s.sm.send(
      new CreateUserProfileCommand({ DomainId: domainId, UserProfileName: 'alice', UserSettings: { ExecutionRole: 'arn:aws:iam::123456789012:role/a' } }),
    );
    const [event] = await eventsNamed('CreateUserProfile', 1);
    expect(event?.headers['x-api-key']).toBe('k-123');
    expect(event?.body).toMatchObject({ source: 'aws.sagemaker', 'detail-type': 'AWS API Call via CloudTrail', account: '123456789012', region: 'us-east-1' });
    expect(event?.body.detail).toMatchObject({
      eventSource: 'sagemaker.amazonaws.com',
      eventName: 'CreateUserProfile',
      awsRegion: 'us-east-1',
      eventType: 'AwsApiCall',
      readOnly: false,
      requestParameters: { domainId, userProfileName: 'alice', userSettings: { executionRole: 'arn:aws:iam::123456789012:role/a' } },
      responseElements: { userProfileArn: UserProfileArn },
    });
    expect(Date.parse(event?.body.detail.eventTime ?? '')).toBe(Date.parse('2026-03-01T09:05:00Z'));
    const profile = await s.sm.send(new DescribeUserProfileCommand({ DomainId: domainId, UserProfileName: 'alice' }));
    expect(profile.HomeEfsFileSystemUid).toBe('200001');
  });

  it('CreateSpace arrives with domainId, spaceName and the space ARN; a refused creation sends nothing', async () => {
    const { domainId } = await createDomain(s, 'trail2');
    const { SpaceArn } = await s.sm.send(new CreateSpaceCommand({ DomainId: domainId, SpaceName: 'lab', SpaceSettings: { AppType: 'JupyterLab' } }));
    const [event] = await eventsNamed('CreateSpace', 1);
    expect(event?.body.source).toBe('aws.sagemaker');
    expect(event?.body.detail.requestParameters).toEqual({ domainId, spaceName: 'lab', spaceSettings: { appType: 'JupyterLab' } });
    expect(event?.body.detail.responseElements).toEqual({ spaceArn: SpaceArn });

    expect((await caught(s.sm.send(new CreateSpaceCommand({ DomainId: domainId, SpaceName: 'lab' })))).name).toBe('ResourceInUse');
    await s.sm.send(new CreateUserProfileCommand({ DomainId: domainId, UserProfileName: 'after' }));
    await eventsNamed('CreateUserProfile', 1);
    expect((await eventsNamed('CreateSpace', 1)).length).toBe(1);
  });
});
