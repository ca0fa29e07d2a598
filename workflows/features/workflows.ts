/** The feature-ingestion task queue's workflows (the worker bundles this module). */
export { featureIngestion } from './ingestion';
export { createFeatureGroupWorkflow } from './create-group';
