/** The spec `mlops processing start` reads: the example is valid, and each kind of mistake gets one clear message. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSpec, specToInput } from '../../clients/cli/commands/processing-spec';
import { UsageError } from '../../clients/cli/usage-error';

const example = join(__dirname, '../../examples/processing/feature-engineering.yaml');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a test reaches into any field of the spec to break it
type Loose = Record<string, any>;

function mistake(change: (spec: Loose) => void): string {
  const spec = structuredClone(readSpec(example)) as unknown as { baseName: string; request: Loose; policy: Record<string, unknown> };
  const raw: Loose = { name: spec.baseName, processingJob: spec.request, scaling: { maxInstanceCount: 12 } };
  change(raw);
  try {
    specToInput(raw, 'spec.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('the spec was accepted');
}

describe('processing spec', () => {
  it('reads the example into the workflow input, the policy filled with defaults', () => {
    const input = readSpec(example);
    expect(input.baseName).toBe('feature-engineering-2026-12-02');
    expect(input.request.ProcessingResources).toEqual({ ClusterConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 3, VolumeSizeInGB: 100 } });
    expect(input.policy).toMatchObject({ maxAttempts: 6, maxInstanceCount: 12, budgetUsd: 25, pollIntervalMinutes: 15, thresholdPercent: 80 });
  });

  it('names each mistake before anything starts', () => {
    expect(mistake((s) => (s.name = 'job-a3'))).toMatch(/^spec\.yaml: name: .*not ending in -a<N>/);
    expect(mistake((s) => (s.processingJob.ProcessingResources.ClusterConfig.InstanceType = 'ml.m5.huge'))).toContain('processingJob.ProcessingResources.ClusterConfig.InstanceType: one of ml.t3.medium');
    expect(mistake((s) => (s.processingJob.ProcessingJobName = 'x'))).toContain('leave ProcessingJobName out');
    expect(mistake((s) => (s.processingJob.ProcessingOutputConfig.Outputs = []))).toContain('at least one output');
    expect(mistake((s) => (s.scaling = { datapointsToAlarm: 3 }))).toContain('datapointsToAlarm (3) must be at most scaling.evaluationPeriods (1)');
    expect(mistake((s) => (s.scaling = { maxAttempt: 3 }))).toMatch(/scaling: Unrecognized key/);
    expect(mistake((s) => (s.processingJob.Environment.SIM_STEP_join = 'cpu=lots'))).toContain('invalid simulated workload: SIM_STEP_join cpu=lots');
    expect(mistake((s) => (s.processingJob.ProcessingResources.ClusterConfig.InstanceCount = 13))).toContain('InstanceCount 13 is above scaling.maxInstanceCount 12');
  });

  it('refuses a file that is missing or not YAML', () => {
    expect(() => readSpec('/nonexistent.yaml')).toThrow(/cannot read the spec \/nonexistent\.yaml: ENOENT/);
  });
});
