import { defineQuery } from '@temporalio/workflow';
import type { IngestProgress } from './model';

/** Rows written and failed, rows per second, chunks, time left. */
export const progressQuery = defineQuery<IngestProgress>('progress');
