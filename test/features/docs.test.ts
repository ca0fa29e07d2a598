import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '../..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');

const SERVICE_PREFIX: Record<string, string> = {
  '@aws-sdk/client-sagemaker': 'sagemaker',
  '@aws-sdk/client-sagemaker-featurestore-runtime': 'sagemaker',
  '@aws-sdk/client-s3': 's3',
};

/** Every `new XCommand(` in the feature activities, as IAM actions (ListObjectsV2 is s3:ListBucket, HeadObject s3:GetObject). */
function actionsUsedByActivities(): string[] {
  const actions = new Set<string>();
  for (const file of readdirSync(join(root, 'activities/features')).filter((f) => f.endsWith('.ts'))) {
    const src = read(`activities/features/${file}`);
    for (const m of src.matchAll(/import\s*\{([^}]+)\}\s*from\s*'(@aws-sdk\/client-[a-z0-9-]+)'/g)) {
      const prefix = SERVICE_PREFIX[m[2]!];
      if (!prefix) throw new Error(`no IAM prefix known for ${m[2]}`);
      for (const name of m[1]!.split(',').map((s) => s.trim().replace(/^type\s+/, ''))) {
        const cmd = /^(\w+)Command$/.exec(name);
        if (!cmd || !new RegExp(`new ${name}\\(`).test(src)) continue;
        const action = cmd[1] === 'ListObjectsV2' ? 'ListBucket' : cmd[1] === 'HeadObject' ? 'GetObject' : cmd[1]!;
        actions.add(`${prefix}:${action}`);
      }
    }
  }
  return [...actions].sort();
}

describe('docs/features', () => {
  it('the worker policy allows every AWS call the activities make', () => {
    const policy = JSON.parse(read('docs/features/worker-iam-policy.json')) as { Statement: { Action: string | string[] }[] };
    const allowed = new Set(policy.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])));
    const used = actionsUsedByActivities();
    expect(used, used.join(" ")).toEqual(expect.arrayContaining(['sagemaker:BatchWriteRecord', 'sagemaker:DescribeFeatureGroup', 's3:GetObject', 's3:PutObject']));
    for (const action of used) expect(allowed.has(action), action).toBe(true);
  });
});
