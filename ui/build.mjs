#!/usr/bin/env node
// Builds the Temporal Web UI app into ui/build: installs ui/'s own locked dependencies (npm ci) when they are missing
// or the lockfile changed, then runs vite. Run by the project's `prepare` script, so `npm install` / `npm ci` give a
// working UI; skipped when nothing under ui/ changed since the last build. Fails loudly: a half-built UI is worse.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ui = dirname(fileURLToPath(import.meta.url));
const stampFile = join(ui, 'build', '.build-stamp');
const installStamp = join(ui, 'node_modules', '.mlops-lock-hash');

function hashOf(paths) {
  const h = createHash('sha256');
  for (const p of paths) h.update(relative(ui, p)).update('\0').update(readFileSync(p)).update('\0');
  return h.digest('hex');
}

function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  }).sort();
}

// The parent npm's switches (--omit=dev, --global, ...) are not meant for this nested install.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_(omit|include|production|only|global|prefix|dry_run|ignore_scripts|save.*)$/i.test(k)));

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ui, env, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`ui build: ${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})\n`);
    process.exit(1);
  }
}

const started = Date.now();
const lockHash = hashOf([join(ui, 'package.json'), join(ui, 'package-lock.json')]);
if (!existsSync(installStamp) || readFileSync(installStamp, 'utf8') !== lockHash) {
  process.stdout.write('ui build: installing the UI app\'s dependencies (ui/package-lock.json)\n');
  run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error']);
  writeFileSync(installStamp, lockHash);
}
const sources = [...filesUnder(join(ui, 'src')), ...['svelte.config.js', 'vite.config.js', 'tailwind.config.js', 'postcss.config.js', 'build.mjs', 'package-lock.json'].map((f) => join(ui, f))];
const sourceHash = hashOf(sources);
if (existsSync(join(ui, 'build', 'index.html')) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === sourceHash && process.argv[2] !== '--force') {
  process.stdout.write('ui build: ui/build is up to date\n');
  process.exit(0);
}
process.stdout.write('ui build: building the Temporal Web UI (vite)\n');
run(process.execPath, [join(ui, 'node_modules', 'vite', 'bin', 'vite.js'), 'build']);
writeFileSync(stampFile, sourceHash);
process.stdout.write(`ui build: done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
