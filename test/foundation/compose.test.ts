/**
 * docker-compose.yml and the Dockerfile: the wiring a user with Docker depends on (Docker cannot run here). The
 * processes themselves run as the file describes in compose-processes.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { dockerCompose, dotEnv, projectDir, resolveCompose, type ComposeService } from './compose';

const KEY = { MLOPS_GATEWAY_API_KEY: 'k-0123456789' };
const compose = resolveCompose(KEY);
const s = compose.services;
const env = dotEnv();
const mlopsServices = ['worker', 'gateway', 'aws-emulator'];

const condition = (svc: ComposeService | undefined, dep: string) => svc?.depends_on?.[dep]?.condition;

describe('docker-compose.yml', () => {
  it('runs one process per service: PostgreSQL, two admin-tools jobs, the Temporal server and Web UI, worker, gateway, AWS emulator', () => {
    expect(Object.keys(s).sort()).toEqual(['aws-emulator', 'gateway', 'postgresql', 'temporal', 'temporal-namespace', 'temporal-schema', 'temporal-ui', 'worker']);
    expect(s.worker?.command).toEqual(['worker']);
    expect(s.gateway?.command).toEqual(['gateway']);
    expect(s['aws-emulator']?.command?.[0]).toBe('emulator');
  });

  it('pins every image to a version from .env, current releases of Temporal\'s server, admin tools and UI, and Node 24', () => {
    for (const name of ['TEMPORAL_VERSION', 'TEMPORAL_ADMINTOOLS_VERSION', 'TEMPORAL_UI_VERSION']) expect(env[name], name).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Number(env.TEMPORAL_VERSION!.split('.')[1])).toBeGreaterThanOrEqual(31);
    expect(Number(env.TEMPORAL_UI_VERSION!.split('.')[1])).toBeGreaterThanOrEqual(49);
    expect(s.postgresql?.image).toBe(`postgres:${env.POSTGRESQL_VERSION}`);
    expect(s['temporal-schema']?.image).toBe(`temporalio/admin-tools:${env.TEMPORAL_ADMINTOOLS_VERSION}`);
    expect(s['temporal-namespace']?.image).toBe(`temporalio/admin-tools:${env.TEMPORAL_ADMINTOOLS_VERSION}`);
    expect(s.temporal?.image).toBe(`temporalio/server:${env.TEMPORAL_VERSION}`);
    expect(s['temporal-ui']?.image).toBe(`temporalio/ui:${env.TEMPORAL_UI_VERSION}`);
    expect(env.NODE_IMAGE).toMatch(/^node:24\.\d+\.\d+-/);
    // Versions live in .env only: the compose file names none of its own.
    const raw = readFileSync(join(projectDir, 'docker-compose.yml'), 'utf8');
    expect(raw.match(/image: \S+:\d/g)).toBeNull();
    // The deprecated all-in-one image is gone.
    expect(raw).not.toMatch(/auto-setup/);
    for (const name of mlopsServices) {
      expect(s[name]?.build?.context, name).toBe('.');
      expect(s[name]?.build?.args?.NODE_IMAGE, name).toBe(env.NODE_IMAGE);
      expect(s[name]?.image, name).toBe('mlops-workflows:local');
    }
  });

  it('starts in order: database, schema job, server, namespace job, then the mlops services', () => {
    expect(condition(s['temporal-schema'], 'postgresql')).toBe('service_healthy');
    expect(condition(s.temporal, 'temporal-schema')).toBe('service_completed_successfully');
    expect(condition(s['temporal-namespace'], 'temporal')).toBe('service_healthy');
    expect(condition(s['temporal-ui'], 'temporal')).toBe('service_healthy');
    expect(condition(s.worker, 'temporal-namespace')).toBe('service_completed_successfully');
    expect(condition(s.gateway, 'temporal-namespace')).toBe('service_completed_successfully');
    // The emulator's events go to the gateway, so it starts once the gateway answers.
    expect(condition(s['aws-emulator'], 'gateway')).toBe('service_healthy');
    for (const name of ['postgresql', 'temporal', 'gateway', 'aws-emulator']) expect(s[name]?.healthcheck?.test?.length, name).toBeGreaterThan(1);
  });

  it('sets up the schema and the namespace idempotently (a second `up` changes nothing)', () => {
    const schema = s['temporal-schema']!.command!.join('\n');
    for (const step of ['create', 'setup-schema -v 0.0', 'update-schema -d']) expect(schema).toContain(step);
    expect(schema).toMatch(/for db in temporal temporal_visibility/);
    const ns = s['temporal-namespace']!.command!.join('\n');
    expect(ns).toMatch(/namespace describe -n "\$NAMESPACE" .*\|\| temporal operator namespace create -n "\$NAMESPACE"/);
    expect(s['temporal-namespace']?.environment?.NAMESPACE).toBe('default');
  });

  it('wires every mlops service to Temporal and the emulator by service name', () => {
    for (const name of ['worker', 'gateway']) {
      expect(s[name]?.environment?.TEMPORAL_ADDRESS, name).toBe('temporal:7233');
      expect(s[name]?.environment?.AWS_ENDPOINT_URL, name).toBe('http://aws-emulator:4566');
      expect(s[name]?.environment?.MLOPS_AWS, name).toBe('emulator');
    }
    expect(s['temporal-ui']?.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(s['temporal-namespace']?.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(s.temporal?.environment?.POSTGRES_SEEDS).toBe('postgresql');
    const emulator = s['aws-emulator']!.command!;
    const flag = (f: string) => emulator[emulator.indexOf(f) + 1];
    expect(flag('--host')).toBe('0.0.0.0');
    expect(flag('--port')).toBe('4566');
    expect(flag('--events-to')).toBe('http://gateway:8088/events/eventbridge');
    // The key reaches the emulator by its environment, never on its command line (the process list shows that).
    expect(emulator).not.toContain('--events-api-key');
    expect(s['aws-emulator']?.environment?.MLOPS_GATEWAY_API_KEY).toBe(KEY.MLOPS_GATEWAY_API_KEY);
    expect(s.gateway?.environment?.MLOPS_GATEWAY_API_KEY).toBe(KEY.MLOPS_GATEWAY_API_KEY);
    expect(s.gateway?.environment?.MLOPS_GATEWAY_HOST).toBe('0.0.0.0');
    // Real AWS: MLOPS_AWS=aws and an empty AWS_ENDPOINT_URL send the workers' calls to the account, not the emulator.
    const real = resolveCompose({ ...KEY, MLOPS_AWS: 'aws', AWS_ENDPOINT_URL: '' }).services.worker!.environment!;
    expect(real).toMatchObject({ MLOPS_AWS: 'aws', AWS_ENDPOINT_URL: '' });
    expect(s['aws-emulator']?.profiles).toEqual(['emulator']);
    expect(env.COMPOSE_PROFILES).toBe('emulator');
  });

  it('requires the gateway key: no default value', () => {
    expect(() => resolveCompose({})).toThrow(/MLOPS_GATEWAY_API_KEY/);
    expect(readFileSync(join(projectDir, 'docker-compose.yml'), 'utf8')).not.toMatch(/change-me|MLOPS_GATEWAY_API_KEY:-/);
    expect(env.MLOPS_GATEWAY_API_KEY).toBeUndefined();
  });

  it('publishes ports on 127.0.0.1 only, unless MLOPS_PUBLISH_IP says otherwise', () => {
    const published = Object.fromEntries(Object.entries(s).filter(([, v]) => v.ports).map(([k, v]) => [k, v.ports]));
    expect(published).toEqual({
      temporal: ['127.0.0.1:7233:7233'],
      'temporal-ui': ['127.0.0.1:8080:8080'],
      gateway: ['127.0.0.1:8088:8088'],
      'aws-emulator': ['127.0.0.1:4566:4566'],
    });
    expect(resolveCompose({ ...KEY, MLOPS_PUBLISH_IP: '0.0.0.0' }).services.gateway?.ports).toEqual(['0.0.0.0:8088:8088']);
  });

  it('keeps Temporal\'s database and the emulator\'s state on named volumes', () => {
    expect(s.postgresql?.volumes).toEqual(['temporal-postgres:/var/lib/postgresql/data']);
    expect(s['aws-emulator']?.volumes).toEqual(['aws-emulator-state:/data']);
    const emulator = s['aws-emulator']!.command!;
    expect(emulator[emulator.indexOf('--state-dir') + 1]).toMatch(/^\/data\//);
    expect(Object.keys(compose.volumes).sort()).toEqual(['aws-emulator-state', 'temporal-postgres']);
  });

  it('lets workers scale out and drain on stop: no fixed name or port, a stop grace above the SDK\'s 30 s drain', () => {
    expect(s.worker?.container_name).toBeUndefined();
    expect(s.worker?.ports).toBeUndefined();
    expect(parseInt(s.worker!.stop_grace_period!, 10)).toBeGreaterThan(30);
    expect(readFileSync(join(projectDir, 'workers', 'worker.ts'), 'utf8')).toMatch(/shutdownGraceTime: '30 seconds'/);
  });

  it('names only commands and flags that mlops has', () => {
    const mlops = join(projectDir, 'bin', 'mlops');
    for (const name of mlopsServices) {
      const [command, ...args] = s[name]!.command!;
      const help = spawnSync(process.execPath, [mlops, command!, '--help'], { encoding: 'utf8' });
      expect(help.status, `${name}: mlops ${command} --help`).toBe(0);
      for (const flag of args.filter((a) => a.startsWith('--'))) expect(help.stdout, `${name}: ${flag}`).toContain(flag);
    }
  }, 60_000);

  const tool = dockerCompose();
  it.skipIf(!tool)('passes `docker-compose config`, which resolves it exactly as these tests do', () => {
    const r = tool!({ ...KEY }, 'config');
    expect(r.status, r.stderr).toBe(0);
    const theirs = (parse(r.stdout) as { services: Record<string, ComposeService> }).services;
    for (const [name, ours] of Object.entries(s)) {
      const t = theirs[name]!;
      expect(t.image, name).toBe(ours.image);
      expect(t.command?.map((c) => c.replaceAll('$$', '$')), name).toEqual(ours.command);
      expect(t.environment ?? {}, name).toEqual(ours.environment ?? {});
      expect(t.ports?.map((p) => p.replace(/\/tcp$/, '')), name).toEqual(ours.ports);
      expect(t.volumes?.map((v) => v.replace(/:rw$/, '')), name).toEqual(ours.volumes);
      expect(t.depends_on, name).toEqual(ours.depends_on);
    }
    const missingKey = tool!({}, 'config', '-q');
    expect(missingKey.status).not.toBe(0);
    expect(missingKey.stderr).toMatch(/set MLOPS_GATEWAY_API_KEY/);
  }, 60_000);
});

describe('Dockerfile', () => {
  const text = readFileSync(join(projectDir, 'Dockerfile'), 'utf8');
  const stages = text.split(/^FROM /m).slice(1);
  const final = stages[stages.length - 1]!;

  it('builds in stages with npm ci; the final stage has production dependencies only and no build tooling', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^ARG NODE_IMAGE=node:24\./m);
    expect(text).toMatch(/RUN npm ci --omit=dev --ignore-scripts/);
    expect(text).not.toMatch(/npm install/);
    // The final stage copies dependencies from a stage that installed with --omit=dev, and runs no install itself.
    const from = /COPY --from=(\S+) \/app\/node_modules/.exec(final)?.[1];
    const depsStage = stages.find((st) => st.startsWith(`\${NODE_IMAGE} AS ${from}`));
    expect(depsStage).toMatch(/npm ci --omit=dev/);
    expect(final).not.toMatch(/RUN npm/);
    expect(final).toMatch(/COPY --from=build \/app\/dist dist/);
  });

  it('runs as a non-root user, with a health check that is an mlops command', () => {
    expect(final).toMatch(/^USER node$/m);
    expect(final.indexOf('USER node')).toBeLessThan(final.indexOf('ENTRYPOINT'));
    const health = /^HEALTHCHECK .*CMD \["node", "\/app\/bin\/mlops", "(\w+)"\]$/m.exec(final)?.[1];
    expect(health).toBe('ping');
    const help = spawnSync(process.execPath, [join(projectDir, 'bin', 'mlops'), health!, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(final).toMatch(/^ENTRYPOINT \["node", "\/app\/bin\/mlops"\]$/m);
  });
});
