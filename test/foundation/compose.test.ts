import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

// Docker cannot run on our machines: this pins the wiring a user with Docker depends on.
interface Service {
  image?: string;
  build?: unknown;
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
}
const root = join(__dirname, '..', '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};

describe('docker-compose.yml', () => {
  const s = compose.services;

  it('runs PostgreSQL with a named volume and a health check', () => {
    expect(s.postgresql?.image).toMatch(/^postgres:\d+/);
    const volume = s.postgresql?.volumes?.[0]?.split(':')[0];
    expect(volume && volume in compose.volumes).toBe(true);
    expect(s.postgresql?.healthcheck?.test.join(' ')).toMatch(/pg_isready/);
  });

  it('runs a real Temporal server on PostgreSQL, healthy before its dependants start', () => {
    expect(s.temporal?.image).toMatch(/^temporalio\/auto-setup:\d/);
    expect(s.temporal?.environment?.DB).toBe('postgres12');
    expect(s.temporal?.environment?.POSTGRES_SEEDS).toBe('postgresql');
    expect(s.temporal?.depends_on?.postgresql?.condition).toBe('service_healthy');
    expect(s.temporal?.ports).toContain('7233:7233');
    expect(s.temporal?.healthcheck).toBeDefined();
  });

  it('serves the Temporal Web UI on port 8080 against that server', () => {
    expect(s['temporal-ui']?.image).toMatch(/^temporalio\/ui:/);
    expect(s['temporal-ui']?.ports).toContain('8080:8080');
    expect(s['temporal-ui']?.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  it('builds the worker from the Dockerfile and makes it wait for a healthy Temporal', () => {
    expect(s.worker?.build).toBe('.');
    expect(s.worker?.depends_on?.temporal?.condition).toBe('service_healthy');
    expect(s.worker?.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(s.worker?.environment?.MLOPS_AWS).toMatch(/emulator/);
    expect(s.worker?.healthcheck).toBeDefined();
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/npm ci/);
    expect(dockerfile).toMatch(/CMD \["node", "bin\/mlops", "start"\]/);
  });
});
