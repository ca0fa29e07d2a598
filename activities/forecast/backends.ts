/**
 * One set of activities for both backends, so the workflows stay backend-neutral: each call goes to the backend its
 * arguments name, the configuration's `backend` when it carries one, otherwise the service of the ARNs the backend
 * itself handed out (`arn:aws:forecast:` for Forecast; `arn:aws:sagemaker:` and the `arn:aws:s3:::` of AutoML's
 * table for AutoML).
 */
import type { Backend } from '../../workflows/forecast/model';
import { ForecastFailure, forecastFailure } from '../../workflows/forecast/failures';
import type { ForecastBackend } from './forecast-backend';

function backendOf(args: unknown[]): Backend | undefined {
  for (const a of args) {
    if (a && typeof a === 'object' && !Array.isArray(a) && 'backend' in a) return (a as { backend: Backend }).backend;
  }
  for (const a of args.flat()) {
    const service = typeof a === 'string' ? /^arn:aws[a-z-]*:([a-z0-9-]+):/.exec(a)?.[1] : undefined;
    if (service === 'forecast') return 'forecast';
    if (service === 'sagemaker' || service === 's3') return 'automl';
  }
  return undefined;
}

export function backendDispatcher(backends: Record<Backend, ForecastBackend>): ForecastBackend {
  const out = {} as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const op of Object.keys(backends.forecast) as (keyof ForecastBackend)[]) {
    out[op] = async (...args: unknown[]) => {
      const backend = backendOf(args);
      if (!backend) throw forecastFailure(ForecastFailure.InvalidRequest, `${op}: no configuration or ARN names the backend`);
      return (backends[backend][op] as (...a: unknown[]) => Promise<unknown>)(...args);
    };
  }
  return out as unknown as ForecastBackend;
}
