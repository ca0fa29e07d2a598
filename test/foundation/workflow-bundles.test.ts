import { mkdtempSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../common/project-root';
import { bundleKey, workflowBundlePath } from '../../workers/workflow-bundles';

// A miniature project tree: the key is computed from the files a bundle is made of, so a tree of our own can change.
const tree = mkdtempSync(join(tmpdir(), 'mlops-bundles-'));
const workflowsPath = join(tree, 'workflows', 'demo', 'workflows.ts');
const bundles = join(tree, 'bundles');
let previousDir: string | undefined;

beforeAll(() => {
  writeFileSync(join(tree, 'package.json'), JSON.stringify({ name: 'mlops-workflows', version: '0.0.0' }));
  symlinkSync(join(projectRoot(), 'node_modules'), join(tree, 'node_modules'));
  mkdirSync(join(tree, 'workflows', 'demo'), { recursive: true });
  mkdirSync(join(tree, 'common'), { recursive: true });
  writeFileSync(join(tree, 'common', 'greeting.ts'), "export const greeting = 'hello';\n");
  writeFileSync(workflowsPath, "import { greeting } from '../../common/greeting';\nexport async function demo(): Promise<string> { return greeting; }\n");
  previousDir = process.env.MLOPS_BUNDLE_DIR;
  process.env.MLOPS_BUNDLE_DIR = bundles;
});

afterAll(() => {
  if (previousDir === undefined) delete process.env.MLOPS_BUNDLE_DIR;
  else process.env.MLOPS_BUNDLE_DIR = previousDir;
  rmSync(tree, { recursive: true, force: true });
});

describe('workflow bundles made once per code version', () => {
  it('reuses the bundle of unchanged code and makes a new one, dropping the old, when shared code changes', async () => {
    const first = await workflowBundlePath(workflowsPath);
    const made = statSync(first).mtimeMs;
    expect(await workflowBundlePath(workflowsPath)).toBe(first);
    expect(statSync(first).mtimeMs).toBe(made);

    // A change in common/ (imported by the workflows) must not reuse the old bundle.
    writeFileSync(join(tree, 'common', 'greeting.ts'), "export const greeting = 'hello again';\n");
    const second = await workflowBundlePath(workflowsPath);
    expect(second).not.toBe(first);
    expect(readdirSync(bundles)).toEqual([second.slice(bundles.length + 1)]);
  }, 60_000);

  it('falls back to the temporary folder when the install cannot be written (an image run unprivileged)', async () => {
    const blocked = join(tree, 'not-a-folder');
    writeFileSync(blocked, 'a file where the bundle folder would be');
    process.env.MLOPS_BUNDLE_DIR = join(blocked, 'bundles');
    try {
      const path = await workflowBundlePath(workflowsPath);
      expect(path.startsWith(join(tmpdir(), 'mlops-workflow-bundles'))).toBe(true);
      expect(statSync(path).size).toBeGreaterThan(1000);
    } finally {
      process.env.MLOPS_BUNDLE_DIR = bundles;
    }
  }, 60_000);

  it('keys on the workflow file too: another queue in the same tree gets its own bundle', () => {
    const other = join(tree, 'workflows', 'demo', 'other.ts');
    writeFileSync(other, 'export async function other(): Promise<number> { return 1; }\n');
    expect(bundleKey(other)).not.toBe(bundleKey(workflowsPath));
  });
});
