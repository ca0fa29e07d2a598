/**
 * Workflow bundles made once per code version instead of at every worker start. Bundling a task queue's workflows
 * (webpack over the sandbox code) costs seconds of CPU per queue; `npm run build` makes them for every queue, and a
 * worker whose code changed since (or that runs from the sources) makes the missing one on first use and keeps it.
 * A bundle's file name carries a hash of everything that goes into it, so a stale bundle is never used.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { bundleWorkflowCode, type Logger as SdkLogger } from '@temporalio/worker';
import { projectRoot } from '../common/project-root';

/** The folders a workflow bundle is built from, relative to the tree that holds the workflows (sources or dist/). */
const BUNDLED_FOLDERS = ['workflows', 'common'];

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(js|ts|cjs|mjs|json)$/.test(e.name) && !e.name.endsWith('.map'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** A hash of the workflow code, the shared code it imports and the SDK packages that bundle it and run in it. */
export function bundleKey(workflowsPath: string): string {
  const tree = dirname(dirname(dirname(workflowsPath))); // <tree>/workflows/<pipeline>/<file>
  const root = projectRoot(tree);
  const hash = createHash('sha256');
  hash.update(relative(tree, workflowsPath));
  for (const folder of BUNDLED_FOLDERS) {
    for (const file of filesUnder(join(tree, folder))) hash.update(relative(tree, file)).update(readFileSync(file));
  }
  // The packages that go into the sandbox with the workflows, by installed version (a Docker image has no lockfile).
  for (const pkg of ['@temporalio/worker', '@temporalio/workflow', '@temporalio/common']) {
    hash.update(`${pkg}@${(JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`, { paths: [root] }), 'utf8')) as { version: string }).version}`);
  }
  return hash.digest('hex').slice(0, 16);
}

/** Where bundles are kept: `MLOPS_BUNDLE_DIR`, else under the project's dist/ (made by `npm run build`). */
export function bundleDir(): string {
  return process.env.MLOPS_BUNDLE_DIR ?? join(projectRoot(), 'dist', 'workflow-bundles');
}

/** `<pipeline>-<dist|src>-`: the compiled code and the sources (tests, tsx) keep bundles of their own. */
function bundlePrefix(workflowsPath: string): string {
  const tree = dirname(dirname(dirname(workflowsPath)));
  return `${basename(dirname(workflowsPath))}-${basename(tree) === 'dist' ? 'dist' : 'src'}-`;
}

function bundleName(workflowsPath: string): string {
  return `${bundlePrefix(workflowsPath)}${bundleKey(workflowsPath)}.js`;
}

const inFlight = new Map<string, Promise<string>>();

/** The path of the bundle for these workflows, made now if no bundle of this exact code exists. */
export function workflowBundlePath(workflowsPath: string, logger?: SdkLogger): Promise<string> {
  const name = bundleName(workflowsPath);
  const kept = join(bundleDir(), name);
  if (existsSync(kept)) return Promise.resolve(kept);
  let pending = inFlight.get(kept);
  if (!pending) {
    pending = (async () => {
      const { code } = await bundleWorkflowCode({ workflowsPath, ...(logger ? { logger } : {}) });
      try {
        return keep(kept, code, workflowsPath);
      } catch (err) {
        // A read-only install (an image run as an unprivileged user): keep it in the temporary folder instead.
        logger?.warn(`cannot write the workflow bundle in ${bundleDir()} (${(err as Error).message}); using ${tmpdir()}`);
        return keep(join(tmpdir(), 'mlops-workflow-bundles', name), code, workflowsPath);
      }
    })().finally(() => inFlight.delete(kept));
    inFlight.set(kept, pending);
  }
  return pending;
}

/** Written to a temporary name and renamed, so a crash or a second process never leaves a half-written bundle. */
function keep(path: string, code: string, workflowsPath: string): string {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, path);
  // Bundles of this queue's earlier code versions are no use any more (a worker holds its bundle's code, not the file).
  const prefix = bundlePrefix(workflowsPath);
  for (const old of readdirSync(dirname(path))) {
    if (old !== basename(path) && old.startsWith(prefix) && /^[0-9a-f]{16}\.js$/.test(old.slice(prefix.length))) rmSync(join(dirname(path), old), { force: true });
  }
  return path;
}

/** The bundle's code, read once: a worker keeps it, so a later prune of the file cannot reach a running worker. */
export async function loadWorkflowBundle(workflowsPath: string, logger?: SdkLogger): Promise<{ code: string }> {
  const path = await workflowBundlePath(workflowsPath, logger);
  try {
    return { code: readFileSync(path, 'utf8') };
  } catch (err) {
    // Pruned by a process that bundled newer code between our check and our read: make ours again.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return { code: readFileSync(await workflowBundlePath(workflowsPath, logger), 'utf8') };
  }
}

const quiet: SdkLogger = { log() {}, trace() {}, debug() {}, info() {}, warn: (m) => console.warn(m), error: (m) => console.error(m) };

/** `node dist/workers/workflow-bundles.js`: what `npm run build` runs to bundle every task queue's workflows. */
async function bundleAll(): Promise<void> {
  const { taskQueues } = require('./registry') as typeof import('./registry');
  const started = Date.now();
  const paths = [];
  for (const q of taskQueues) paths.push(await workflowBundlePath(q.workflowsPath, quiet));
  console.log(`workflow bundles: ${paths.length} in ${bundleDir()} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

if (require.main === module) {
  bundleAll().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
