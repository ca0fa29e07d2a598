/** Every activity of forecast retraining, built from its AWS clients (dependency injection, as in recovery). */
import type { GlueClient } from '@aws-sdk/client-glue';
import type { ForecastClient } from '@aws-sdk/client-forecast';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { S3Client } from '@aws-sdk/client-s3';
import { createGlueActivities } from './glue';
import { createForecastBackend } from './forecast-backend';
import { createAutoMLBackend } from './automl-backend';
import { backendDispatcher } from './backends';
import { createRunActivities } from './runs';
import { createSegmentSteps } from './segment-steps';
import type { Client } from '@temporalio/client';

export interface ForecastActivityDeps {
  /** Built with one attempt per call (`maxAttempts: 1`): StartJobRun is not idempotent, retries look first. */
  glue: GlueClient;
  forecast: ForecastClient;
  /** The AutoML backend's client (`backend: automl`). */
  sagemaker: SageMakerClient;
  s3: S3Client;
  /** The Temporal client for reading runs; the worker's own when omitted. */
  temporal?: () => Client;
}

export function createForecastActivities(deps: ForecastActivityDeps) {
  const backend = backendDispatcher({ forecast: createForecastBackend(deps.forecast, deps.s3), automl: createAutoMLBackend(deps.sagemaker, deps.s3) });
  return {
    ...createGlueActivities(deps.glue),
    ...backend,
    ...createSegmentSteps(backend),
    ...createRunActivities(deps.temporal),
  };
}

export type ForecastActivities = ReturnType<typeof createForecastActivities>;
