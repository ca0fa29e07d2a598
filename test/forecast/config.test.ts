/** The forecast configuration file: the example is valid, and a mistake names the field and changes nothing. */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadForecastConfig, parseForecastConfig } from '../../clients/cli/commands/forecast/config';
import { UsageError } from '../../clients/cli/usage-error';
import { compareModels, decideRetrain, runKeyOf, segmentNames } from '../../workflows/forecast/model';

const example = join(__dirname, '../../examples/forecast/config.yaml');

describe('forecast configuration', () => {
  it('reads the example configuration, with the retrain rule in seconds', () => {
    const c = loadForecastConfig(example);
    expect(c.backend).toBe('forecast');
    expect(c.segments).toEqual(['popular', 'slow']);
    expect(c.retrain).toEqual({ maxAgeSeconds: 604_800, metric: 'RMSE', margin: 0.02, keepLast: 3 });
  });

  it('reads the AutoML example; the automl backend needs a quantile', () => {
    const c = loadForecastConfig(join(__dirname, '../../examples/forecast/config-automl.yaml'));
    expect(c.backend).toBe('automl');
    expect(c.roleArn).toBe('arn:aws:iam::123456789012:role/mlops-forecast-automl');
    expect(() => parseForecastConfig({ ...c, retrain: { maxAgeHours: 1 }, forecastTypes: ['mean'] }, 'a.yaml')).toThrow(/^a\.yaml: forecastTypes: the automl backend needs at least one quantile/);
  });

  it('names the field of a mistake', () => {
    const base = loadForecastConfig(example);
    const bad = (patch: Record<string, unknown>) => () => parseForecastConfig({ ...base, retrain: { maxAgeHours: 1 }, ...patch }, 'f.yaml');
    expect(bad({ bucket: 'Bad_Bucket' })).toThrow(UsageError);
    expect(bad({ bucket: 'Bad_Bucket' })).toThrow(/^f\.yaml: bucket: an S3 bucket name$/);
    expect(bad({ backend: 'sagemaker' })).toThrow(/backend/);
    expect(bad({ retrain: { metric: 'R2' } })).toThrow(/retrain\.metric/);
    expect(bad({ typo: 1 })).toThrow(/typo/);
    expect(() => loadForecastConfig('/nonexistent.yaml')).toThrow(/cannot read the forecast configuration \/nonexistent\.yaml/);
  });
});

describe('retrain decision and comparison', () => {
  const champion = { id: 'p1', createdAt: '2026-05-01T00:00:00.000Z', dataEnd: '2026-04-30', metrics: { RMSE: 10, WAPE: 0.2, MAPE: 0.3, MASE: 1, wQL: 0.1 } };
  const day = 86_400_000;
  it('retrains only on newer data and a champion older than the maximum age', () => {
    expect(decideRetrain(undefined, '2026-04-30', 0, 3600).retrain).toBe(true);
    expect(decideRetrain(champion, '2026-04-30', Date.parse(champion.createdAt) + 30 * day, 3600)).toMatchObject({ retrain: false, reason: expect.stringMatching(/^no newer data/) });
    expect(decideRetrain(champion, '2026-05-07', Date.parse(champion.createdAt) + 1.5 * day, 7 * 86_400)).toMatchObject({ retrain: false, reason: expect.stringMatching(/36 hours old, younger than the maximum age of 7 days/) });
    expect(decideRetrain(champion, '2026-05-07', Date.parse(champion.createdAt) + 8 * day, 7 * 86_400).retrain).toBe(true);
  });
  it('promotes only a challenger better by the margin, on the configured metric', () => {
    const m = (RMSE: number, WAPE = 0.2) => ({ RMSE, WAPE, MAPE: 0.3, MASE: 1, wQL: 0.1 });
    expect(compareModels(champion.metrics, m(9.9), 'RMSE', 0.02).promoted).toBe(false);
    expect(compareModels(champion.metrics, m(9.7), 'RMSE', 0.02).promoted).toBe(true);
    expect(compareModels(champion.metrics, m(5, 0.3), 'WAPE', 0).promoted).toBe(false);
    expect(compareModels(undefined, m(50), 'RMSE', 0.5).promoted).toBe(true);
  });
  it('names resources per run and segment, legal in Forecast and SageMaker', () => {
    const n = segmentNames({ namePrefix: 'fresh_food' }, 'popular', runKeyOf('forecast/run/20260101T000000Z'));
    expect(n.predictor).toMatch(/^fresh_food_popular_r[0-9a-z]+$/);
    expect(n.automlJob).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$/);
    // A long prefix is cut, never the run key, and two long prefixes stay apart.
    const key = runKeyOf('x');
    const long = (p: string) => segmentNames({ namePrefix: p }, 'slowmoving', key).automlJob;
    expect(long('a_very_long_prefix_of_31_chars_')).toMatch(new RegExp(`^[a-zA-Z0-9-]{1,23}-${key}$`));
    expect(long('a_very_long_prefix_of_31_chars_')).not.toBe(long('a_very_long_prefix_of_31_chars2'));
    expect(runKeyOf('a')).toBe(runKeyOf('a'));
    expect(runKeyOf('a')).not.toBe(runKeyOf('b'));
  });
});
