/** The shared job lifecycle: status from the clock and the scenario, stops, transitions observed once and in order. */
import { describe, expect, it } from 'vitest';
import { JobEngine, type LifecycleDefinition, type TransitionContext } from '../../local/aws/jobs';

function engine() {
  const clock = { now: 1_000_000 };
  const seen: string[] = [];
  const published: unknown[] = [];
  const ctx = (service: string): TransitionContext => ({
    service,
    region: 'us-east-1',
    accountId: '123456789012',
    state: undefined,
    nowMs: () => clock.now,
    publish: (e) => published.push(e),
    jobs: jobs.forService(service),
  });
  const jobs = new JobEngine(() => clock.now, ctx);
  const def: LifecycleDefinition = {
    kind: 'processing-job',
    phases: [
      { status: 'Starting', durationMs: 1_000 },
      { status: 'InProgress', durationMs: 10_000 },
      { status: 'Uploading', durationMs: 2_000 },
    ],
    succeeded: 'Completed',
    failed: 'Failed',
    stopping: { status: 'Stopping', durationMs: 500 },
    stopped: 'Stopped',
    onTransition: (job, c) => {
      seen.push(`${job.id}:${job.status}@${job.statusSinceMs - job.createdAtMs}`);
      c.publish({ source: 'aws.sagemaker', detailType: 'state', detail: job.status });
    },
  };
  return { clock, jobs, sagemaker: jobs.forService('sagemaker'), def, seen, published };
}

describe('job lifecycle', () => {
  it('observes every status once and in order even when the clock jumps past several', async () => {
    const { clock, sagemaker, def, seen, published } = engine();
    sagemaker.start(def, 'job-1');
    expect(seen).toEqual(['job-1:Starting@0']);
    clock.now += 12_500;
    expect(sagemaker.get('processing-job', 'job-1')?.status).toBe('Uploading');
    expect(seen).toEqual(['job-1:Starting@0', 'job-1:InProgress@1000', 'job-1:Uploading@11000']);
    clock.now += 10_000;
    const done = sagemaker.get('processing-job', 'job-1');
    expect(done).toMatchObject({ status: 'Completed', ended: true, endedAtMs: done?.createdAtMs as number + 13_000 });
    sagemaker.get('processing-job', 'job-1');
    expect(seen).toHaveLength(4);
    expect(published).toHaveLength(4);
  });

  it('stops through the stopping phase, and ignores a stop after the end', async () => {
    const { clock, sagemaker, def } = engine();
    sagemaker.start(def, 'job-2');
    clock.now += 2_000;
    expect(sagemaker.stop('processing-job', 'job-2')?.status).toBe('Stopping');
    clock.now += 499;
    expect(sagemaker.get('processing-job', 'job-2')?.status).toBe('Stopping');
    clock.now += 1;
    expect(sagemaker.get('processing-job', 'job-2')).toMatchObject({ status: 'Stopped', ended: true });
    expect(sagemaker.get('processing-job', 'job-2')?.history.map((h) => h.status)).toEqual(['Starting', 'InProgress', 'Stopping', 'Stopped']);
    sagemaker.start(def, 'job-3');
    clock.now += 20_000;
    expect(sagemaker.stop('processing-job', 'job-3')?.status).toBe('Completed');
  });

  it('applies scenarios by exact id, prefix and wildcard, most specific first, also to running jobs', async () => {
    const { clock, jobs, sagemaker, def } = engine();
    jobs.setScenario({ service: 'sagemaker', kind: 'processing-job', resource: '*', scenario: { failureReason: 'OOM' } });
    jobs.setScenario({ service: 'sagemaker', kind: 'processing-job', resource: 'train-*', scenario: { durationsMs: { InProgress: 60_000 } } });
    sagemaker.start(def, 'etl-1');
    sagemaker.start(def, 'train-1');
    clock.now += 13_000;
    expect(sagemaker.get('processing-job', 'etl-1')).toMatchObject({ status: 'Failed', failureReason: 'OOM' });
    expect(sagemaker.get('processing-job', 'train-1')?.status).toBe('InProgress');
    jobs.setScenario({ service: 'sagemaker', kind: 'processing-job', resource: 'train-1', scenario: { failureReason: 'bad data', failAtStatus: 'Starting' } });
    // A rule for a running job recomputes it from its creation time: it failed after its first phase.
    expect(sagemaker.get('processing-job', 'train-1')).toMatchObject({ status: 'Failed', failureReason: 'bad data', statusSinceMs: sagemaker.get('processing-job', 'train-1')?.createdAtMs as number + 1_000 });
  });

  it('lets a transition start the next job', async () => {
    const { clock, sagemaker, def } = engine();
    const next: LifecycleDefinition = { kind: 'cleanup', phases: [{ status: 'Cleaning', durationMs: 100 }], succeeded: 'Clean', failed: 'Dirty' };
    const chained: LifecycleDefinition = {
      ...def,
      kind: 'chained',
      onTransition: (job, c) => {
        if (job.status === 'Completed') c.jobs.start(next, job.id, {}, job.statusSinceMs);
      },
    };
    sagemaker.start(chained, 'job-4');
    clock.now += 13_050;
    expect(sagemaker.get('chained', 'job-4')?.status).toBe('Completed');
    expect(sagemaker.get('cleanup', 'job-4')?.status).toBe('Cleaning');
    clock.now += 50;
    expect(sagemaker.get('cleanup', 'job-4')?.status).toBe('Clean');
  });

  it('keeps services apart and removes jobs', async () => {
    const { jobs, sagemaker, def } = engine();
    const glue = jobs.forService('glue');
    sagemaker.start(def, 'same-id');
    expect(glue.get('processing-job', 'same-id')).toBeUndefined();
    expect(glue.list()).toEqual([]);
    expect(sagemaker.list('processing-job').map((j) => j.id)).toEqual(['same-id']);
    expect(sagemaker.remove('processing-job', 'same-id')).toBe(true);
    expect(sagemaker.get('processing-job', 'same-id')).toBeUndefined();
  });
});
