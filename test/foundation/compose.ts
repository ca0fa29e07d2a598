/**
 * docker-compose.yml as Compose resolves it: `.env` beside it (the shell's environment wins), `${VAR}`,
 * `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}` and `$$` interpolated, YAML merge keys applied.
 * Docker cannot run on our machines; the tests check the file in this form, and against `docker-compose config`
 * where that is installed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const projectDir = join(__dirname, '..', '..');

export interface ComposeService {
  image?: string;
  build?: { context: string; args?: Record<string, string> };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | null>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  profiles?: string[];
  container_name?: string;
  stop_grace_period?: string;
  restart?: string;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

/** KEY=VALUE lines of `.env` (comments and blank lines skipped), as Compose reads them. */
export function dotEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(projectDir, '.env'), 'utf8').split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim();
  }
  return out;
}

const reference = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

function interpolate(text: string, vars: Record<string, string | undefined>): string {
  return text.replace(reference, (whole, braced?: string, op?: string, arg?: string, bare?: string) => {
    if (whole === '$$') return '$';
    const name = (braced ?? bare)!;
    const value = vars[name];
    const set = op?.startsWith(':') ? value !== undefined && value !== '' : value !== undefined;
    if (op === ':-' || op === '-') return set ? value! : arg!;
    if (op === ':?' || op === '?') {
      if (!set) throw new Error(`${name}: ${arg}`);
      return value!;
    }
    return value ?? '';
  });
}

function interpolateAll(node: unknown, vars: Record<string, string | undefined>): unknown {
  if (typeof node === 'string') return interpolate(node, vars);
  if (Array.isArray(node)) return node.map((n) => interpolateAll(n, vars));
  if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateAll(v, vars)]));
  return node;
}

/** The compose file resolved with `.env` and then `env` on top (as the shell's variables override `.env`). */
export function resolveCompose(env: Record<string, string | undefined> = {}): ComposeFile {
  const raw = parse(readFileSync(join(projectDir, 'docker-compose.yml'), 'utf8'), { merge: true }) as Record<string, unknown>;
  const vars = { ...dotEnv(), ...env };
  const file = interpolateAll(raw, vars) as ComposeFile;
  return { services: file.services, volumes: file.volumes ?? {} };
}

/** Debian's docker-compose (v1.29), which validates and resolves the file without a Docker engine; undefined when absent. */
export function dockerCompose(): ((env: Record<string, string>, ...args: string[]) => { status: number | null; stdout: string; stderr: string }) | undefined {
  const probe = spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8' });
  if (probe.status !== 0) return undefined;
  return (env, ...args) => {
    // Only PATH and the given variables: what the developer's shell exports must not change what is checked.
    const r = spawnSync('docker-compose', ['--project-directory', projectDir, '-f', join(projectDir, 'docker-compose.yml'), ...args], {
      cwd: projectDir,
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
}
