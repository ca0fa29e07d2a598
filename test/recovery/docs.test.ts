import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '../..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');

const SERVICE_PREFIX: Record<string, string> = {
  '@aws-sdk/client-sagemaker': 'sagemaker',
  '@aws-sdk/client-datasync': 'datasync',
  '@aws-sdk/client-efs': 'elasticfilesystem',
  '@aws-sdk/client-ec2': 'ec2',
};

/** Every `new XCommand(` in the activity sources, as IAM actions, by the package each command is imported from. */
function actionsUsedByActivities(): string[] {
  const actions = new Set<string>();
  const files = readdirSync(join(root, 'activities/recovery')).filter((f) => f.endsWith('.ts'));
  for (const file of files) {
    const src = read(`activities/recovery/${file}`);
    for (const m of src.matchAll(/import\s*\{([^}]+)\}\s*from\s*'(@aws-sdk\/client-[a-z-]+)'/g)) {
      const prefix = SERVICE_PREFIX[m[2]!];
      if (!prefix) throw new Error(`no IAM prefix known for ${m[2]}`);
      for (const name of m[1]!.split(',').map((s) => s.trim())) {
        const cmd = /^(\w+)Command$/.exec(name);
        if (cmd && new RegExp(`new ${name}\\(`).test(src)) actions.add(`${prefix}:${cmd[1]}`);
      }
    }
  }
  return [...actions].sort();
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
}

function allowed(policy: { Statement: Statement[] }, action: string): boolean {
  return policy.Statement.some((s) => {
    if (s.Effect !== 'Allow') return false;
    const list = Array.isArray(s.Action) ? s.Action : [s.Action];
    return list.some((a) => new RegExp(`^${a.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i').test(action));
  });
}

/** EventBridge matching for what the rule uses: value lists and `exists`. */
function matches(pattern: unknown, event: unknown): boolean {
  if (Array.isArray(pattern)) {
    return pattern.some((p) => {
      if (p && typeof p === 'object' && 'exists' in p) return (p as { exists: boolean }).exists === (event !== undefined);
      return p === event;
    });
  }
  if (pattern && typeof pattern === 'object') {
    const e = (event ?? {}) as Record<string, unknown>;
    return Object.entries(pattern).every(([k, v]) => matches(v, e[k]));
  }
  return false;
}

describe('docs for a real AWS account', () => {
  const policy = JSON.parse(read('docs/recovery/worker-iam-policy.json')) as { Version: string; Statement: Statement[] };
  const pattern = JSON.parse(read('docs/recovery/eventbridge-rule-pattern.json')) as unknown;

  it('the IAM policy allows every AWS action the recovery activities call, and nothing is a blanket wildcard', () => {
    const used = actionsUsedByActivities();
    expect(used.length).toBeGreaterThan(20);
    expect(used).toContain('datasync:CreateLocationEfs');
    expect(used.filter((a) => !allowed(policy, a))).toEqual([]);
    expect(policy.Version).toBe('2012-10-17');
    for (const s of policy.Statement) for (const a of [s.Action].flat()) expect(a).not.toMatch(/^\*$|:\*$/);
  });

  it('the EventBridge rule matches a CloudTrail CreateUserProfile and CreateSpace, not a failed call or another event', () => {
    const ev = JSON.parse(read('test/recovery/fixtures/create-user-profile.event.json')) as { detail: Record<string, unknown> };
    expect(matches(pattern, ev)).toBe(true);
    expect(matches(pattern, { ...ev, detail: { ...ev.detail, eventName: 'CreateSpace' } })).toBe(true);
    expect(matches(pattern, { ...ev, detail: { ...ev.detail, errorCode: 'ResourceInUse' } })).toBe(false);
    expect(matches(pattern, { ...ev, detail: { ...ev.detail, eventName: 'DeleteUserProfile' } })).toBe(false);
  });

  it('the setup guide names the header the gateway checks', () => {
    expect(read('docs/recovery/README.md')).toContain('"ApiKeyName\\":\\"x-api-key\\"');
  });

  it('the documented home wait is the one restores use', async () => {
    const { DEFAULT_HOME_WAIT } = await import('../../workflows/recovery/model');
    expect(DEFAULT_HOME_WAIT).toBe('30 days');
    expect(read('README.md')).toContain('for at most 30 days');
    expect(read('docs/recovery/README.md')).toContain('for at most 30 days (`DEFAULT_HOME_WAIT`)');
    expect(read('workflows/recovery/workflows.ts')).not.toMatch(/default 3 days/);
  });
});
