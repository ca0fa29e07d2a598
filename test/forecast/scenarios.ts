/**
 * What the retraining scenarios expect of a run's report whatever the backend (Forecast or AutoML), so both backends'
 * workflow tests hold the same promises; each test adds what it checks in its own service.
 */
import { expect } from 'vitest';
import type { ModelRecord, RunReport, SegmentReport } from '../../workflows/forecast/model';

export const SEGMENTS = ['popular', 'slow'] as const;
export { DATA } from './scenario-data';

export function segmentOf(r: RunReport, name: string): SegmentReport {
  const found = r.segments.find((x) => x.segment === name);
  if (!found) throw new Error(`no report for ${name}: ${JSON.stringify(r.failures)}`);
  return found;
}

/** A first run: trained, promoted (no champion), with real metrics. */
export function expectFirstTraining(r: SegmentReport): void {
  expect(r.dataEnd).toBe('2026-04-30');
  expect(r.decision).toEqual({ retrain: true, reason: 'no champion yet: training the first predictor' });
  expect(r.comparison?.promoted).toBe(true);
  expect(r.champion.id).toBe(r.challenger?.id);
  expect(r.champion.metrics.RMSE).toBeGreaterThan(0);
}

/** Unchanged data: nothing trained, the reason given, the champion kept. */
export function expectNothingRetrained(r: SegmentReport, champion: ModelRecord): void {
  expect(r.decision).toEqual({ retrain: false, reason: "no newer data: the data ends 2026-04-30, as the champion's training data (2026-04-30)" });
  expect(r.challenger).toBeUndefined();
  expect(r.champion.id).toBe(champion.id);
}

/** Newer calm data: a challenger better than the champion is promoted, both metrics recorded. */
export function expectPromoted(r: SegmentReport, old: ModelRecord): void {
  expect(r.decision.retrain).toBe(true);
  expect(r.decision.reason).toMatch(/^newer data \(until 2026-05-21, the champion's until 2026-04-30\)/);
  expect(r.comparison?.promoted).toBe(true);
  expect(r.comparison?.champion).toEqual(old.metrics);
  expect(r.comparison?.challenger.RMSE).toBeLessThan(old.metrics.RMSE);
  expect(r.champion.id).toBe(r.challenger?.id);
}

/** Newer noisy data: a challenger worse than the champion is not promoted, both metrics recorded. */
export function expectKept(r: SegmentReport, champion: ModelRecord): void {
  expect(r.decision.retrain).toBe(true);
  expect(r.comparison?.promoted).toBe(false);
  expect(r.comparison?.reason).toMatch(/^challenger RMSE [\d.]+ is not better than the champion's [\d.]+/);
  expect(r.comparison?.champion?.RMSE).toBe(champion.metrics.RMSE);
  expect(r.comparison?.challenger.RMSE).toBeGreaterThan(champion.metrics.RMSE);
  expect(r.champion.id).toBe(champion.id);
}
