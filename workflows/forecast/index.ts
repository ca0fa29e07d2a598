/** The workflows of forecast retraining (one file each), as the worker bundles them. */
export { forecastRetraining } from './retraining';
export { forecastSegment } from './segment';
export { forecastPromote } from './promote';
