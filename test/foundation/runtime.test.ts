/**
 * The runtime the project supports and the install that reproduces it: one Node.js line everywhere (engines, CI,
 * the Docker image), and a decision in package.json for every dependency that has an install script, so npm 11
 * prints no "not yet covered by allowScripts" warning on a clean install.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dotEnv, projectDir } from './compose';

const read = (path: string) => readFileSync(join(projectDir, path), 'utf8');
const pkg = JSON.parse(read('package.json')) as { engines: { node: string }; allowScripts?: Record<string, boolean>; devDependencies: Record<string, string> };
const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { hasInstallScript?: boolean; engines?: { node?: string } }> };

describe('runtime and install', () => {
  it('requires Node.js 22 or later, and types the code against Node.js 24', () => {
    expect(pkg.engines.node).toBe('>=22');
    // The lockfile's copy agrees, or `npm install` would rewrite it.
    expect(lock.packages['']?.engines?.node).toBe(pkg.engines.node);
    expect(pkg.devDependencies['@types/node']).toMatch(/^24\./);
  });

  it('runs CI and the Docker image on the same Node.js 24 release', () => {
    const ci = /^NODE_CI_VERSION=(24\.\d+\.\d+)$/m.exec(read('.ci/run'))?.[1];
    expect(ci).toBeDefined();
    expect(dotEnv().NODE_IMAGE).toBe(`node:${ci}-bookworm-slim`);
    expect(read('Dockerfile')).toContain(`ARG NODE_IMAGE=node:${ci}-bookworm-slim`);
    // CI installs with npm ci, which never rewrites the lockfile, and runs the suite under that Node first in PATH.
    const run = read('.ci/run');
    expect(run).toMatch(/export PATH="\$node_bin:\$PATH"[\s\S]*npm ci --no-audit --no-fund[\s\S]*\nnpm test\n/);
    // ... and fails if that install warned about the engine or an undecided install script, or touched the lockfile.
    expect(run).toMatch(/grep -Eq .EBADENGINE\|install-scripts./);
    expect(run).toMatch(/git diff --quiet -- package-lock.json/);
  });

  it('decides, in allowScripts, for every locked package with an install script', () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && p.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScripts.length).toBeGreaterThan(0);
    expect(Object.keys(pkg.allowScripts ?? {}).sort()).toEqual([...new Set(withScripts)].sort());
    // None needs to run: their native binaries come as optional dependencies, locked for every platform.
    expect(Object.values(pkg.allowScripts ?? {}).every((allowed) => allowed === false)).toBe(true);
    const swcBinaries = Object.keys(lock.packages).filter((path) => /node_modules\/@swc\/core-[a-z0-9-]+$/.test(path));
    const esbuildBinaries = Object.keys(lock.packages).filter((path) => /node_modules\/@esbuild\/[a-z0-9-]+$/.test(path));
    expect(swcBinaries.length).toBeGreaterThan(5);
    expect(esbuildBinaries.length).toBeGreaterThan(5);
  });
});
