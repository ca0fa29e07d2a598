/** The worker's IAM policy in docs/forecast allows every AWS call the forecast activities make. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '../..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');
const PREFIX: Record<string, string> = { '@aws-sdk/client-glue': 'glue', '@aws-sdk/client-forecast': 'forecast', '@aws-sdk/client-sagemaker': 'sagemaker', '@aws-sdk/client-s3': 's3' };
const S3_ACTION: Record<string, string> = { ListObjectsV2: 'ListBucket' };

function actionsUsed(): string[] {
  const actions = new Set<string>();
  for (const file of readdirSync(join(root, 'activities/forecast')).filter((f) => f.endsWith('.ts'))) {
    const src = read(`activities/forecast/${file}`);
    for (const m of src.matchAll(/import\s*\{([^}]+)\}\s*from\s*'(@aws-sdk\/client-[a-z-]+)'/g)) {
      const prefix = PREFIX[m[2] as string];
      if (!prefix) throw new Error(`no IAM prefix known for ${m[2]}`);
      for (const name of (m[1] as string).split(',').map((s) => s.trim())) {
        const cmd = /^(\w+)Command$/.exec(name);
        if (cmd && new RegExp(`new ${name}\\(`).test(src)) actions.add(`${prefix}:${(prefix === 's3' && S3_ACTION[cmd[1] as string]) || cmd[1]}`);
      }
    }
  }
  return [...actions].sort();
}

describe('docs/forecast', () => {
  it('the worker policy allows every action the activities use', () => {
    const policy = JSON.parse(read('docs/forecast/worker-iam-policy.json')) as { Statement: { Effect: string; Action: string | string[] }[] };
    const allowed = new Set(policy.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])));
    const used = actionsUsed();
    expect(used.length).toBeGreaterThan(20);
    expect(used.filter((a) => !allowed.has(a))).toEqual([]);
  });
  it('the service roles trust the services that assume them', () => {
    expect(JSON.parse(read('docs/forecast/forecast-service-role.json')).AssumeRolePolicyDocument.Statement[0].Principal.Service).toBe('forecast.amazonaws.com');
    expect(JSON.parse(read('docs/forecast/automl-service-role.json')).AssumeRolePolicyDocument.Statement[0].Principal.Service).toBe('sagemaker.amazonaws.com');
    expect(JSON.parse(read('docs/forecast/glue-role.json')).AssumeRolePolicyDocument.Statement[0].Principal.Service).toBe('glue.amazonaws.com');
  });
});
