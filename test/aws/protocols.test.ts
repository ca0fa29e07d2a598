/** Each wire protocol through its real SDK client: routing, input decoding, output encoding, typed errors. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudWatchClient, DescribeAlarmsCommand, ListMetricsCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CreateSecurityGroupCommand, DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateFileSystemCommand, DeleteFileSystemCommand, DescribeFileSystemsCommand, EFSClient } from '@aws-sdk/client-efs';
import { CreateTopicCommand, GetTopicAttributesCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { RunningEmulator } from '../../local/aws';
import { caught, clientConfig, control, startTestEmulator } from './harness';
import { ec2QueryFixture, featureStoreFixture, jsonQueryCompatibleFixture, queryFixture, restJsonFixture } from './fixtures/protocol-services';
import { GetRecordCommand, PutRecordCommand, SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { JournalEntry } from '../../local/aws/journal';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startTestEmulator({ services: [restJsonFixture, queryFixture, ec2QueryFixture, jsonQueryCompatibleFixture, featureStoreFixture] });
});
afterAll(async () => {
  await emu.close();
});

describe('restJson1 (EFS client)', () => {
  it('routes by method and path, answers epoch-second timestamps and typed 404/409 errors', async () => {
    const efs = new EFSClient(clientConfig(emu.endpoint));
    const created = await efs.send(new CreateFileSystemCommand({ CreationToken: 'tok-1' }));
    expect(created.FileSystemId).toMatch(/^fs-[0-9a-f]{17}$/);
    expect(created.CreationTime).toBeInstanceOf(Date);
    expect(Math.abs((created.CreationTime as Date).getTime() - Date.now())).toBeLessThan(5_000);
    expect(created.$metadata.httpStatusCode).toBe(201);

    const described = await efs.send(new DescribeFileSystemsCommand({ FileSystemId: created.FileSystemId }));
    expect(described.FileSystems?.map((f) => f.CreationToken)).toEqual(['tok-1']);

    const dup = await caught(efs.send(new CreateFileSystemCommand({ CreationToken: 'tok-1' })));
    expect(dup.name).toBe('FileSystemAlreadyExists');
    expect((dup as unknown as { FileSystemId: string }).FileSystemId).toBe(created.FileSystemId);

    await efs.send(new DeleteFileSystemCommand({ FileSystemId: created.FileSystemId }));
    const gone = await caught(efs.send(new DescribeFileSystemsCommand({ FileSystemId: created.FileSystemId })));
    expect(gone.name).toBe('FileSystemNotFound');
    expect(gone.$metadata?.httpStatusCode).toBe(404);
  });

  it('answers an operation that is not emulated with UnknownOperationException, 501, not retried', async () => {
    const efs = new EFSClient(clientConfig(emu.endpoint, 3));
    const { DescribeMountTargetsCommand } = await import('@aws-sdk/client-efs');
    const err = await caught(efs.send(new DescribeMountTargetsCommand({ FileSystemId: 'fs-1' })));
    expect(err.name).toBe('UnknownOperationException');
    expect(err.message).toContain('efs');
    expect(err.message).toContain('GET /2015-02-01/mount-targets');
    expect(err.$metadata?.httpStatusCode).toBe(501);
    expect(err.$metadata?.attempts).toBe(1);
  });
});

describe('restJson1 with query lists (Feature Store runtime client)', () => {
  it('takes path members, query members and repeated query parameters', async () => {
    const fs = new SageMakerFeatureStoreRuntimeClient(clientConfig(emu.endpoint));
    const Record = [
      { FeatureName: 'id', ValueAsString: 'r1' },
      { FeatureName: 'a', ValueAsString: '1' },
      { FeatureName: 'b', ValueAsString: '2' },
    ];
    await fs.send(new PutRecordCommand({ FeatureGroupName: 'fg', Record }));
    const all = await fs.send(new GetRecordCommand({ FeatureGroupName: 'fg', RecordIdentifierValueAsString: 'r1' }));
    expect(all.Record).toEqual(Record);
    const some = await fs.send(new GetRecordCommand({ FeatureGroupName: 'fg', RecordIdentifierValueAsString: 'r1', FeatureNames: ['id', 'b'] }));
    expect(some.Record?.map((f) => f.FeatureName)).toEqual(['id', 'b']);
    const one = await fs.send(new GetRecordCommand({ FeatureGroupName: 'fg', RecordIdentifierValueAsString: 'r1', FeatureNames: ['a'] }));
    expect(one.Record?.map((f) => f.FeatureName)).toEqual(['a']);
    const missing = await caught(fs.send(new GetRecordCommand({ FeatureGroupName: 'nope', RecordIdentifierValueAsString: 'r1' })));
    expect(missing.name).toBe('ResourceNotFound');
    expect(missing.$metadata?.httpStatusCode).toBe(404);
  });
});

describe('awsQuery (SNS client)', () => {
  it('decodes entry maps, encodes <OpResult> and XmlMap, raises typed errors', async () => {
    const sns = new SNSClient(clientConfig(emu.endpoint));
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'alarms', Attributes: { DisplayName: 'Alarms & <things>' } }));
    expect(TopicArn).toBe('arn:aws:sns:us-east-1:123456789012:alarms');
    const attrs = await sns.send(new GetTopicAttributesCommand({ TopicArn }));
    expect(attrs.Attributes).toEqual({ DisplayName: 'Alarms & <things>', TopicArn });
    const published = await sns.send(new PublishCommand({ TopicArn, Message: 'hello' }));
    expect(published.MessageId).toMatch(/^[0-9a-f]{32}$/);
    const missing = await caught(sns.send(new PublishCommand({ TopicArn: `${TopicArn}-nope`, Message: 'x' })));
    expect(missing.name).toBe('NotFoundException');
    const invalid = await caught(sns.send(new PublishCommand({ TopicArn, Message: 'x'.repeat(262_145) })));
    expect(invalid.name).toBe('InvalidParameterException');
    expect(invalid.message).toContain("'Message'");
    const { body } = await control<{ published: { Message: string }[] }>(emu.endpoint, 'GET', '/services/sns/published');
    expect(body.published.map((p) => p.Message)).toEqual(['hello']);
  });
});

describe('ec2Query (EC2 client)', () => {
  it('decodes Name.N lists and filters, encodes <item> lists and EC2 error codes', async () => {
    const ec2 = new EC2Client(clientConfig(emu.endpoint));
    const a = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'datasync', Description: 'DataSync to EFS', VpcId: 'vpc-1' }));
    await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'other', Description: 'x' }));
    expect(a.GroupId).toMatch(/^sg-/);
    const byId = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [a.GroupId as string] }));
    expect(byId.SecurityGroups?.map((g) => [g.GroupName, g.Description, g.VpcId, g.OwnerId])).toEqual([['datasync', 'DataSync to EFS', 'vpc-1', '123456789012']]);
    const byFilter = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['other', 'none'] }] }));
    expect(byFilter.SecurityGroups?.map((g) => g.GroupName)).toEqual(['other']);
    const err = await caught(ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-missing'] })));
    expect(err.name).toBe('InvalidGroup.NotFound');
    const bad = await caught(ec2.send(new DescribeSecurityGroupsCommand({ MaxResults: 2 })));
    expect(bad.name).toBe('MissingParameter');
    expect(bad.message).toContain("'MaxResults'");
  });
});

describe('awsJson1_0 query compatible (CloudWatch client)', () => {
  it('accepts gzip-compressed bodies of 10 KiB and more', async () => {
    const cw = new CloudWatchClient(clientConfig(emu.endpoint));
    const MetricData = Array.from({ length: 400 }, (_, i) => ({ MetricName: `metric-with-a-long-name-${i}`, Value: i }));
    await cw.send(new PutMetricDataCommand({ Namespace: 'Jobs', MetricData }));
    const { Metrics } = await cw.send(new ListMetricsCommand({}));
    expect(Metrics).toHaveLength(400);
    const { body } = await control<{ entries: JournalEntry[] }>(emu.endpoint, 'GET', '/journal?service=cloudwatch&operation=PutMetricData');
    expect(body.entries.at(-1)?.status).toBe(200);
  });

  it('answers missing and ill-typed fields with the validation error naming the field', async () => {
    const cw = new CloudWatchClient(clientConfig(emu.endpoint));
    const missing = await caught(cw.send(new PutMetricDataCommand({ Namespace: 'Jobs' } as never)));
    expect(missing.name).toBe('InvalidParameterValueException');
    expect(missing.message).toContain("Value null at 'MetricData'");
    const illTyped = await caught(cw.send(new PutMetricDataCommand({ Namespace: 'Jobs', MetricData: [{ MetricName: 7 as unknown as string }] })));
    expect(illTyped.name).toBe('InvalidParameterValueException');
    expect(illTyped.message).toContain("'MetricData[0].MetricName'");
  });

  it('maps x-amzn-query-error codes to the modelled classes', async () => {
    const cw = new CloudWatchClient(clientConfig(emu.endpoint));
    const err = await caught(cw.send(new DescribeAlarmsCommand({ AlarmNames: ['a'] })));
    expect(err.name).toBe('ResourceNotFound');
  });
});

describe('unknown targets and services', () => {
  it('names the X-Amz-Target of a service that is not emulated', async () => {
    const res = await fetch(emu.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSGlue.GetJobs' },
      body: '{}',
    });
    expect(res.status).toBe(501);
    const body = (await res.json()) as { __type: string; message: string };
    expect(body.__type).toBe('UnknownOperationException');
    expect(body.message).toContain('AWSGlue');
    expect(body.message).toContain('GetJobs');
  });
});
