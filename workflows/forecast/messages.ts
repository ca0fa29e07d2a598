import { defineQuery } from '@temporalio/workflow';

/** Where a run (or one segment of it) is: the CLI prints it while it waits. */
export interface Progress {
  step: string;
  detail?: string;
}

export const progressQuery = defineQuery<Progress>('progress');
