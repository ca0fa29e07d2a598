/**
 * Many profiles recreated at once, end to end on the emulator: what the scale test asserts and the benchmark prints.
 */
import { CreateAppCommand, CreateUserProfileCommand, DeleteAppCommand, DeleteUserProfileCommand } from '@aws-sdk/client-sagemaker';
import type { ProfileKey, RestoreRecord } from '../../workflows/recovery/model';
import type { RecoveryStack } from './harness';
import { driver, eventually } from './drive';
import { studio } from './studio';
import * as cli from '../../clients/cli/commands/recovery';

export interface ScaleFigures {
  profiles: number;
  cap: number;
  succeeded: number;
  /** Most DataSync tasks that existed at once, as the emulator counted them. */
  maxLiveTasks: number;
  leftoverTasks: number;
  leftoverLocations: number;
  /** From the first restore requested to the last one ended, virtual. */
  virtualMs: number;
  /**
   * The shortest the whole fan-out could take under the cap, from what the emulator measured: each profile's copy can
   * start once its new app is InService and lasts as long as its DataSync execution did (StartTaskExecution to end);
   * the copies take the cap's slots in the order their homes became ready, each slot free again the moment its copy ends.
   */
  quotaBoundMinimumMs: number;
  /** What the minimum is made of: the first and last home ready, and the median execution, virtual ms after the first request. */
  measured: { firstHomeReadyMs: number; lastHomeReadyMs: number; medianExecutionMs: number };
  eventsPerRestore: { max: number; mean: number };
  wallMs: number;
  /** Restores that did not succeed, with their error. */
  failures: string[];
}

/**
 * The end of `cap` slots serving copies that may start at `readyMs` and take `durationMs`, in the order they became
 * ready, each taking the slot that frees first (equal-length copies: no order finishes sooner).
 */
export function quotaBoundEnd(copies: { readyMs: number; durationMs: number }[], cap: number): number {
  const freeAt: number[] = Array.from({ length: Math.min(cap, copies.length) }, () => -Infinity);
  let end = -Infinity;
  for (const c of [...copies].sort((a, b) => a.readyMs - b.readyMs)) {
    freeAt.sort((a, b) => a - b);
    const done = Math.max(c.readyMs, freeAt[0]!) + c.durationMs;
    freeAt[0] = done;
    end = Math.max(end, done);
  }
  return end;
}

interface EmulatorJob {
  id: string;
  history: { status: string; atMs: number }[];
}

