/** What docs/processing promises: the worker's policy allows every call the activities make; the rule passes our events. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { matchesEventPattern, parseEventPattern } from '../../local/aws/event-pattern';

const root = join(__dirname, '../..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');
const PREFIX: Record<string, string> = { '@aws-sdk/client-sagemaker': 'sagemaker', '@aws-sdk/client-cloudwatch': 'cloudwatch', '@aws-sdk/client-s3': 's3' };
/** IAM names actions after the API, except S3's listing. */
const IAM_NAME: Record<string, string> = { 's3:ListObjectsV2': 's3:ListBucket' };

function actionsUsed(): string[] {
  const src = read('activities/processing/activities.ts');
  const out = new Set<string>();
  for (const m of src.matchAll(/import\s*\{([^}]+)\}\s*from\s*'(@aws-sdk\/client-[a-z0-9-]+)'/g)) {
    for (const name of m[1]!.split(',').map((s) => s.trim())) {
      const cmd = /^(\w+)Command$/.exec(name);
      if (cmd && new RegExp(`new ${name}\\(`).test(src)) {
        const action = `${PREFIX[m[2]!]}:${cmd[1]}`;
        out.add(IAM_NAME[action] ?? action);
      }
    }
  }
  return [...out].sort();
}

describe('docs/processing', () => {
  it('the worker policy allows every AWS call of the processing activities', () => {
    const policy = JSON.parse(read('docs/processing/worker-iam-policy.json')) as { Statement: { Action: string | string[] }[] };
    const allowed = new Set(policy.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])));
    const used = actionsUsed();
    expect(used).toEqual(expect.arrayContaining(['cloudwatch:PutMetricAlarm', 'sagemaker:CreateProcessingJob', 's3:ListBucket']));
    expect(used.filter((a) => !allowed.has(a))).toEqual([]);
  });

  it('the EventBridge rule passes alarms entering ALARM and jobs ending, and nothing else of theirs', () => {
    const pattern = parseEventPattern(read('docs/processing/eventbridge-rule-pattern.json'));
    const event = (source: string, detailType: string, detail: unknown) =>
      ({ version: '0', id: '1', 'detail-type': detailType, source, account: '123456789012', time: '2026-12-02T00:00:00Z', region: 'us-east-1', resources: [], detail }) as const;
    const passes = (e: ReturnType<typeof event>) => matchesEventPattern(pattern, e as never);
    expect(passes(event('aws.cloudwatch', 'CloudWatch Alarm State Change', { alarmName: 'x-a1-driver', state: { value: 'ALARM' } }))).toBe(true);
    expect(passes(event('aws.cloudwatch', 'CloudWatch Alarm State Change', { alarmName: 'x-a1-driver', state: { value: 'OK' } }))).toBe(false);
    expect(passes(event('aws.sagemaker', 'SageMaker Processing Job State Change', { ProcessingJobName: 'x-a1', ProcessingJobStatus: 'Stopped' }))).toBe(true);
    expect(passes(event('aws.sagemaker', 'SageMaker Processing Job State Change', { ProcessingJobName: 'x-a1', ProcessingJobStatus: 'InProgress' }))).toBe(false);
  });
});
