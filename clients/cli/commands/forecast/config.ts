/**
 * The forecast retraining configuration file (YAML), validated with zod at the edge: a mistake names the field and
 * what it accepts, and nothing is started. `examples/forecast/config.yaml` is the example; `MLOPS_FORECAST_CONFIG` or
 * `--config` names the file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { parse } from 'yaml';
import { projectRoot } from '../../../../common/project-root';
import { DEFAULT_MAX_AGE_SECONDS, type ForecastPipelineConfig } from '../../../../workflows/forecast/model';
import { UsageError } from '../../usage-error';

const prefix = z
  .string()
  .regex(/^([^/].*\/)?$/, 'must be empty or a key prefix ending in "/" (no leading "/")')
  .default('');
const forecastName = z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,30}$/, 'letters, digits and _ (starting with a letter), at most 31 characters');
const roleArn = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'an IAM role ARN');

export const forecastConfigSchema = z
  .object({
    backend: z.enum(['forecast', 'automl']).default('forecast'),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name'),
    rawPrefix: prefix.default('raw/sales/'),
    datasetsPrefix: prefix.default('datasets/'),
    exportPrefix: prefix.default('forecasts/'),
    glue: z.object({
      jobName: z.string().min(1).max(255),
      scriptLocation: z.string().regex(/^s3:\/\/[^/]+\/.+/, 'an s3://bucket/key URI'),
      roleArn,
      popularThreshold: z.number().positive().default(10),
    }),
    namePrefix: forecastName,
    roleArn,
    frequency: z.enum(['Y', 'M', 'W', 'D', 'H', '30min', '15min', '10min', '5min', '1min']).default('D'),
    horizon: z.number().int().min(1).max(500),
    forecastTypes: z
      .array(z.string().regex(/^(mean|0\.\d{1,2})$/, 'quantiles as 0.1 .. 0.99, or mean'))
      .min(1)
      .max(5)
      .default(['0.1', '0.5', '0.9']),
    retrain: z
      .object({
        maxAgeHours: z.number().min(0).default(DEFAULT_MAX_AGE_SECONDS / 3600),
        metric: z.enum(['RMSE', 'WAPE', 'MAPE', 'MASE', 'wQL']).default('RMSE'),
        margin: z.number().min(0).max(1).default(0),
        keepLast: z.number().int().min(0).max(50).default(3),
      })
      .default({ maxAgeHours: DEFAULT_MAX_AGE_SECONDS / 3600, metric: 'RMSE', margin: 0, keepLast: 3 }),
    segments: z.array(z.string().regex(/^[a-z][a-z0-9]{0,15}$/, 'lower-case letters and digits, at most 16')).min(1).default(['popular', 'slow']),
  })
  .strict()
  // AutoML forecasts quantiles only (ForecastQuantiles p1..p99): `mean` alone leaves it nothing to forecast.
  .refine((c) => c.backend !== 'automl' || c.forecastTypes.some((t) => t !== 'mean'), { path: ['forecastTypes'], message: 'the automl backend needs at least one quantile (0.1 .. 0.99)' });

export type ForecastConfigFile = z.input<typeof forecastConfigSchema>;

/** Validates a parsed configuration; throws a UsageError naming the first problem. */
export function parseForecastConfig(raw: unknown, source = 'the forecast configuration'): ForecastPipelineConfig {
  const r = forecastConfigSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new UsageError(`${source}: ${i ? `${i.path.join('.') || '(top level)'}: ${i.message}` : 'invalid'}`);
  }
  const { retrain, ...rest } = r.data;
  return { ...rest, retrain: { maxAgeSeconds: Math.round(retrain.maxAgeHours * 3600), metric: retrain.metric, margin: retrain.margin, keepLast: retrain.keepLast } };
}

export function defaultForecastConfigPath(): string {
  return process.env.MLOPS_FORECAST_CONFIG ?? join(projectRoot(), 'examples/forecast/config.yaml');
}

export function loadForecastConfig(path = defaultForecastConfigPath()): ForecastPipelineConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the forecast configuration ${path}: ${(err as Error).message} (set MLOPS_FORECAST_CONFIG or --config)`);
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new UsageError(`${path} is not valid YAML: ${(err as Error).message}`);
  }
  return parseForecastConfig(raw, path);
}