interface EndedExecution {
  arn: string;
  startedAtMs: number;
  endedAtMs: number;
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/** `n` user profiles with a file each, deleted, then all created again at once; waits until every restore ended. */
export async function recoverMany(stack: RecoveryStack, n: number, cap: number, log: (m: string) => void = () => undefined): Promise<ScaleFigures> {
  const s = studio(stack);
  const d = driver(stack, undefined as never, '');
  const sm = stack.aws!.sagemaker;
  const dom = await s.createDomain('fleet');
  await cli.grantAccess(stack.client, dom.efsId, await s.mountTargetGroup(dom.efsId));
  const names = Array.from({ length: n }, (_, i) => `user-${String(i).padStart(3, '0')}`);
  const keys = names.map((name): ProfileKey => ({ domainName: 'fleet', kind: 'user-profile', name }));
  const app = (name: string) => ({ DomainId: dom.domainId, UserProfileName: name, AppType: 'JupyterServer' as const, AppName: 'default' });

  await inBatches(names, 25, async (name) => {
    await sm.send(new CreateUserProfileCommand({ DomainId: dom.domainId, UserProfileName: name }));
    await sm.send(new CreateAppCommand(app(name)));
  });
  for (const k of keys) await d.homesSeen(k, 1, 60_000);
  await stack.sleep(3 * 60_000);
  const uids = new Map<string, string>();
  await inBatches(names, 25, async (name) => {
    const uid = await s.homeUid(dom, 'user-profile', name);
    uids.set(name, uid);
    await s.writeFile(dom.efsId, `/${uid}/work/${name}.txt`, `work of ${name}`, Number(uid));
  });
  await inBatches(names, 25, (name) => sm.send(new DeleteAppCommand(app(name))));
  await stack.sleep(2 * 60_000);
  await inBatches(names, 25, (name) => sm.send(new DeleteUserProfileCommand({ DomainId: dom.domainId, UserProfileName: name })));
  await stack.sleep(60_000);
  log(`${n} profiles created, filled and deleted`);

  await s.control('POST', '/services/datasync/stats/reset');
  const wallStart = Date.now();
  const virtualStart = stack.clock.now();
  let lastLog = 0;
  await inBatches(names, 50, async (name) => {
    await sm.send(new CreateUserProfileCommand({ DomainId: dom.domainId, UserProfileName: name }));
    await sm.send(new CreateAppCommand(app(name)));
  });
  log(`${n} profiles created again`);
  // Until every restore ended, succeeded or not: one pass of queries every second.
  const restores = await eventually(
    `${n} restores to end`,
    async () => {
      const out: RestoreRecord[] = [];
      for (const k of keys) {
        const r = (await d.statusOf(k)).restores.find((x) => x.id === 1);
        if (!r || r.status === 'queued' || r.status === 'running') {
          if (Date.now() - lastLog > 5000) {
            lastLog = Date.now();
            log(`virtual +${Math.round((stack.clock.now() - virtualStart) / 1000)} s: ${k.name} ${r?.status ?? 'not started'}; ${JSON.stringify(await s.dataSyncStats())}`);
          }
          return undefined;
        }
        out.push(r);
      }
      return out;
    },
    300_000,
    1000,
  );
  const wallMs = Date.now() - wallStart;
  const after = await s.dataSyncStats();

  let correct = 0;
  for (const name of names) {
    const files = await s.homeFiles(dom.efsId, await s.homeUid(dom, 'user-profile', name));
    if (files[`work/${name}.txt`] === `work of ${name}`) correct++;
  }
  const lengths: number[] = [];
  for (const r of restores) lengths.push((await stack.client.workflow.getHandle(r.workflowId).fetchHistory()).events?.length ?? 0);
  const first = Math.min(...restores.map((r) => Date.parse(r.requestedAt)));
  const last = Math.max(...restores.map((r) => Date.parse(r.endedAt ?? r.requestedAt)));
  // The emulator's own record: when each new app came InService, and how long each execution ran.
  const apps = (await s.control<{ jobs: EmulatorJob[] }>('GET', '/jobs?service=sagemaker&kind=app')).body.jobs;
  const executions = new Map((await s.control<{ executions: EndedExecution[] }>('GET', '/services/datasync/ended-executions')).body.executions.map((e) => [e.arn, e]));
  const copies = restores.map((r, i) => {
    const name = names[i]!;
    const inService = apps.find((a) => a.id.endsWith(`/${name}/jupyterserver/default`))?.history.find((h) => h.status === 'InService' && h.atMs >= virtualStart);
    const execution = executions.get(r.figures?.taskExecutionArn ?? '');
    if (!inService || !execution) throw new Error(`no emulator record of ${name}'s ${inService ? 'DataSync execution' : 'app start'}`);
    return { readyMs: inService.atMs - first, durationMs: execution.endedAtMs - execution.startedAtMs };
  });
  const durations = copies.map((c) => c.durationMs).sort((a, b) => a - b);
  return {
    profiles: n,
    cap,
    succeeded: Math.min(correct, restores.filter((r) => r.status === 'succeeded').length),
    maxLiveTasks: after.maxLiveTasks,
    leftoverTasks: after.liveTasks,
    leftoverLocations: after.liveLocations,
    virtualMs: last - first,
    quotaBoundMinimumMs: quotaBoundEnd(copies, cap),
    measured: {
      firstHomeReadyMs: Math.min(...copies.map((c) => c.readyMs)),
      lastHomeReadyMs: Math.max(...copies.map((c) => c.readyMs)),
      medianExecutionMs: durations[Math.floor(durations.length / 2)] ?? 0,
    },
    eventsPerRestore: { max: Math.max(...lengths), mean: lengths.reduce((a, b) => a + b, 0) / lengths.length },
    wallMs,
    failures: restores.filter((r) => r.status !== 'succeeded').map((r) => `${r.workflowId}: ${r.error ?? r.status}`),
  };
}
